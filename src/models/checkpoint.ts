// Checkpoint folders (docs/checkpoint-format.md §1): config.json, model.safetensors, tokenizer.json (+ its
// tokenizer_config.json), and for training checkpoints optimizer.safetensors and trainer_state.json.
// Saves are atomic: everything is written and fsynced in a `.tmp-` sibling folder, which then replaces
// the target by rename (the previous folder is moved aside first and removed only after the new one is in
// place), so an interrupted save never damages the last good checkpoint. Reads validate names and shapes
// and name the file and tensor in every error.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { readSafetensors, writeSafetensors, type StInput } from '../io/safetensors.ts';
import { type ModelConfig, type ParamSpec, paramSpecs, parseConfig } from './config.ts';
import { configJsonText } from './config_json.ts';
import { buildModel } from './index.ts';
import type { CausalLM, HostTensor } from './lm.ts';

export const CONFIG_FILE = 'config.json';
export const MODEL_FILE = 'model.safetensors';
export const TOKENIZER_FILE = 'tokenizer.json';
export const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const TRAINER_STATE_FILE = 'trainer_state.json';

/** AdamW moments of one parameter (same shape as it). */
export interface Moments {
  expAvg: Float32Array;
  expAvgSq: Float32Array;
}

/** trainer_state.json (§11); the trainer fills it, unknown fields are kept. */
export interface TrainerState {
  format_version: 1;
  step: number;
  tokens_seen: number;
  data_cursor: { source: string; epoch: number; offset: number; order_seed: number | null; [k: string]: unknown };
  rng: { algorithm: string; seed: number; state: number[] };
  optimizer: {
    type: 'adamw'; step: number; lr: number; beta1: number; beta2: number; eps: number;
    weight_decay: number; grad_clip_norm: number | null; no_weight_decay: string[];
  };
  [k: string]: unknown;
}

export interface SaveOptions {
  /** tokenizer.json to copy in (a path), or its JSON text. Required by the format; omit only in tests. */
  tokenizer?: { file: string } | { json: string };
  /** tokenizer_config.json content (§10.4); written when given, or derived when the tokenizer is given. */
  tokenizerConfig?: Record<string, unknown>;
  /** AdamW moments keyed by stored parameter name (training checkpoints). */
  optimizer?: Map<string, Moments>;
  trainerState?: TrainerState;
}

function writeFileSynced(file: string, data: string | Uint8Array): void {
  namingFile(file, () => {
    const fd = openSync(file, 'w');
    try {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let done = 0;
      while (done < buf.byteLength) done += writeSync(fd, buf, done, buf.byteLength - done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  });
}

/** Runs a write; a system error (ENOSPC, EACCES, EIO, …) that names no path gets the file's name. */
export function namingFile<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code && !err.message.includes(file)) err.message = `${file}: ${err.message}`;
    throw err;
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch {
    // Some filesystems refuse fsync on directories; the renames are still atomic.
  }
}

/** Default tokenizer_config.json (§10.4) from the tokenizer's special tokens. */
export function defaultTokenizerConfig(tokenizerJson: string): Record<string, unknown> {
  let eos: string | null = null;
  try {
    const t = JSON.parse(tokenizerJson) as { added_tokens?: { content: string; special?: boolean }[] };
    eos = t.added_tokens?.find((a) => a.special)?.content ?? null;
  } catch {
    // Leave eos null; the tokenizer itself is validated by whoever made it.
  }
  return { tokenizer_class: 'PreTrainedTokenizerFast', model_max_length: 1000000000, bos_token: null, eos_token: eos, pad_token: null };
}

/**
 * Writes a checkpoint folder atomically at `dir` from a config and host weights. Files that were in an older
 * folder at `dir` are not carried over.
 */
