// Checkpoint folders: atomic replacement (an interrupted save leaves the last good folder intact), the
// optional training files round-trip, and every damaged or mismatched file is rejected with an error
// naming the file and the tensor.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { initBackend } from '../backend/index.ts';
import { serializeSafetensors } from '../io/safetensors.ts';
import {
  type Moments, type TrainerState, loadCheckpoint, readCheckpointWeights, readOptimizerState, readTrainerState,
  saveCheckpointWeights,
} from './checkpoint.ts';
import { modelConfigFromRecipe, noWeightDecay, paramSpecs } from './config.ts';
import { fixtureDir } from '../testing/fixtures.ts';
import { initWeights } from './init.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'lrnn-ckpt-'));
before(async () => { await initBackend(); });
after(() => rmSync(tmp, { recursive: true, force: true }));

const config = modelConfigFromRecipe({ arch: 'mamba', size: 'tiny', allow_neg_eigval: true });
const weights = initWeights(config, 3);
const TOKENIZER = '{"version":"1.0","added_tokens":[{"id":511,"content":"<|endoftext|>","special":true}],"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}';

function trainerState(): TrainerState {
  return {
    format_version: 1, step: 12, tokens_seen: 4096,
    data_cursor: { source: 'data/train.tokens', epoch: 0, offset: 4096, order_seed: null },
    rng: { algorithm: 'xoshiro128**', seed: 1, state: [1, 2, 3, 4294967295] },
    optimizer: { type: 'adamw', step: 12, lr: 3e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: 0.1, grad_clip_norm: 1, no_weight_decay: noWeightDecay(config) },
  };
}

test('save writes the spec files; optimizer and trainer state round-trip', () => {
  const dir = path.join(tmp, 'ckpt-1');
  const optimizer = new Map<string, Moments>();
  for (const s of paramSpecs(config)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    optimizer.set(s.name, { expAvg: Float32Array.from({ length: n }, (_, i) => i * 0.5), expAvgSq: new Float32Array(n).fill(2) });
  }
  saveCheckpointWeights(dir, config, weights, { tokenizer: { json: TOKENIZER }, optimizer, trainerState: trainerState() });
  assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'model.safetensors', 'optimizer.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'trainer_state.json']);
  assert.equal(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'), TOKENIZER);
  assert.equal(JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')).eos_token, '<|endoftext|>');
  const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.equal(cfg.allow_neg_eigval, true);
  assert.equal(cfg.time_step_rank, 4);
  const back = readCheckpointWeights(dir);
  assert.deepEqual(back.config, config);
  for (const [n, w] of weights) assert.deepEqual(back.weights.get(n)!.data, w.data, n);
  const mom = readOptimizerState(dir, config);
  assert.equal(mom.size, optimizer.size);
  for (const [n, m] of optimizer) {
    assert.deepEqual(mom.get(n)!.expAvg, m.expAvg);
    assert.deepEqual(mom.get(n)!.expAvgSq, m.expAvgSq);
  }
  assert.deepEqual(readTrainerState(dir), trainerState());
  // No temporary folders are left next to it.
  assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('.tmp-')), []);
});

test('saving over an existing checkpoint replaces it; a failed save leaves the old one intact', () => {
  const dir = path.join(tmp, 'ckpt-2');
  saveCheckpointWeights(dir, config, weights, { tokenizer: { json: TOKENIZER } });
  const before = readFileSync(path.join(dir, 'model.safetensors'));
  // A save that fails half-way (a weight missing) must not touch the folder.
  const broken = new Map(weights);
  broken.delete('backbone.norm_f.weight');
  assert.throws(() => saveCheckpointWeights(dir, config, broken), /missing tensor 'backbone\.norm_f\.weight'/);
  assert.ok(readFileSync(path.join(dir, 'model.safetensors')).equals(before));
  assert.ok(existsSync(path.join(dir, 'tokenizer.json')));
  assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('.tmp-')), []);
  // A successful save replaces the content (old extra files do not survive).
  const w2 = initWeights(config, 4);
  saveCheckpointWeights(dir, config, w2);
  assert.ok(!readFileSync(path.join(dir, 'model.safetensors')).equals(before));
  assert.ok(!existsSync(path.join(dir, 'tokenizer.json')));
  assert.deepEqual(readdirSync(tmp).filter((n) => n.startsWith('.tmp-')), []);
});

function withModelFile(name: string, bytes: Buffer | Uint8Array): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  writeFileSync(path.join(dir, 'model.safetensors'), bytes);
  return dir;
}

