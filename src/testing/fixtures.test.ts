// The fixture resolver: the repo's spec/fixtures by default, LRNN_SPEC_FIXTURES when set, and an error that
// names the folder (never a skip) when the folder or one of its files is missing; a test file that needs the
// fixtures then fails, with that message, instead of reporting skips.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { FIXTURE_FILES, FIXTURE_NAMES, fixtureDir, fixturesDir, FixturesMissingError } from './fixtures.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lrnn-fixtures-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('default is <repo>/spec/fixtures, and every fixture file is there', () => {
  assert.equal(fixturesDir({}), path.join(repo, 'spec', 'fixtures'));
  assert.equal(fixtureDir('mamba-neg', {}), path.join(repo, 'spec', 'fixtures', 'mamba-neg'));
  assert.equal(FIXTURE_NAMES.length, 4);
  assert.ok(FIXTURE_FILES.includes('train_expected.safetensors'));
});

test('LRNN_SPEC_FIXTURES overrides the folder', () => {
  const copy = path.join(tmp, 'copy');
  cpSync(path.join(repo, 'spec', 'fixtures'), copy, { recursive: true });
  assert.equal(fixturesDir({ LRNN_SPEC_FIXTURES: copy }), copy);
});

test('a missing folder throws, naming it (no fallback, no skip)', () => {
  const missing = path.join(tmp, 'no-such-folder');
  assert.throws(() => fixturesDir({ LRNN_SPEC_FIXTURES: missing }), (e: unknown) => {
    assert.ok(e instanceof FixturesMissingError);
    assert.match(e.message, new RegExp(`folder ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(LRNN_SPEC_FIXTURES\\) does not exist`));
    return true;
  });
  assert.throws(() => fixtureDir('delta_net-std', { LRNN_SPEC_FIXTURES: missing }), FixturesMissingError);
});

test('an incomplete folder throws, naming the missing file', () => {
  const partial = path.join(tmp, 'partial');
  for (const name of FIXTURE_NAMES) mkdirSync(path.join(partial, name), { recursive: true });
  cpSync(path.join(repo, 'spec', 'fixtures', 'delta_net-std'), path.join(partial, 'delta_net-std'), { recursive: true });
  assert.throws(() => fixturesDir({ LRNN_SPEC_FIXTURES: partial }), /is incomplete: delta_net-neg[/\\]config\.json is missing/);
});

test('a test file that needs the fixtures fails (does not skip) when they are missing', () => {
  const missing = path.join(tmp, 'gone');
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', path.join(repo, 'src/io/safetensors.test.ts')], {
    cwd: repo,
    encoding: 'utf8',
    // Without NODE_TEST_CONTEXT: the child must report as a top-level run, not as our subtest.
    env: { ...process.env, NODE_TEST_CONTEXT: undefined, LRNN_SPEC_FIXTURES: missing },
  });
  assert.notEqual(r.status, 0, 'the run must fail');
  assert.match(r.stdout, /^# skipped 0$/m, r.stdout);
  const failed = Number(/^# fail (\d+)$/m.exec(r.stdout)?.[1]);
  assert.ok(failed >= 2, `expected the fixture tests to fail, got '# fail ${failed}'\n${r.stdout}`);
  assert.ok(r.stdout.includes(`conformance fixtures folder ${missing}`), 'the failure names the folder');
});
