// A short real training run: a tiny DeltaNet [-1,1] learns parity on short sequences well above chance, the
// loss is computed on the answer token only, and the run writes a checkpoint that `lrnn task eval` scores
// on a user test set given as JSON lines in symbols.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { initBackend } from '../backend/index.ts';
import { main } from '../cli/main.ts';
import { validateTaskConfig, loadTaskConfig } from './schema.ts';
import { curriculumMaxLen, trainTask } from './train.ts';

await initBackend();

test('length curriculum: the cap grows from train_min_len + 2 to train_max_len over curriculum_steps; 0 = off', () => {
  const cfgWith = (curriculum_steps: number) => validateTaskConfig({
    name: 'c', task: { name: 'modular', train_min_len: 3, train_max_len: 39, curriculum_steps },
    model: { arch: 'deltanet', size: 'tiny' }, train: { steps: 2000, warmup: 10 },
  }, 'test');
  assert.equal(curriculumMaxLen(cfgWith(0), 0), 39);
  const c = cfgWith(1000);
  const caps = [0, 250, 500, 999, 1000, 1999].map((s) => curriculumMaxLen(c, s));
  assert.deepEqual(caps, [5, 13, 22, 38, 39, 39]);
});

test('a tiny DeltaNet [-1,1] learns parity above chance in a short run; task eval reads its checkpoint', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lrnn-task-'));
  try {
    const cfg = validateTaskConfig({
      name: 'parity-test', out_dir: dir,
      task: { name: 'parity', train_min_len: 3, train_max_len: 12, test_min_len: 3, test_max_len: 12, test_examples: 256 },
      model: { arch: 'deltanet', size: 'tiny', hidden_size: 32, num_hidden_layers: 1, num_heads: 2, allow_neg_eigval: true },
      train: { steps: 400, batch_size: 16, lr: 1e-2, min_lr: 1e-4, warmup: 40, weight_decay: 0, betas: [0.9, 0.999], clip: 1, seed: 0 },
    }, 'test');
    const r = await trainTask(cfg);
    const first = r.history.slice(0, 10).reduce((a, h) => a + h.loss, 0) / 10;
    const last = r.history.slice(-10).reduce((a, h) => a + h.loss, 0) / 10;
    assert.ok(last < first, `loss did not fall: ${first} → ${last}`);
    assert.ok(r.test!.accuracy > 0.75, `test accuracy ${r.test!.accuracy} (scaled ${r.test!.scaledAccuracy})`);
    // At init the 3-way softmax is near uniform: the first loss is ≈ ln 3 per answer token (a mean over the
    // supervised token, not a sum over every position of the sequence).
    assert.ok(Math.abs(r.history[0]!.loss - Math.log(3)) < 0.3, `first loss ${r.history[0]!.loss}`);
    r.model.dispose();

    const data = path.join(dir, 'user.jsonl');
    const lines = [];
    for (let i = 0; i < 64; ++i) {
      const bits = Array.from({ length: 4 + (i % 7) }, (_, j) => String((i * 7 + j * 3 + (i >> 2)) % 2));
      lines.push(JSON.stringify({ tokens: bits, answer: String(bits.filter((b) => b === '1').length % 2) }));
    }
    writeFileSync(data, lines.join('\n') + '\n');
    const out: string[] = [];
    const log = console.log;
    console.log = (s: string) => out.push(s);
    let code: number;
    try {
      code = await main(['task', 'eval', '--checkpoint', path.join(dir, 'parity-test'), '--task', 'parity', '--data', data, '--json']);
    } finally {
      console.log = log;
    }
    assert.equal(code, 0);
    const res = JSON.parse(out.join(''));
    assert.equal(res.examples, 64);
    assert.ok(res.accuracy > 0.75, `user-set accuracy ${res.accuracy}`);
    assert.equal(res.scaled_accuracy, (res.accuracy - 0.5) / 0.5);
    assert.deepEqual(Object.keys(res.by_length).map(Number).sort((a, b) => a - b), [5, 6, 7, 8, 9, 10, 11]);
    const info = JSON.parse(readFileSync(path.join(dir, 'parity-test', 'final', 'task.json'), 'utf8'));
    assert.equal(info.task, 'parity');
    // A checkpoint of one task cannot be scored as another.
    assert.equal(await main(['task', 'eval', '--checkpoint', path.join(dir, 'parity-test'), '--task', 'modular']), 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every shipped task recipe loads and overrides apply', () => {
  for (const [name, recipe] of [['parity', 'parity'], ['modular', 'modular'], ['modular_brackets', 'brackets'], ['s5_swaps', 's5']]) {
    for (const arch of ['deltanet', 'mamba']) {
      for (const neg of [false, true]) {
        const { config } = loadTaskConfig(`${recipe}-${arch}${neg ? '-negeig' : ''}`, ['--train.seed=2', '--train.steps=50', '--train.warmup=5']);
        assert.equal(config.task.name, name);
        assert.equal(config.model.arch, arch);
        assert.equal(config.model.allow_neg_eigval, neg);
        assert.equal(config.model.hidden_size, 128);
        assert.equal(config.model.num_hidden_layers, 2);
        if (arch === 'deltanet') assert.equal(config.model.num_heads, 4);
        assert.equal(config.train.seed, 2);
        assert.equal(config.train.steps, 50);
      }
    }
  }
  // Each [0,1] / [-1,1] pair differs in allow_neg_eigval alone (one level of extends keeps the rest in two files).
  for (const recipe of ['parity', 'modular', 'brackets', 's5']) {
    for (const arch of ['deltanet', 'mamba']) {
      const { name: _a, ...pos } = loadTaskConfig(`${recipe}-${arch}`).config;
      const { name: _b, ...neg } = loadTaskConfig(`${recipe}-${arch}-negeig`).config;
      assert.deepEqual({ ...neg, model: { ...neg.model, allow_neg_eigval: false } }, pos, `${recipe}-${arch} pair`);
    }
  }
  assert.throws(() => loadTaskConfig('parity-deltanet', ['--task.nme=3']), /task\.nme: unknown key/);
  assert.throws(() => loadTaskConfig('parity-deltanet', ['--task.name=nope']), /task\.name/);
});
