// Reads a training run folder for `lrnn compare`: metrics.jsonl (validated line by line against the
// trainer's record types, src/log/metrics.ts), the resolved config (architecture, allow_neg_eigval) and any
// `lrnn eval` result files in <run>/eval/. Every problem is a RunError naming the folder, file and line.
// Test: node scripts/test.mjs src/eval/compare
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import type { DoneRecord, EvalRecord, StepRecord } from '../log/metrics.ts';
import { type EvalResultFile, readEvalResult } from './results.ts';

export const METRICS_FILE = 'metrics.jsonl';

/** A missing or malformed run folder (the CLI reports it as bad input, exit code 2). */
export class RunError extends Error {
  override name = 'RunError';
}

export interface RunData {
  dir: string;
  name: string;
  /** 'deltanet' / 'mamba' when the resolved config says so. */
  arch: string | null;
  allowNegEigval: boolean | null;
  steps: StepRecord[];
  evals: EvalRecord[];
  done: DoneRecord | null;
  /** `lrnn eval` results found in <run>/eval/, by step (null step last). */
  evalFiles: EvalResultFile[];
  /** Non-fatal notes (e.g. a torn last line). */
  warnings: string[];
}

const isNum = (v: unknown) => typeof v === 'number';
const numOrNull = (v: unknown) => v === null || typeof v === 'number';
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why a parsed record is not a valid metrics record, or null. */
function recordProblem(r: unknown): string | null {
  if (!isObj(r)) return 'not a JSON object';
  const need = (ok: boolean, key: string, what: string) => (ok ? null : `'${String(r.kind)}' record: key '${key}': expected ${what}, got ${JSON.stringify(r[key])}`);
  if (r.kind === 'step') {
    return need(Number.isInteger(r.step), 'step', 'an integer') ?? need(isNum(r.tokens_seen), 'tokens_seen', 'a number') ??
      need(numOrNull(r.loss), 'loss', 'a number or null') ?? need(numOrNull(r.grad_norm), 'grad_norm', 'a number or null') ??
      need(r.skipped === undefined || typeof r.skipped === 'boolean', 'skipped', 'a boolean') ??
      need(r.eig === undefined || Array.isArray(r.eig), 'eig', 'an array') ?? need(r.perf === undefined || isObj(r.perf), 'perf', 'an object');
  }
  if (r.kind === 'eval') {
    const p = need(Number.isInteger(r.step), 'step', 'an integer') ?? need(isNum(r.tokens_seen), 'tokens_seen', 'a number') ?? need(isObj(r.splits), 'splits', 'an object');
    if (p) return p;
    for (const [k, s] of Object.entries(r.splits as Record<string, unknown>)) {
      if (!isObj(s) || !numOrNull(s.loss) || !numOrNull(s.ppl)) return `'eval' record: key 'splits.${k}': expected {tokens, loss, ppl, bpb}, got ${JSON.stringify(s)}`;
    }
    return null;
  }
  if (r.kind === 'done') return need(Number.isInteger(r.step), 'step', 'an integer');
  return `unknown record kind ${JSON.stringify(r.kind)} (expected step, eval or done)`;
}

/** Reads and validates <dir>/metrics.jsonl. A torn last line (a crash mid-write) is skipped with a warning. */
export function readRunMetrics(dir: string): { steps: StepRecord[]; evals: EvalRecord[]; done: DoneRecord | null; warnings: string[] } {
  const file = path.join(dir, METRICS_FILE);
  if (!existsSync(file)) throw new RunError(`${dir}: no ${METRICS_FILE} (is this a run folder? 'lrnn train' writes checkpoints/<run>/${METRICS_FILE})`);
  const lines = readFileSync(file, 'utf8').split('\n');
  const steps: StepRecord[] = [], evals: EvalRecord[] = [];
  let done: DoneRecord | null = null;
  const warnings: string[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch (e) {
      if (lines.slice(i + 1).every((l) => !l.trim())) {
        warnings.push(`${file}:${i + 1}: ignored a torn last line`);
        return;
      }
      throw new RunError(`${file}:${i + 1}: not a JSON line (${(e as Error).message})`);
    }
    const problem = recordProblem(rec);
    if (problem) throw new RunError(`${file}:${i + 1}: ${problem}`);
    const r = rec as StepRecord | EvalRecord | DoneRecord;
    if (r.kind === 'step') steps.push(r);
    else if (r.kind === 'eval') evals.push(r);
    else done = r;
  });
  if (steps.length === 0) throw new RunError(`${file}: no 'step' records (the run has not completed a step yet)`);
  return { steps, evals, done, warnings };
}

/** arch and allow_neg_eigval from the run's resolved config (run folder, else its newest checkpoint). */
function readRunConfig(dir: string): { arch: string | null; allowNegEigval: boolean | null } {
  const candidates = [path.join(dir, 'config.resolved.toml')];
  const ckpts = readdirSync(dir).filter((n) => /^checkpoint-(\d+|best)$/.test(n)).sort().reverse();
  for (const c of ckpts) candidates.push(path.join(dir, c, 'config.resolved.toml'), path.join(dir, c, 'config.json'));
  for (const f of candidates) {
    if (!existsSync(f)) continue;
    let raw: Record<string, unknown>;
    try {
      raw = (f.endsWith('.toml') ? parseToml(readFileSync(f, 'utf8')) : JSON.parse(readFileSync(f, 'utf8'))) as Record<string, unknown>;
    } catch (e) {
      throw new RunError(`${f}: cannot parse (${(e as Error).message})`);
    }
    if (isObj(raw.model)) {
      const m = raw.model;
      return { arch: typeof m.arch === 'string' ? m.arch : null, allowNegEigval: typeof m.allow_neg_eigval === 'boolean' ? m.allow_neg_eigval : null };
    }
    if (typeof raw.model_type === 'string') {
      return { arch: raw.model_type === 'delta_net' ? 'deltanet' : raw.model_type, allowNegEigval: typeof raw.allow_neg_eigval === 'boolean' ? raw.allow_neg_eigval : null };
    }
  }
  return { arch: null, allowNegEigval: null };
}

/** Reads a run folder; errors name the folder, file and line. */
export function readRun(dir: string): RunData {
  if (!existsSync(dir)) throw new RunError(`${dir}: no such run folder`);
  if (!statSync(dir).isDirectory()) throw new RunError(`${dir}: not a folder (expected a run folder with ${METRICS_FILE})`);
  const m = readRunMetrics(dir);
  const cfg = readRunConfig(dir);
  const evalFiles: EvalResultFile[] = [];
  const evalDir = path.join(dir, 'eval');
  if (existsSync(evalDir) && statSync(evalDir).isDirectory()) {
    for (const n of readdirSync(evalDir).filter((x) => x.endsWith('.json')).sort()) {
      try {
        const r = readEvalResult(path.join(evalDir, n));
        if (r) evalFiles.push(r);
      } catch (e) {
        throw new RunError((e as Error).message);
      }
    }
    evalFiles.sort((a, b) => (a.step ?? Infinity) - (b.step ?? Infinity));
  }
  return { dir, name: path.basename(path.resolve(dir)), ...cfg, ...m, evalFiles };
}
