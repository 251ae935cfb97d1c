// External sort (spill.ts): with a budget far below the data and a small fan-in (several merge passes), the
// merged order equals an in-memory sort by (u, id), every text comes back intact, memory stays within the
// budget, duplicates in different runs are found, and a truncated run is detected.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { makeDoc } from './fixtures/tiny_corpus.ts';
import { compareKeys, DuplicateIdError, RunMerger, runsIntact, Spiller } from './spill.ts';
import { stableUnit, type Split } from './split.ts';
import { prng } from './token_stream.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'lrnn-spill-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function docs(n: number, seed: number) {
  const r = prng(seed);
  return Array.from({ length: n }, (_, i) => {
    const docId = `f${i % 7}/doc-${i}.txt#${i % 3}`;
    // Some empty and some long texts, so run boundaries and buffer refills are exercised.
    const text = i % 50 === 0 ? '' : makeDoc(r, 1 + Math.floor(r() * (i % 13 === 0 ? 2000 : 60)));
    return { u: stableUnit(docId), docId, source: `s${i % 3}`, text: Buffer.from(text) };
  });
}

const splitOf = (u: number): Split => (u < 0.1 ? 'validation' : u < 0.2 ? 'test' : 'train');

test('spilled runs merge to the in-memory order with every text intact, within the memory budget', () => {
  const all = docs(3000, 1);
  const dir = mkdtempSync(path.join(tmp, 'a-'));
  const budget = 20_000;
  const sp = new Spiller(dir, { budgetBytes: budget, fanIn: 3 });
  for (const d of all) sp.add(splitOf(d.u), d);
  const res = sp.finish(['train', 'validation', 'test']);
  const totalBytes = all.reduce((a, d) => a + d.text.length, 0);
  assert.ok(totalBytes > 40 * budget, `corpus ${totalBytes} B is many times the ${budget} B budget`);
  assert.ok(sp.stats.runs > 40, `${sp.stats.runs} runs written`);
  assert.ok(sp.stats.mergePasses >= 2, `${sp.stats.mergePasses} merge passes`);
  const biggest = Math.max(...all.map((d) => d.text.length + 2 * d.docId.length + 160));
  assert.ok(sp.stats.maxBufferedBytes <= budget + biggest, `held ${sp.stats.maxBufferedBytes} B at most`);
  for (const s of ['train', 'validation', 'test'] as const) {
    assert.ok(res[s].runs.length <= 3);
    const want = all.filter((d) => splitOf(d.u) === s).sort((a, b) => compareKeys(a.u, a.docId, b.u, b.docId));
    assert.equal(res[s].rows, want.length);
    assert.equal(res[s].textBytes, want.reduce((a, d) => a + d.text.length, 0));
    const m = new RunMerger(dir, res[s].runs);
    const got: { docId: string; source: string; text: string }[] = [];
    // Read every other text and skip the rest: skipping must keep the text stream aligned.
    for (let d = m.next(), i = 0; d; d = m.next(), ++i) got.push({ docId: d.docId, source: d.source, text: i % 2 ? Buffer.from(d.text()).toString() : '' });
    m.close();
    assert.deepEqual(got, want.map((d, i) => ({ docId: d.docId, source: d.source, text: i % 2 ? d.text.toString() : '' })));
  }
});

test('a duplicate id is found whether it lands in one run or in two', () => {
  for (const budget of [1e9, 500]) {
    const all = docs(400, 2);
    all.splice(300, 0, { ...all[17]!, text: Buffer.from('another text, same id') });
    const dir = mkdtempSync(path.join(tmp, 'dup-'));
    const sp = new Spiller(dir, { budgetBytes: budget, fanIn: 4 });
    assert.throws(() => {
      for (const d of all) sp.add(splitOf(d.u), d);
      sp.finish(['train', 'validation', 'test']);
    }, (e: Error) => e instanceof DuplicateIdError && e.message === `duplicate document id '${all[17]!.docId}'`);
  }
});

test('a truncated run is detected by its recorded size and by the reader', () => {
  const dir = mkdtempSync(path.join(tmp, 'trunc-'));
  const sp = new Spiller(dir, { budgetBytes: 5000 });
  for (const d of docs(200, 3)) sp.add('train', d);
  const runs = sp.finish(['train']).train.runs;
  assert.ok(runsIntact(dir, runs));
  const r = runs[0]!;
  truncateSync(path.join(dir, `${r.name}.text`), r.textBytes - 10);
  assert.equal(runsIntact(dir, runs), false);
  const m = new RunMerger(dir, [r]);
  assert.throws(() => {
    for (let d = m.next(); d; d = m.next()) d.text();
  }, /truncated/);
  m.close();
});
