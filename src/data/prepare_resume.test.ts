// A prepare stopped at any point — interrupted while reading, crashed after some shards (in-process failure
// injected after a given shard), interrupted by the signal option between shards, or killed with SIGKILL as
// a child process — and re-run finishes from what it had done and writes a manifest.json byte for byte equal
// to an uninterrupted run's (so every shard file is the same too: the manifest holds their sha256).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeGoldenCorpus } from './fixtures/prepare_golden.ts';
import { makeDoc } from './fixtures/tiny_corpus.ts';
import { prepareDataset, PrepareInterrupted } from './prepare.ts';
import { prng } from './token_stream.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'lrnn-resume-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const manifestOf = (dir: string) => readFileSync(path.join(dir, 'manifest.json'), 'utf8');

/** Asserts two manifests are byte-identical, showing only the first differing line. */
function sameManifest(a: string, b: string): void {
  if (a === b) return;
  const la = a.split('\n'), lb = b.split('\n');
  const i = la.findIndex((l, k) => l !== lb[k]);
  assert.fail(`manifest.json differs at line ${i + 1}: ${JSON.stringify(la[i])} vs ${JSON.stringify(lb[i])}`);
}

test('interrupted while reading, crashed after 20 shards, stopped by the signal after 2 more: the re-run writes the unbroken manifest', async () => {
  const o = await writeGoldenCorpus(path.join(tmp, 'in'));
  const unbroken = path.join(tmp, 'A');
  await prepareDataset({ ...o, out: unbroken });
  const out = path.join(tmp, 'B');
  const b = { ...o, out, workers: 2 };

  const ac1 = new AbortController();
  await assert.rejects(prepareDataset({ ...b, signal: ac1.signal, onProgress: (p) => p.phase === 'read' && ac1.abort() }), PrepareInterrupted);

  // 'notes' has 14 shard pairs: the crash comes while 'prose' is being written, after 'notes' is complete.
  await assert.rejects(prepareDataset({ ...b, afterShard: (n) => { if (n === 20) throw new Error('injected crash'); } }), /injected crash/);
  const journal = path.join(out, '.prepare', 'prose', 'journal.jsonl');
  assert.ok(existsSync(path.join(out, '.prepare', 'prose', 'spill.json')));
  assert.ok(readFileSync(journal, 'utf8').split('\n').filter(Boolean).length >= 6);
  assert.deepEqual(Object.keys(JSON.parse(manifestOf(out)).domains), ['notes']);

  const ac2 = new AbortController();
  const stopped = prepareDataset({ ...b, signal: ac2.signal, afterShard: (n) => { if (n === 2) ac2.abort(); } });
  await assert.rejects(stopped, PrepareInterrupted);
  const lines = readFileSync(journal, 'utf8').split('\n').filter(Boolean).length;

  const r = await prepareDataset(b);
  assert.deepEqual(r.errors, []);
  assert.equal(r.domains.notes!.status, 'up to date');
  assert.equal(r.pretokenize!.resumed, lines);
  sameManifest(manifestOf(out), manifestOf(unbroken));
  assert.equal(existsSync(path.join(out, '.prepare')), false);
});

test('kill -9 during lrnn prepare, then the same command again: the manifest of an uninterrupted run', { timeout: 180_000 }, async () => {
  const dir = path.join(tmp, 'kill');
  mkdirSync(path.join(dir, 'in'), { recursive: true });
  const r = prng(7);
  const lines = Array.from({ length: 2500 }, (_, i) => JSON.stringify({ id: i, body: makeDoc(r, 50 + Math.floor(r() * 400)) }));
  writeFileSync(path.join(dir, 'in', 'corpus.jsonl'), lines.join('\n') + '\n');
  const o = await writeGoldenCorpus(path.join(dir, 'tok'));
  await prepareDataset({ ...o, domains: [], inputs: [o.inputs![0]!] });
  const tokenizer = path.join(o.out, 'tokenizer.json');
  const args = (out: string) => ['bin/lrnn.js', 'prepare', '--input', `c=${path.join(dir, 'in')}`, '--text-column', 'body', '--out', out, '--tokenizer', tokenizer, '--shard-mb', '0.02', '--workers', '1', '--spill-mb', '0.5', '--json'];
  const run = (out: string) => {
    const p = spawnSync(process.execPath, args(out), { cwd: root, encoding: 'utf8' });
    assert.equal(p.status, 0, p.stderr);
    return JSON.parse(p.stdout) as { pretokenize: { resumed: number; shards: number } };
  };

  const out = path.join(dir, 'killed');
  const journal = path.join(out, '.prepare', 'c', 'journal.jsonl');
  const child = spawn(process.execPath, args(out), { cwd: root, stdio: 'ignore' });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  let killedAt = -1;
  for (let i = 0; i < 6000 && killedAt < 0 && child.exitCode === null; ++i) {
    await new Promise((res) => setTimeout(res, 10));
    const n = existsSync(journal) ? readFileSync(journal, 'utf8').split('\n').filter(Boolean).length : 0;
    if (n >= 5) {
      child.kill('SIGKILL');
      killedAt = n;
    }
  }
  await exited;
  assert.ok(killedAt >= 5, 'the child finished before it could be killed mid-way; make the corpus larger');
  assert.equal(existsSync(path.join(out, 'manifest.json')) && JSON.parse(manifestOf(out)).domains.c !== undefined, false);

  const resumed = run(out);
  assert.ok(resumed.pretokenize.resumed >= killedAt, `${resumed.pretokenize.resumed} shards reused, ${killedAt} were journalled`);
  const unbroken = path.join(dir, 'unbroken');
  const fresh = run(unbroken);
  assert.equal(fresh.pretokenize.resumed, 0);
  assert.equal(resumed.pretokenize.resumed + resumed.pretokenize.shards, fresh.pretokenize.shards);
  sameManifest(manifestOf(out), manifestOf(unbroken));
});
