// scripts/repro-state-tracking.mjs keeps finished runs between invocations; a run recorded under an older recipe
// must leave the report's tables (moved to `superseded`, with the differing fields, so the next run of its task
// trains it again), while runs whose recipe is unchanged are kept, including records from before configs were stored.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { stateTrackingReport } from './repro_report.ts';
import type { RunRecord } from './repro_runs.ts';
import { loadTaskConfig } from './schema.ts';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const script = path.join(root, 'scripts', 'repro-state-tracking.mjs');

function fields(recipe: string, seed: number) {
  const { name: _n, out_dir: _o, ...rest } = loadTaskConfig(recipe, [`--train.seed=${seed}`]).config;
  return rest;
}

function record(recipe: string, seed: number, scaled: number, config?: ReturnType<typeof fields>) {
  const [task, arch] = recipe.split('-');
  const want = fields(recipe, seed);
  return {
    key: `${recipe}-s${seed}`, recipe, task, arch, neg: recipe.endsWith('-negeig'), seed, steps: config?.train.steps ?? want.train.steps,
    batch_size: want.train.batch_size, wall_s: 60, final_train_loss: 0.5, final_loss_mean_of: 50, finished_at: '2026-01-01T00:00:00.000Z',
    test: { accuracy: (scaled + 1) / 2, scaled_accuracy: scaled, examples: 512, min_length: 40, max_length: 256 },
    ...(config ? { config } : {}),
  };
}

function repro(dir: string, extra: string[] = []) {
  const r = spawnSync(process.execPath, [script, '--tasks', 'parity', '--archs', 'deltanet', '--seeds', '0', '--report', path.join(dir, 'st.md'), ...extra], { cwd: root, encoding: 'utf8' });
  return { code: r.status, err: r.stderr };
}

