// `lrnn train --help` names every recipe a bare RECIPE can select (the top-level recipes/*.toml), read when
// the help is printed, so a new recipe file is listed without editing the text.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { listRecipes, RECIPES_DIR } from '../config/load.ts';
import { recipeNamesText, trainCommand } from './train.ts';

/** 'a[-negeig], b' → ['a', 'a-negeig', 'b']. */
const expand = (text: string) => text.split(', ').flatMap((n) => (n.endsWith('[-negeig]') ? [n.slice(0, -9), `${n.slice(0, -9)}-negeig`] : [n]));

test('the train usage lists every recipes/*.toml name', () => {
  const files = readdirSync(RECIPES_DIR).filter((f) => f.endsWith('.toml')).map((f) => f.slice(0, -5)).sort();
  assert.ok(files.includes('lm-stability-deltanet') && files.includes('tiny'), files.join(' '));
  const m = /RECIPE is a file or a name in recipes\/ \(([^)]*)\)\./.exec(trainCommand.usage.replace(/\n/g, ' '));
  assert.ok(m, trainCommand.usage);
  assert.deepEqual(expand(m[1]!).sort(), files);
});

test('recipe names: a -negeig twin folds into its base; subfolders and other files are not recipes', () => {
  assert.equal(recipeNamesText(['a', 'a-negeig', 'b-negeig', 'c']), 'a[-negeig], b-negeig, c');
  const dir = mkdtempSync(path.join(tmpdir(), 'lrnn-recipes-'));
  try {
    mkdirSync(path.join(dir, 'tasks'));
    writeFileSync(path.join(dir, 'tasks', 'parity.toml'), '');
    for (const f of ['z.toml', 'a.toml', 'notes.md']) writeFileSync(path.join(dir, f), '');
    assert.deepEqual(listRecipes(dir), ['a', 'z']);
    assert.deepEqual(listRecipes(path.join(dir, 'absent')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
