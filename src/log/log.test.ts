// Logger sinks and their colour decision (NO_COLOR / FORCE_COLOR / TTY, and what a launcher passes to its
// ranks), the metrics.jsonl writer (crash safety, resume truncation, non-finite values) and the progress bar
// (TTY only, throttled, print() around the bar).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { colorEnv, createLogger, wantColor } from './logger.ts';
import { MetricsWriter, readMetrics, toJsonLine, withoutPerf, type StepRecord } from './metrics.ts';
import { ProgressBar, formatDuration } from './progress.ts';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'lrnn-log-'));

function stepRec(step: number, loss: number | null = 1 / step): StepRecord {
  return {
    kind: 'step', step, tokens_seen: step * 128, loss, lr: 1e-3, grad_norm: 0.5, grad_norm_groups: { 'layers.0': 0.5 }, clipped: false,
    update_ratio: 1e-3, skipped: false, nonfinite_count: 0, loss_z: null, spike: false, spike_count: 0, eig: [],
    perf: { tokens_per_s: 1000 + Math.random(), step_s: 0.1, data_wait_s: 0, elapsed_s: step, rss_mb: 100, peak_rss_mb: 100 },
  };
}

test('logger writes JSON lines to the file and readable lines to the terminal sink; children carry component', () => {
  const dir = tmp();
  const lines: string[] = [];
  const { log, flush } = createLogger({ file: path.join(dir, 'sub', 'train.log'), terminal: (l) => lines.push(l), colorize: false, base: { run: 'x' } });
  const child = log.child({ component: 'trainer' });
  child.info({ step: 3, loss: 2.5 }, 'step');
  child.debug('hidden at info');
  log.warn('careful');
  flush();
  const json = readFileSync(path.join(dir, 'sub', 'train.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(json.length, 2);
  assert.equal(json[0].component, 'trainer');
  assert.equal(json[0].step, 3);
  assert.equal(json[0].msg, 'step');
  assert.equal(json[0].run, 'x');
  assert.equal(json[1].level, 40);
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /INFO.*step/);
  assert.match(lines[0]!, /"component":"trainer"/);
  assert.doesNotMatch(lines[0]!, /^\{/); // readable, not JSON
});

test('colour: NO_COLOR wins, FORCE_COLOR forces (0/false off), else the TTY; a launcher hands its answer down', () => {
  assert.equal(wantColor({}, true), true);
  assert.equal(wantColor({}, false), false);
  assert.equal(wantColor({ NO_COLOR: '' }, true), false, 'NO_COLOR set at all (colorette)');
  assert.equal(wantColor({ NO_COLOR: '1', FORCE_COLOR: '1' }, true), false);
  assert.equal(wantColor({ FORCE_COLOR: '1' }, false), true);
  assert.equal(wantColor({ FORCE_COLOR: '' }, false), true);
  assert.equal(wantColor({ FORCE_COLOR: '0' }, true), false);
  assert.equal(wantColor({ FORCE_COLOR: 'false' }, true), false);
  // A launcher whose stdout is a file (npm start > log) tells its ranks, whose stdout is a pty, not to colour;
  // on a terminal it tells them to; the user's own NO_COLOR is passed on.
  for (const [env, tty] of [[{}, false], [{}, true], [{ NO_COLOR: '1' }, true], [{ FORCE_COLOR: '0' }, true], [{ FORCE_COLOR: '1' }, false]] as const) {
    const down = colorEnv(env, tty);
    assert.equal(Object.keys(down).length, 1);
    assert.equal(wantColor(down, true), wantColor(env, tty), `${JSON.stringify(env)} tty=${tty}`);
    assert.equal(wantColor(down, false), wantColor(env, tty), `${JSON.stringify(env)} tty=${tty}`);
  }
  const lines: string[] = [];
  const saved = { NO_COLOR: process.env.NO_COLOR, FORCE_COLOR: process.env.FORCE_COLOR };
  try {
    delete process.env.NO_COLOR;
    process.env.FORCE_COLOR = '1';
    createLogger({ terminal: (l) => lines.push(l) }).log.info('coloured');
    delete process.env.FORCE_COLOR;
    process.env.NO_COLOR = '1';
    createLogger({ terminal: (l) => lines.push(l) }).log.info('plain');
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
  assert.match(lines[0]!, /\x1b\[/, 'FORCE_COLOR: ANSI colour codes');
  assert.doesNotMatch(lines[1]!, /\x1b/, 'NO_COLOR: plain text');
});

test('metrics: one line per record, non-finite numbers as null, a fresh run refuses an existing file', () => {
  const file = path.join(tmp(), 'metrics.jsonl');
  const w = new MetricsWriter(file);
  w.write(stepRec(1));
  w.write({ ...stepRec(2, NaN), skipped: true, grad_norm: Infinity });
  // Written synchronously: the file has both lines before close.
  assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 2);
  w.close();
  const r = readMetrics(file) as StepRecord[];
  assert.equal(r[1]!.loss, null);
  assert.equal(r[1]!.grad_norm, null);
  assert.throws(() => new MetricsWriter(file), /already exists/);
});

test('metrics: lines survive a crash (process.exit right after write) and a torn last line is ignored', () => {
  const file = path.join(tmp(), 'metrics.jsonl');
  const script = `import { MetricsWriter } from ${JSON.stringify(path.resolve('src/log/metrics.ts'))};
    const w = new MetricsWriter(${JSON.stringify(file)});
    for (let s = 1; s <= 5; ++s) w.write({ kind: 'step', step: s, loss: 1 });
    process.exit(3);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 3, r.stderr);
  appendFileSync(file, '{"kind":"step","st'); // torn by a kill mid-write
  assert.deepEqual(readMetrics(file).map((x) => x.step), [1, 2, 3, 4, 5]);
});

test('metrics: resuming drops records after the resumed step', () => {
  const file = path.join(tmp(), 'metrics.jsonl');
  const w = new MetricsWriter(file);
  for (let s = 1; s <= 20; ++s) w.write(stepRec(s));
  w.write({ kind: 'eval', step: 20, tokens_seen: 0, splits: {}, mean_loss: 1, perf: { eval_s: 1 } });
  w.close();
  const w2 = new MetricsWriter(file, { resumeStep: 15 });
  w2.write(stepRec(16));
  w2.close();
  assert.deepEqual(readMetrics(file).map((x) => `${x.kind}${x.step}`), [...Array.from({ length: 16 }, (_, i) => `step${i + 1}`)]);
  assert.equal(toJsonLine(withoutPerf(stepRec(3))), toJsonLine(withoutPerf(stepRec(3)))); // perf aside, deterministic
});

test('progress bar: off when the stream is not a TTY; throttled; print() clears and redraws', () => {
  let t = 0;
  const err: string[] = [], out: string[] = [];
  const off = new ProgressBar({ total: 10, stream: { write: (s: string) => err.push(s), isTTY: false }, out: { write: (s: string) => out.push(s) } });
  off.update({ step: 1 });
  off.print('line\n');
  off.done();
  assert.equal(off.enabled, false);
  assert.equal(err.length, 0);
  assert.equal(out.join(''), 'line\n');

  const bar = new ProgressBar({ total: 10, stream: { write: (s: string) => err.push(s), isTTY: true, columns: 200 }, out: { write: (s: string) => out.push(s) }, now: () => t, minIntervalMs: 100 });
  t = 1000;
  bar.update({ step: 1, loss: 3.21, tokensPerSec: 2048 });
  t = 1050;
  bar.update({ step: 2 }); // throttled
  assert.equal(err.length, 1);
  assert.match(err[0]!, /step 1\/10 .*10%.*loss 3\.2100.*2\.0k tok\/s.*eta 9s/);
  bar.print('hello\n');
  assert.deepEqual(err.slice(1), ['\r\x1b[2K', err[0]!.slice('\r\x1b[2K'.length)]);
  t = 2000;
  bar.update({ step: 10 });
  bar.done();
  assert.match(err.at(-2)!, /step 10\/10 .*100%/);
  assert.equal(err.at(-1), '\n');
  assert.equal(formatDuration(3725), '1h02m');
  assert.equal(formatDuration(65), '1m05s');
});
