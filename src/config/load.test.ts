// Recipe loading: every shipped recipe validates; extends, overrides, unknown keys and wrong types.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parse as parseToml } from 'smol-toml';
import { ConfigError, RECIPES_DIR, configToToml, loadConfig, loadResolvedConfig, parseOverrides, validateConfig } from './load.ts';

function tmpRecipe(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lrnn-config-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

const base = `name = "b"\n[model]\narch = "deltanet"\nsize = "tiny"\n[train]\nlr = 1e-3\nsteps = 50\nwarmup = 5\n`;

test('every shipped recipe validates, and the pairs differ only in allow_neg_eigval', () => {
  const names = readdirSync(RECIPES_DIR).filter((f) => f.endsWith('.toml')).map((f) => f.replace(/\.toml$/, ''));
  for (const must of ['tiny', 'default', 'deltanet-small', 'deltanet-small-negeig', 'mamba-small', 'mamba-small-negeig', 'deltanet-340m', 'deltanet-340m-negeig', 'mamba-370m', 'mamba-370m-negeig']) {
    assert.ok(names.includes(must), `recipes/${must}.toml missing`);
  }
  for (const n of names) {
    const { config } = loadConfig(n);
    assert.equal(config.name, n, `recipes/${n}.toml: name should match the file name`);
  }
  for (const [a, b] of [['deltanet-small', 'deltanet-small-negeig'], ['mamba-small', 'mamba-small-negeig'], ['deltanet-340m', 'deltanet-340m-negeig'], ['mamba-370m', 'mamba-370m-negeig']] as const) {
    const ca = loadConfig(a!).config, cb = loadConfig(b!).config;
    assert.equal(ca.model.allow_neg_eigval, false);
    assert.equal(cb.model.allow_neg_eigval, true);
    const strip = (c: typeof ca) => JSON.stringify({ ...c, name: '', model: { ...c.model, allow_neg_eigval: null } });
    assert.equal(strip(ca), strip(cb), `${a} and ${b} differ in more than allow_neg_eigval`);
  }
});

test('extends merges one level deep and the leaf wins; defaults fill the rest', () => {
  const dir = tmpRecipe({ 'b.toml': base, 'c.toml': `extends = "b.toml"\nname = "c"\n[train]\nlr = 5e-4\n` });
  const { config } = loadConfig(path.join(dir, 'c.toml'));
  assert.equal(config.name, 'c');
  assert.equal(config.train.lr, 5e-4);
  assert.equal(config.train.steps, 50); // from the base
  assert.equal(config.model.arch, 'deltanet');
  assert.deepEqual(config.train.betas, [0.9, 0.95]); // schema default
  assert.equal(config.train.schedule, 'cosine');
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.train) && Object.isFrozen(config.train.betas));
});

test('two levels of extends are rejected, naming both files', () => {
  const dir = tmpRecipe({ 'b.toml': base, 'c.toml': `extends = "b.toml"\n`, 'd.toml': `extends = "c.toml"\n` });
  assert.throws(() => loadConfig(path.join(dir, 'd.toml')), /only one level of extends/);
});

test('a recipe without a name is named after its file (not its base)', () => {
  const dir = tmpRecipe({ 'b.toml': base, 'my-variant.toml': `extends = "b.toml"\n[model]\nallow_neg_eigval = true\n` });
  assert.equal(loadConfig(path.join(dir, 'my-variant.toml')).config.name, 'my-variant');
});

test('overrides are typed by the schema and win over the file', () => {
  const dir = tmpRecipe({ 'b.toml': base });
  const { config } = loadConfig(path.join(dir, 'b.toml'), ['--train.lr=2e-4', '--model.allow_neg_eigval=true', '--train.betas=[0.8, 0.9]', '--name=123', '--train.schedule=wsd', '--data.domains=["code"]']);
  assert.equal(config.train.lr, 2e-4);
  assert.equal(config.model.allow_neg_eigval, true);
  assert.deepEqual(config.train.betas, [0.8, 0.9]);
  assert.equal(config.name, '123'); // a string field keeps the text, even when it looks like a number
  assert.equal(config.train.schedule, 'wsd');
  assert.deepEqual(config.data.domains, ['code']);
});

test('unknown keys are errors that name the key path', () => {
  const dir = tmpRecipe({ 'x.toml': base + `lr_typo = 3\n`, 'y.toml': `bogus = 1\n` + base });
  assert.throws(() => loadConfig(path.join(dir, 'x.toml')), (e: Error) => e instanceof ConfigError && /train\.lr_typo: unknown key/.test(e.message) && /train has: .*lr/.test(e.message));
  assert.throws(() => loadConfig(path.join(dir, 'y.toml')), /bogus: unknown key/);
  assert.throws(() => parseOverrides(['--train.lrr=1']), (e: Error) => e instanceof ConfigError && /train\.lrr/.test(e.message));
  assert.throws(() => parseOverrides(['--nosection.x=1']), /nosection\.x/);
  assert.throws(() => parseOverrides(['train.lr']), /expected --section\.key=value/);
});

test('wrong types and bad values name the key', () => {
  const dir = tmpRecipe({ 'b.toml': base });
  const f = path.join(dir, 'b.toml');
  assert.throws(() => loadConfig(f, ['--train.lr=fast']), (e: Error) => e instanceof ConfigError && /train\.lr: expected number, received string/.test(e.message));
  assert.throws(() => loadConfig(f, ['--train.steps=2.5']), /train\.steps: .*int/i);
  assert.throws(() => loadConfig(f, ['--train.schedule=linear']), /train\.schedule/);
  assert.throws(() => loadConfig(f, ['--model.arch=transformer']), /model\.arch/);
  assert.throws(() => loadConfig(f, ['--train.betas=[0.9]']), /train\.betas/);
  assert.throws(() => loadConfig(f, ['--data.weights=[1,2]']), /data\.weights: has 2 entries but data\.domains has 3/);
  assert.throws(() => loadConfig(f, ['--train.min_lr=1']), /train\.min_lr/);
  const noModel = tmpRecipe({ 'n.toml': `name = "n"\n` });
  assert.throws(() => loadConfig(path.join(noModel, 'n.toml')), /model: expected object/);
  const badToml = tmpRecipe({ 'bad.toml': `[train\nlr = 1` });
  assert.throws(() => loadConfig(path.join(badToml, 'bad.toml')), /invalid TOML/);
  assert.throws(() => loadConfig('no-such-recipe-xyz'), /recipe 'no-such-recipe-xyz' not found/);
});

test('the resolved config round-trips through TOML', () => {
  const { config } = loadConfig('tiny', ['--train.lr=1e-3']);
  const text = configToToml(config);
  const back = validateConfig(parseToml(text) as Record<string, unknown>);
  assert.deepEqual(back, config);
  const dir = tmpRecipe({ 'config.resolved.toml': text });
  assert.deepEqual(loadResolvedConfig(path.join(dir, 'config.resolved.toml')), config);
});
