// config.json carries the reference configs' types: every float-typed field of transformers' MambaConfig
// and fla's DeltaNetConfig is written as a float literal (`1.0`, not `1`, which transformers 5.x refuses),
// int fields stay ints, and parsing gives the same values back. Checked on the serializer, on the text
// `lrnn init` writes for both models and on a checkpoint `lrnn train` writes for a tiny Mamba run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { prepareTinyDataset } from '../data/fixtures/tiny_corpus.ts';
import { modelConfigFromRecipe, parseConfig, type ModelKind } from './config.ts';
import { configJsonText, DELTANET_FLOAT_KEYS, FLOAT_KEYS, floatLiteral, jsonWithFloats, MAMBA_FLOAT_KEYS } from './config_json.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'lrnn-config-json-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const BIN = path.resolve('bin/lrnn.js');
const lrnn = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, LRNN_BACKEND: 'auto' } });

/** The literal text of top-level `key` in config.json text (throws when absent). */
function literal(text: string, key: string): string {
  const m = new RegExp(`^  ${JSON.stringify(key)}: (.*?),?$`, 'm').exec(text);
  assert.ok(m, `config.json has no top-level '${key}':\n${text}`);
  return m[1]!;
}

const FLOAT_LITERAL = /^-?\d+(\.\d+([eE][-+]?\d+)?|[eE][-+]?\d+)$/; // JSON number with a fraction or exponent
const INT_LITERAL = /^-?\d+$/;
/** Int-typed fields of the reference classes that lrnn writes (fla DeltaNetConfig / transformers MambaConfig). */
const INT_KEYS: Record<string, string[]> = {
  delta_net: ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_heads', 'conv_size', 'hidden_ratio', 'intermediate_size', 'max_position_embeddings'],
  mamba: ['vocab_size', 'hidden_size', 'num_hidden_layers', 'state_size', 'expand', 'intermediate_size', 'conv_kernel', 'time_step_rank'],
};

/** Every float key is a float literal, the int keys int literals, and parsing gives `want` back. */
function checkConfigText(text: string, modelType: string, want?: unknown): void {
  for (const k of FLOAT_KEYS[modelType]!) assert.match(literal(text, k), FLOAT_LITERAL, `'${k}' must be a float literal`);
  for (const k of INT_KEYS[modelType]!) assert.match(literal(text, k), INT_LITERAL, `'${k}' must be an int literal`);
  const parsed = JSON.parse(text);
  assert.equal(parsed.model_type, modelType);
  if (want !== undefined) assert.deepEqual(parsed, want);
  assert.deepEqual(parseConfig(parsed), parsed, 'parseConfig gives the written values back');
}

test('floatLiteral: integral values get .0; fractions, exponents and non-finite values are left as JSON writes them', () => {
  assert.equal(floatLiteral(1), '1.0');
  assert.equal(floatLiteral(-3), '-3.0');
  assert.equal(floatLiteral(0), '0.0');
  assert.equal(floatLiteral(0.001), '0.001');
  assert.equal(floatLiteral(1e-4), '0.0001');
  assert.equal(floatLiteral(1e-7), '1e-7');
  assert.equal(floatLiteral(1e21), '1e+21');
  assert.equal(floatLiteral(NaN), 'null');
  for (const v of [1, 0.02, 1e-5, 1e-7, 1e21, 123456789]) assert.equal(JSON.parse(floatLiteral(v)), v);
});

test('jsonWithFloats: JSON.stringify layout; float keys as float literals at any depth and inside arrays', () => {
  const plain = { a: 1, b: [1, 2, { c: 'x' }], d: { e: null, f: true, g: [] as number[], h: {} }, i: 'é"\n' };
  assert.equal(jsonWithFloats(plain, []), JSON.stringify(plain, null, 2));
  assert.equal(jsonWithFloats(plain, [], 0), JSON.stringify(plain));
  const v = { eps: 1, n: 1, list: [1, 2.5], nested: { eps: 2, n: 3 }, arr: [{ eps: 4 }], sub: { x: 5, y: [6] }, skip: undefined };
  const text = jsonWithFloats(v, ['eps', 'list', 'sub']);
  assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(v)), 'same values back');
  assert.match(text, /"eps": 1\.0,/);
  assert.match(text, /"n": 1,/);
  assert.match(text, /"list": \[\n {4}1\.0,\n {4}2\.5\n {2}\]/);
  assert.match(text, /"eps": 2\.0,\n {4}"n": 3\n/);
  assert.match(text, /"eps": 4\.0\n/);
  assert.match(text, /"x": 5\.0,\n {4}"y": \[\n {6}6\.0\n/);
  assert.doesNotMatch(text, /skip/);
});

for (const [model, type] of [['deltanet', 'delta_net'], ['mamba', 'mamba']] as [ModelKind, string][]) {
  test(`${type}: every float field of the config is a float literal, ints stay ints, parsing round-trips`, () => {
    const keys = type === 'mamba' ? MAMBA_FLOAT_KEYS : DELTANET_FLOAT_KEYS;
    for (const neg of [false, true]) {
      const config = modelConfigFromRecipe({ arch: model, size: 'tiny', allow_neg_eigval: neg });
      // A float-typed field the config no longer has would silently escape the check.
      for (const k of keys) assert.ok(k in config, `config has no '${k}'`);
      const text = configJsonText(config);
      assert.ok(text.endsWith('}\n'));
      checkConfigText(text, type, JSON.parse(JSON.stringify(config)));
    }
  });

  test(`lrnn init --model ${model}: config.json text has float literals and loads back`, () => {
    const dir = path.join(tmp, `init-${model}`);
    const r = lrnn(['init', '--model', model, '--size', 'tiny', '--out', dir]);
    assert.equal(r.status, 0, r.stderr);
    checkConfigText(readFileSync(path.join(dir, 'config.json'), 'utf8'), type);
  });
}

test('lrnn train (tiny Mamba, 2 steps): the checkpoint config.json has float literals', async () => {
  const ds = await prepareTinyDataset(path.join(tmp, 'ds'));
  const out = path.join(tmp, 'runs');
  const r = lrnn(['train', 'tiny', `--out_dir=${out}`, '--model.arch=mamba', '--model.allow_neg_eigval=true', `--data.dir=${ds}`,
    '--data.domains=["prose","more"]', '--data.weights=[1,1]', '--eval.splits=["prose"]', '--eval.batches=1', '--data.seq_len=16',
    '--train.steps=2', '--train.warmup=1', '--checkpoint.every=2']);
  assert.equal(r.status, 0, r.stderr);
  const text = readFileSync(path.join(out, 'tiny', 'checkpoint-2', 'config.json'), 'utf8');
  checkConfigText(text, 'mamba');
  assert.equal(JSON.parse(text).allow_neg_eigval, true);
});
