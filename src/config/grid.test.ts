// `lrnn sweep`'s grid: value splitting, schema typing, the cross product's order and run names, and the
// refusals (unknown key, wrong type, empty list, repeated value or key, reserved keys, cross-field checks),
// each naming the key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandGrid, parseGridSpec, planGrid, seedAxis, splitValues } from './grid.ts';

test('splitValues keeps brackets and quotes whole', () => {
  assert.deepEqual(splitValues('1e-3, 3e-3,1e-2'), ['1e-3', '3e-3', '1e-2']);
  assert.deepEqual(splitValues('[1,1],[2,1]'), ['[1,1]', '[2,1]']);
  assert.deepEqual(splitValues('"a,b",c'), ['"a,b"', 'c']);
  assert.deepEqual(splitValues('x'), ['x']);
});

test('parseGridSpec types values by the schema', () => {
  const lr = parseGridSpec('train.lr=1e-3,3e-3');
  assert.deepEqual(lr, { key: 'train.lr', texts: ['1e-3', '3e-3'], values: [0.001, 0.003] });
  assert.deepEqual(parseGridSpec('--model.allow_neg_eigval=false,true').values, [false, true]);
  assert.deepEqual(parseGridSpec('model.arch=deltanet,mamba').values, ['deltanet', 'mamba']);
  assert.deepEqual(parseGridSpec('data.weights=[1,1],[2,1]').values, [[1, 1], [2, 1]]);
  assert.deepEqual(seedAxis('0, 1,2'), { key: 'train.seed', texts: ['0', '1', '2'], values: [0, 1, 2] });
});

test('bad specs are refused naming the key', () => {
  const cases: [() => unknown, RegExp][] = [
    [() => parseGridSpec('train.lrr=1,2'), /^--grid train\.lrr: unknown key 'train\.lrr' \(train has: .*\blr\b/],
    [() => parseGridSpec('train.lr='), /^--grid train\.lr: empty list of values/],
    [() => parseGridSpec('train.lr=1e-3,,3e-3'), /^--grid train\.lr: empty value/],
    [() => parseGridSpec('train.lr=1e-3,0.001'), /^--grid train\.lr: value '0\.001' is the same as '1e-3'/],
    [() => parseGridSpec('train=1,2'), /^--grid train: names a section/],
    [() => parseGridSpec('name=a,b'), /^--grid name: the sweep sets name itself/],
    [() => parseGridSpec('train.lr'), /^--grid 'train\.lr': expected KEY=V1,V2/],
    [() => seedAxis('0,x'), /^--seeds: 'x' is not a non-negative integer/],
    [() => seedAxis('1,1'), /^--seeds: seed 1 given twice/],
    [() => planGrid('tiny', [], [], '/nonexistent'), /nothing to sweep/],
    [() => planGrid('tiny', [], [parseGridSpec('train.lr=1e-3,fast')], '/nonexistent'), /^--grid train\.lr: value 'fast': expected number, received string$/],
    [() => planGrid('tiny', [], [parseGridSpec('model.allow_neg_eigval=yes')], '/nonexistent'), /^--grid model\.allow_neg_eigval: value 'yes': expected boolean/],
    [() => planGrid('tiny', [], [parseGridSpec('train.lr=0,1e-3')], '/nonexistent'), /^--grid train\.lr: value '0': Too small: expected number to be >0$/],
    [() => planGrid('tiny', [], [parseGridSpec('model.arch=deltanet,rwkv')], '/nonexistent'), /^--grid model\.arch: value 'rwkv': .*"deltanet"\|"mamba"/],
    [() => planGrid('tiny', [], [parseGridSpec('train.lr=1e-5')], '/nonexistent'), /^--grid: run --train\.lr=1e-5: train\.min_lr: .* must not exceed train\.lr/],
    [() => planGrid('tiny', [], [parseGridSpec('train.seed=1,2'), seedAxis('3')], '/nonexistent'), /^--grid train\.seed: given twice \(--seeds/],
    [() => planGrid('tiny', ['--train.lr=1e-3'], [parseGridSpec('train.lr=1e-3,3e-3')], '/nonexistent'), /^--grid train\.lr: also given as the override/],
    [() => planGrid('tiny', ['--out_dir=x'], [parseGridSpec('train.lr=1e-3')], '/nonexistent'), /^--out_dir: the sweep sets out_dir itself/],
  ];
  for (const [f, re] of cases) assert.throws(f, (e: Error) => e.name === 'ConfigError' && re.test(e.message), String(re));
  // A cross-field problem that only a combination has names the run's arguments and the key.
  assert.throws(() => planGrid('tiny', [], [parseGridSpec('train.lr=1e-3,1e-5'), parseGridSpec('train.min_lr=1e-6,1e-4')], '/x'),
    /--grid: run --train\.lr=1e-5 --train\.min_lr=1e-4: train\.min_lr: \(0\.0001\) must not exceed train\.lr/);
});

test('expandGrid: first axis outermost, names from the last key segment, overrides typed', () => {
  const pts = expandGrid([parseGridSpec('train.lr=1e-3,3e-2'), parseGridSpec('model.allow_neg_eigval=false,true'), seedAxis('0,1')]);
  assert.equal(pts.length, 8);
  assert.deepEqual(pts.map((p) => p.name).slice(0, 3), ['lr-0.001_allow_neg_eigval-false_seed-0', 'lr-0.001_allow_neg_eigval-false_seed-1', 'lr-0.001_allow_neg_eigval-true_seed-0']);
  assert.equal(pts[7]!.name, 'lr-0.03_allow_neg_eigval-true_seed-1');
  assert.deepEqual(pts[5]!.overrides, { 'train.lr': 0.03, 'model.allow_neg_eigval': false, 'train.seed': 1 });
  assert.deepEqual(pts[5]!.args, ['--train.lr=3e-2', '--model.allow_neg_eigval=false', '--train.seed=1']);
  assert.equal(new Set(pts.map((p) => p.name)).size, 8);
  // Two keys with the same last segment are named by their whole path.
  const two = expandGrid([parseGridSpec('eval.every=0,5'), parseGridSpec('log.every=1')]);
  assert.deepEqual(two.map((p) => p.name), ['eval_every-0_log_every-1', 'eval_every-5_log_every-1']);
});

test('planGrid resolves every point as the run it will be', () => {
  const { runs, outDir } = planGrid('tiny', ['--train.steps=7'], [parseGridSpec('train.lr=1e-3,3e-3'), seedAxis('5')], 'out/sw');
  assert.equal(outDir, 'out/sw');
  assert.deepEqual(runs.map((r) => [r.config.name, r.config.out_dir, r.config.train.lr, r.config.train.seed, r.config.train.steps]), [
    ['lr-0.001_seed-5', 'out/sw', 0.001, 5, 7],
    ['lr-0.003_seed-5', 'out/sw', 0.003, 5, 7],
  ]);
  assert.equal(planGrid('tiny', [], [seedAxis('1')]).outDir, 'checkpoints/sweep-tiny');
  // A value the recipe alone rejects (3 weights, 2 domains) is fine when another axis fixes it.
  const fixed = planGrid('tiny', ['--data.domains=["a","b"]'], [parseGridSpec('data.weights=[1,1],[2,1]')], 'o').runs;
  assert.deepEqual(fixed.map((r) => [r.name, r.config.data.weights]), [['weights-1_1', [1, 1]], ['weights-2_1', [2, 1]]]);
});
