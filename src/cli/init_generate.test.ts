// `lrnn init` and `lrnn generate` end to end (in-process): init writes a loadable checkpoint with the
// tokenizer's vocabulary and the flag in config.json; generate is reproducible for a seed, greedy with
// temperature 0, and streams the same text it reports in --json; bad input exits 2 naming the flag.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fixtureDir } from '../testing/fixtures.ts';
import { main } from './main.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'lrnn-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const w = process.stdout.write.bind(process.stdout), e = process.stderr.write.bind(process.stderr);
  const log = console.log, error = console.error;
  // Only strings are ours: the test runner reports to its parent through stdout with binary chunks.
  process.stdout.write = ((s: string | Uint8Array, ...rest: never[]) => (typeof s === 'string' ? ((out += s), true) : w(s, ...rest))) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array, ...rest: never[]) => (typeof s === 'string' ? ((err += s), true) : e(s, ...rest))) as typeof process.stderr.write;
  console.log = (...a: unknown[]) => { out += a.join(' ') + '\n'; };
  console.error = (...a: unknown[]) => { err += a.join(' ') + '\n'; };
  try {
    return { code: await main(argv), out, err };
  } finally {
    process.stdout.write = w; process.stderr.write = e; console.log = log; console.error = error;
  }
}

for (const model of ['deltanet', 'mamba']) {
  test(`lrnn init + generate (${model})`, async () => {
    const dir = path.join(tmp, model);
    const tok = path.join(fixtureDir('mamba-std'), 'tokenizer.json');
    const init = await run(['init', '--model', model, '--size', 'tiny', '--allow-neg-eigval', '--tokenizer', tok, '--seed', '5', '--out', dir, '--json']);
    assert.equal(init.code, 0, init.err);
    const summary = JSON.parse(init.out);
    assert.equal(summary.vocab_size, 320);
    const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    assert.equal(cfg.allow_neg_eigval, true);
    assert.equal(cfg.vocab_size, 320);
    assert.equal(cfg.eos_token_id, 319);
    assert.equal(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'), readFileSync(tok, 'utf8'));
    const gen = (extra: string[]) => run(['generate', '--checkpoint', dir, '--prompt', 'Hello world', '--max-new-tokens', '8', '--no-stop', ...extra]);
    const a = await gen(['--seed', '3', '--top-k', '50', '--json']);
    assert.equal(a.code, 0, a.err);
    const ja = JSON.parse(a.out);
    assert.equal(ja.ids.length, 8);
    assert.deepEqual(JSON.parse((await gen(['--seed', '3', '--top-k', '50', '--json'])).out).ids, ja.ids, 'same seed, same ids');
    const g1 = JSON.parse((await gen(['--temperature', '0', '--seed', '1', '--json'])).out);
    const g2 = JSON.parse((await gen(['--temperature', '0', '--seed', '2', '--json'])).out);
    assert.deepEqual(g1.ids, g2.ids, 'greedy ignores the seed');
    const streamed = await gen(['--temperature', '0']);
    assert.equal(streamed.code, 0, streamed.err);
    assert.ok(streamed.out.startsWith('Hello world'), streamed.out);
    assert.ok(streamed.out.length > 'Hello world'.length + 1, 'streamed some text');
  });
}

test('bad flags exit 2 naming the flag', async () => {
  const r1 = await run(['init', '--model', 'lstm', '--out', path.join(tmp, 'x')]);
  assert.equal(r1.code, 2);
  assert.match(r1.err, /--model: expected deltanet or mamba/);
  const r2 = await run(['init', '--model', 'mamba', '--size', 'huge', '--out', path.join(tmp, 'x')]);
  assert.equal(r2.code, 2);
  assert.match(r2.err, /--size: unknown size 'huge'/);
  const r3 = await run(['generate', '--checkpoint', path.join(tmp, 'nope'), '--prompt', 'a']);
  assert.equal(r3.code, 2);
  assert.match(r3.err, /no config\.json/);
  const r4 = await run(['generate', '--checkpoint', tmp, '--prompt', 'a', '--temperature', '-1']);
  assert.equal(r4.code, 2);
  assert.match(r4.err, /--temperature/);
});