export function saveCheckpointWeights(dir: string, config: ModelConfig, weights: Map<string, HostTensor>, opts: SaveOptions = {}): void {
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  const base = path.basename(target);
  mkdirSync(parent, { recursive: true });
  const tmp = path.join(parent, `.tmp-${base}-${process.pid}-${Date.now()}`);
  mkdirSync(tmp);
  try {
    const specs = paramSpecs(config);
    const tensors: StInput = new Map();
    for (const s of specs) {
      const w = weights.get(s.name);
      if (!w) throw new Error(`saving ${MODEL_FILE}: missing tensor '${s.name}'`);
      if (w.data.length !== s.shape.reduce((a, b) => a * b, 1)) throw new Error(`saving ${MODEL_FILE}: tensor '${s.name}' has ${w.data.length} values, shape [${s.shape}]`);
      tensors.set(s.name, { shape: s.shape, data: w.data });
    }
    writeFileSynced(path.join(tmp, CONFIG_FILE), configJsonText(config));
    namingFile(path.join(tmp, MODEL_FILE), () => writeSafetensors(path.join(tmp, MODEL_FILE), tensors));
    if (opts.tokenizer) {
      const json = 'json' in opts.tokenizer ? opts.tokenizer.json : readFileSync(opts.tokenizer.file, 'utf8');
      writeFileSynced(path.join(tmp, TOKENIZER_FILE), json);
      writeFileSynced(path.join(tmp, TOKENIZER_CONFIG_FILE), JSON.stringify(opts.tokenizerConfig ?? defaultTokenizerConfig(json), null, 2) + '\n');
    } else if (opts.tokenizerConfig) {
      writeFileSynced(path.join(tmp, TOKENIZER_CONFIG_FILE), JSON.stringify(opts.tokenizerConfig, null, 2) + '\n');
    }
    if (opts.optimizer) {
      const m: StInput = new Map();
      for (const s of specs) {
        const mo = opts.optimizer.get(s.name);
        if (!mo) continue; // never-updated parameters may be absent (§12)
        m.set(s.name + '.exp_avg', { shape: s.shape, data: mo.expAvg });
        m.set(s.name + '.exp_avg_sq', { shape: s.shape, data: mo.expAvgSq });
      }
      for (const name of opts.optimizer.keys()) {
        if (!specs.some((s) => s.name === name)) throw new Error(`saving ${OPTIMIZER_FILE}: moments for unknown tensor '${name}'`);
      }
      namingFile(path.join(tmp, OPTIMIZER_FILE), () => writeSafetensors(path.join(tmp, OPTIMIZER_FILE), m));
    }
    if (opts.trainerState) writeFileSynced(path.join(tmp, TRAINER_STATE_FILE), JSON.stringify(opts.trainerState, null, 2) + '\n');
    fsyncDir(tmp);
    // Swap in: move the old folder aside, rename the new one into place, then delete the old one.
    let old: string | null = null;
    if (existsSync(target)) {
      old = path.join(parent, `.tmp-old-${base}-${process.pid}-${Date.now()}`);
      renameSync(target, old);
    }
    renameSync(tmp, target);
    fsyncDir(parent);
    if (old) rmSync(old, { recursive: true, force: true });
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Saves a model (config + current parameter values) as a checkpoint folder. */
export function saveCheckpoint(dir: string, model: CausalLM, opts: SaveOptions = {}): void {
  saveCheckpointWeights(dir, model.config, model.exportWeights(), opts);
}

/** Reads and validates config.json of a checkpoint folder. */
export function readConfig(dir: string): ModelConfig {
  const file = path.join(dir, CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: invalid JSON (${(e as Error).message})`);
  }
  return parseConfig(raw, file);
}

/**
 * Reads a safetensors file whose tensors must be exactly `specs` (plus `ignore`d names): a missing, unknown,
 * non-float or wrongly-shaped tensor is an error naming the file and the tensor.
 */
export function readExact(file: string, specs: ParamSpec[], opts: { ignore?: string[]; allowMissing?: boolean } = {}): Map<string, HostTensor> {
  const { tensors } = readSafetensors(file);
  const out = new Map<string, HostTensor>();
  const known = new Set(specs.map((s) => s.name));
  for (const name of tensors.keys()) {
    if (!known.has(name) && !opts.ignore?.includes(name)) throw new Error(`${file}: unknown tensor '${name}' (not part of this model's config)`);
  }
  for (const s of specs) {
    const t = tensors.get(s.name);
    if (!t) {
      if (opts.allowMissing) continue;
      throw new Error(`${file}: missing tensor '${s.name}' (expected shape [${s.shape}])`);
    }
    if (!(t.data instanceof Float32Array)) throw new Error(`${file}: tensor '${s.name}': dtype ${t.dtype} is not a float type`);
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      throw new Error(`${file}: tensor '${s.name}': shape [${t.shape}] but config.json needs [${s.shape}]`);
    }
    out.set(s.name, { shape: s.shape, data: t.data });
  }
  return out;
}

/** Reads config.json (unless the caller has already parsed it: `config`) and model.safetensors of a checkpoint folder. */
export function readCheckpointWeights(dir: string, config: ModelConfig = readConfig(dir)): { config: ModelConfig; weights: Map<string, HostTensor> } {
  // A tied Mamba file that nonetheless stores lm_head.weight is accepted; the tensor is ignored (§7.2).
  const ignore = config.model_type === 'mamba' && config.tie_word_embeddings ? ['lm_head.weight'] : [];
  const weights = readExact(path.join(dir, MODEL_FILE), paramSpecs(config), { ignore });
  return { config, weights };
}

/** Loads a checkpoint folder as a model (the backend must be initialised); `config`: its config.json, if already read. */
export function loadCheckpoint(dir: string, config?: ModelConfig): CausalLM {
  const r = readCheckpointWeights(dir, config);
  return buildModel(r.config, r.weights);
}

/** Reads optimizer.safetensors: moments per parameter; parameters absent from the file start at zero. */
export function readOptimizerState(dir: string, config: ModelConfig): Map<string, Moments> {
  const file = path.join(dir, OPTIMIZER_FILE);
  const specs = paramSpecs(config);
  const mSpecs = specs.flatMap((s) => [{ name: s.name + '.exp_avg', shape: s.shape }, { name: s.name + '.exp_avg_sq', shape: s.shape }]);
  const t = readExact(file, mSpecs, { allowMissing: true });
  const out = new Map<string, Moments>();
  for (const s of specs) {
    const m = t.get(s.name + '.exp_avg'), v = t.get(s.name + '.exp_avg_sq');
    if (!m && !v) continue;
    if (!m || !v) throw new Error(`${file}: tensor '${s.name}.${m ? 'exp_avg_sq' : 'exp_avg'}' is missing while its pair is present`);
    out.set(s.name, { expAvg: m.data, expAvgSq: v.data });
  }
  return out;
}

/** Reads trainer_state.json and checks the required fields (§11). */
export function readTrainerState(dir: string): TrainerState {
  const file = path.join(dir, TRAINER_STATE_FILE);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as Error).message})`);
  }
  const need = (cond: boolean, key: string, what: string) => {
    if (!cond) throw new Error(`${file}: key '${key}': expected ${what}, got ${JSON.stringify(key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], raw))}`);
  };
  const obj = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  const nonNegInt = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  need(raw.format_version === 1, 'format_version', '1');
  need(nonNegInt(raw.step), 'step', 'a non-negative integer');
  need(nonNegInt(raw.tokens_seen), 'tokens_seen', 'a non-negative integer');
  need(obj(raw.data_cursor), 'data_cursor', 'an object');
  const dc = raw.data_cursor as Record<string, unknown>;
  need(typeof dc.source === 'string', 'data_cursor.source', 'a string');
  need(nonNegInt(dc.epoch), 'data_cursor.epoch', 'a non-negative integer');
  need(nonNegInt(dc.offset), 'data_cursor.offset', 'a non-negative integer');
  need(obj(raw.rng), 'rng', 'an object');
  const rng = raw.rng as Record<string, unknown>;
  need(Array.isArray(rng.state) && rng.state.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32), 'rng.state', 'an array of uint32');
  need(obj(raw.optimizer), 'optimizer', 'an object');
  const op = raw.optimizer as Record<string, unknown>;
  need(op.type === 'adamw', 'optimizer.type', '"adamw"');
  need(nonNegInt(op.step), 'optimizer.step', 'a non-negative integer');
  for (const k of ['lr', 'beta1', 'beta2', 'eps', 'weight_decay']) need(typeof op[k] === 'number', `optimizer.${k}`, 'a number');
  need(Array.isArray(op.no_weight_decay), 'optimizer.no_weight_decay', 'an array of tensor names');
  return raw as TrainerState;
}