function modelBytes(edit: (m: Map<string, { shape: number[]; data: Float32Array }>) => void): Buffer {
  const m = new Map([...weights].map(([k, v]) => [k, { shape: v.shape, data: v.data }]));
  edit(m);
  return Buffer.concat(serializeSafetensors(m));
}

test('loading rejects missing, unknown and wrongly shaped tensors, and damaged files, naming file and tensor', () => {
  const cases: [string, Buffer, RegExp][] = [
    ['missing', modelBytes((m) => m.delete('backbone.layers.1.mixer.A_log')), /missing tensor 'backbone\.layers\.1\.mixer\.A_log' \(expected shape \[128,16\]\)/],
    ['unknown', modelBytes((m) => m.set('backbone.layers.7.mixer.D', { shape: [1], data: new Float32Array(1) })), /unknown tensor 'backbone\.layers\.7\.mixer\.D'/],
    ['shape', modelBytes((m) => m.set('backbone.layers.0.mixer.D', { shape: [2, 64], data: new Float32Array(128) })), /tensor 'backbone\.layers\.0\.mixer\.D': shape \[2,64\] but config\.json needs \[128\]/],
  ];
  const good = modelBytes(() => {});
  cases.push(['truncated', good.subarray(0, good.length - 100), /truncated/]);
  const corrupt = Buffer.from(good);
  corrupt.write('}}}}', corrupt.indexOf('"dtype"')); // breaks the JSON structure
  cases.push(['corrupt', corrupt, /corrupted header/]);
  for (const [name, bytes, re] of cases) {
    const dir = withModelFile(`bad-${name}`, bytes);
    assert.throws(() => loadCheckpoint(dir), (e: Error) => {
      assert.ok(e.message.startsWith(path.join(dir, 'model.safetensors') + ': '), `${name}: message does not name the file: ${e.message}`);
      assert.match(e.message, re, name);
      return true;
    });
  }
  // A tied Mamba file that also stores lm_head.weight is accepted (§7.2).
  const dir = withModelFile('tied-extra', modelBytes((m) => m.set('lm_head.weight', { shape: [512, 64], data: new Float32Array(512 * 64) })));
  loadCheckpoint(dir).dispose();
});

test('config.json errors name the file and key', () => {
  const dir = path.join(tmp, 'badcfg');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, hidden_size: 'big' }));
  assert.throws(() => loadCheckpoint(dir), /config\.json: key 'hidden_size': expected a positive integer, got "big"/);
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, model_type: 'gpt2' }));
  assert.throws(() => loadCheckpoint(dir), /key 'model_type': expected "delta_net" or "mamba"/);
  writeFileSync(path.join(dir, 'config.json'), '{');
  assert.throws(() => loadCheckpoint(dir), /config\.json: invalid JSON/);
});

test('trainer_state.json and optimizer.safetensors are validated', () => {
  const dir = path.join(tmp, 'ckpt-3');
  saveCheckpointWeights(dir, config, weights, { trainerState: { ...trainerState(), step: -1 } });
  assert.throws(() => readTrainerState(dir), /trainer_state\.json: key 'step': expected a non-negative integer, got -1/);
  writeFileSync(path.join(dir, 'optimizer.safetensors'), Buffer.concat(serializeSafetensors(new Map([['backbone.norm_f.weight.exp_avg', { shape: [64], data: new Float32Array(64) }]]))));
  assert.throws(() => readOptimizerState(dir, config), /'backbone\.norm_f\.weight\.exp_avg_sq' is missing while its pair is present/);
  writeFileSync(path.join(dir, 'optimizer.safetensors'), Buffer.concat(serializeSafetensors(new Map([['backbone.norm_f.weight.exp_avg', { shape: [63], data: new Float32Array(63) }]]))));
  assert.throws(() => readOptimizerState(dir, config), /optimizer\.safetensors: tensor 'backbone\.norm_f\.weight\.exp_avg': shape \[63\]/);
});

test('fixture folders load and re-save to byte-identical model.safetensors', () => {
  for (const name of ['delta_net-neg', 'mamba-std'] as const) {
    const src = fixtureDir(name);
    const { config: c, weights: w } = readCheckpointWeights(src);
    const dir = path.join(tmp, 're-' + name);
    saveCheckpointWeights(dir, c, w, { tokenizer: { file: path.join(src, 'tokenizer.json') } });
    assert.ok(readFileSync(path.join(dir, 'model.safetensors')).equals(readFileSync(path.join(src, 'model.safetensors'))), name);
  }
});
