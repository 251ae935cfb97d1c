// A cheap integrity check of a checkpoint folder without reading its tensors: config.json parses and is
// valid, and each safetensors file's header is intact, names exactly the tensors config.json implies with
// their shapes, and the file is as long as the header says (a truncated or half-deleted folder fails).
// Resume uses it to skip a damaged newest checkpoint; eval and generate to refuse one with a clear message.
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_FILE, MODEL_FILE, OPTIMIZER_FILE, TRAINER_STATE_FILE, readConfig, readTrainerState } from './checkpoint.ts';
import { paramSpecs, type ModelConfig } from './config.ts';

const BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2 };

/** Reads a safetensors header; returns tensor name → shape, or throws naming the file and the fault. */
export function safetensorsHeader(file: string): Map<string, number[]> {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const fail = (msg: string): never => { throw new Error(`${file}: ${msg}`); };
    if (size < 8) fail(`truncated (${size} bytes)`);
    const head = Buffer.alloc(8);
    readSync(fd, head, 0, 8, 0);
    const n = Number(head.readBigUInt64LE(0));
    if (n > 100_000_000 || 8 + n > size) fail(`truncated or corrupted header (header length ${n}, file ${size} bytes)`);
    const buf = Buffer.alloc(n);
    readSync(fd, buf, 0, n, 8);
    let header: Record<string, { dtype?: string; shape?: number[]; data_offsets?: [number, number] }>;
    try {
      header = JSON.parse(buf.toString('utf8'));
    } catch (e) {
      return fail(`corrupted header (${(e as Error).message})`);
    }
    const out = new Map<string, number[]>();
    let end = 0;
    for (const [name, t] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      if (!t || !Array.isArray(t.shape) || !Array.isArray(t.data_offsets)) fail(`tensor '${name}': malformed header entry`);
      const bytes = BYTES[t.dtype ?? ''] ?? 0;
      if (!bytes) fail(`tensor '${name}': dtype ${t.dtype} is not a float type`);
      const [b, e] = t.data_offsets!;
      if (e - b !== bytes * t.shape!.reduce((a, d) => a * d, 1)) fail(`tensor '${name}': data_offsets [${b}, ${e}] disagree with shape [${t.shape}]`);
      end = Math.max(end, e);
      out.set(name, t.shape!);
    }
    if (size < 8 + n + end) fail(`truncated: ${size} bytes, the header needs ${8 + n + end}`);
    return out;
  } finally {
    closeSync(fd);
  }
}

function expectTensors(file: string, have: Map<string, number[]>, want: { name: string; shape: number[] }[], allowMissing: boolean, ignore: string[] = []): void {
  const known = new Set(want.map((w) => w.name));
  for (const name of have.keys()) if (!known.has(name) && !ignore.includes(name)) throw new Error(`${file}: unknown tensor '${name}'`);
  for (const w of want) {
    const s = have.get(w.name);
    if (!s) {
      if (allowMissing) continue;
      throw new Error(`${file}: missing tensor '${w.name}'`);
    }
    if (s.length !== w.shape.length || s.some((d, i) => d !== w.shape[i])) throw new Error(`${file}: tensor '${w.name}': shape [${s}] but ${CONFIG_FILE} needs [${w.shape}]`);
  }
}

/**
 * Throws an error naming the file when the checkpoint folder is not intact. `training` also checks
 * optimizer.safetensors and trainer_state.json (what resume needs). Returns the parsed config.
 */
export function verifyCheckpoint(dir: string, opts: { training?: boolean } = {}): ModelConfig {
  if (!existsSync(path.join(dir, CONFIG_FILE))) throw new Error(`${path.join(dir, CONFIG_FILE)}: missing`);
  const config = readConfig(dir);
  const specs = paramSpecs(config);
  const modelFile = path.join(dir, MODEL_FILE);
  if (!existsSync(modelFile)) throw new Error(`${modelFile}: missing`);
  const ignore = config.model_type === 'mamba' && config.tie_word_embeddings ? ['lm_head.weight'] : [];
  expectTensors(modelFile, safetensorsHeader(modelFile), specs, false, ignore);
  if (opts.training) {
    const stateFile = path.join(dir, TRAINER_STATE_FILE);
    if (!existsSync(stateFile)) throw new Error(`${stateFile}: missing`);
    readTrainerState(dir);
    const optFile = path.join(dir, OPTIMIZER_FILE);
    if (!existsSync(optFile)) throw new Error(`${optFile}: missing`);
    expectTensors(optFile, safetensorsHeader(optFile), specs.flatMap((s) => [{ name: s.name + '.exp_avg', shape: s.shape }, { name: s.name + '.exp_avg_sq', shape: s.shape }]), true);
  }
  return config;
}