test('repro-state-tracking: a run recorded under an older recipe is superseded, current ones are kept', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lrnn-repro-'));
  try {
    const stale = fields('modular-deltanet', 0);
    const staleSteps = stale.train.steps + 7;
    stale.train = { ...stale.train, steps: staleSteps };
    const runs = {
      'parity-deltanet-s0': record('parity-deltanet', 0, 0.011, fields('parity-deltanet', 0)),
      'parity-deltanet-negeig-s0': record('parity-deltanet-negeig', 0, 0.987, fields('parity-deltanet-negeig', 0)),
      'modular-deltanet-s0': record('modular-deltanet', 0, 0.123, stale),
      // From before configs were recorded, its run folder gone: checked by steps and batch, which match.
      'parity-mamba-s0': record('parity-mamba', 0, 0.021),
    };
    const jsonPath = path.join(dir, 'st.json');
    const original = JSON.stringify({ runs }, null, 2) + '\n';
    writeFileSync(jsonPath, original);

    const dry = repro(dir, ['--dry-run']);
    assert.equal(dry.code, 0, dry.err);
    assert.match(dry.err, new RegExp(`modular-deltanet-s0: superseded \\(recipe changed: train\\.steps \\(run ${staleSteps}, recipe ${staleSteps - 7}\\)\\)`));
    assert.equal(readFileSync(jsonPath, 'utf8'), original, '--dry-run must not rewrite the results');

    const r = repro(dir);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /2 runs selected, 2 already done, 0 to train/);
    const out = JSON.parse(readFileSync(jsonPath, 'utf8'));
    assert.deepEqual(Object.keys(out.runs).sort(), ['parity-deltanet-negeig-s0', 'parity-deltanet-s0', 'parity-mamba-s0']);
    const sup = out.superseded['modular-deltanet-s0@2026-01-01T00:00:00.000Z'];
    assert.equal(sup.test.scaled_accuracy, 0.123);
    assert.match(sup.superseded_because, /train\.steps/);
    const md = readFileSync(path.join(dir, 'st.md'), 'utf8');
    assert.match(md, /\| DeltaNet \[-1,1\] \| 0\.987 \|/);
    assert.match(md, /## Superseded runs[\s\S]*\| modular-deltanet-s0 \| 0 \| \d+ \| \d+ \| 1\.0 min \| 0\.123 \| recipe changed: train\.steps/);
    assert.doesNotMatch(md.split('## Superseded runs')[0]!, /modular-deltanet-s0/);

    // A second pass finds nothing more to supersede.
    const again = repro(dir);
    assert.equal(again.code, 0, again.err);
    assert.doesNotMatch(again.err, /superseded/);

    // Adopting a run that sits in `superseded` (its recipe changed back) takes it out of that list; the run it
    // replaces under the same key moves there instead.
    const runDir = path.join(dir, 'parity-deltanet-s0-old');
    mkdirSync(path.join(runDir, 'final'), { recursive: true });
    const config = { name: 'parity-deltanet-s0-old', out_dir: dir, ...fields('parity-deltanet', 0) };
    writeFileSync(path.join(runDir, 'final', 'task.json'), JSON.stringify({ task: 'parity', config, steps: config.train.steps, wall_s: 90,
      test: { accuracy: 0.52, scaledAccuracy: 0.04, examples: 512, minLength: 40, maxLength: 256 } }));
    writeFileSync(path.join(runDir, 'metrics.jsonl'), `${JSON.stringify({ kind: 'step', step: 1, loss: 0.7 })}\n`);
    const checkpoint = path.relative(root, path.join(runDir, 'final'));
    const withOld = JSON.parse(readFileSync(jsonPath, 'utf8'));
    withOld.superseded['parity-deltanet-s0@2025-01-01T00:00:00.000Z'] = { ...record('parity-deltanet', 0, 0.04), checkpoint, superseded_because: 'replaced' };
    writeFileSync(jsonPath, JSON.stringify(withOld));
    const adopted = repro(dir, ['--dry-run', '--adopt', `parity-deltanet-s0=${runDir}`]);
    assert.equal(adopted.code, 0, adopted.err);
    const after = JSON.parse(readFileSync(jsonPath, 'utf8'));
    assert.equal(after.runs['parity-deltanet-s0'].checkpoint, checkpoint);
    assert.equal(after.runs['parity-deltanet-s0'].test.scaled_accuracy, 0.04);
    assert.deepEqual(Object.keys(after.superseded).sort(), ['modular-deltanet-s0@2026-01-01T00:00:00.000Z', 'parity-deltanet-s0@2026-01-01T00:00:00.000Z']);
    assert.equal(after.superseded['parity-deltanet-s0@2026-01-01T00:00:00.000Z'].test.scaled_accuracy, 0.011);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('state-tracking report: the lab notes file is included as is after the tables; brackets / S5 get their table only when run', () => {
  const notes = readFileSync(path.join(root, 'eval', 'reports', 'state-tracking-notes.md'), 'utf8');
  assert.match(notes, /^## Modular arithmetic: how the budget was chosen\n/);
  const meta = { generated: '2026-01-01 00:00', cpus: 2, cpuModel: 'test CPU', resultsFile: 'st.json', modularRecipe: {}, notes };
  const runs: Record<string, RunRecord> = { 'parity-deltanet-negeig-s0': record('parity-deltanet-negeig', 0, 0.987) as RunRecord };
  const md = stateTrackingReport({ runs }, meta);
  assert.equal(md.split(notes.trimEnd()).length, 2, 'the notes appear once, verbatim');
  assert.ok(md.indexOf('## Every run') < md.indexOf(notes.trimEnd()), 'after the tables');
  assert.match(md, /not run for this report\n\(`--tasks brackets,s5` adds them as a separate table\)\.\n\n## Acceptance checks/);
  runs['s5-mamba-s0'] = { ...record('parity-mamba', 0, 0.5), key: 's5-mamba-s0', recipe: 's5-mamba', task: 's5' } as RunRecord;
  const withS5 = stateTrackingReport({ runs }, meta);
  assert.doesNotMatch(withS5, /not run for this report/);
  assert.match(withS5, /## Other tasks[\s\S]*\| Mamba \[0,1\] \| not run \| not run \| 0\.123 \| 0\.500 \| [\s\S]*## Acceptance checks/);
});
