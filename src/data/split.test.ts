// The document split is a pure function of the document id: stable across runs and orderings, and close to
// the requested fractions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_FRACTIONS, splitOf, stableUnit } from './split.ts';

test('split depends only on the document id and is stable', () => {
  // Pinned values: changing the hash would silently move documents between splits.
  assert.equal(stableUnit('a').toFixed(10), '0.9863384612');
  assert.equal(stableUnit('b').toFixed(10), '0.7603355891');
  const ids = Array.from({ length: 20000 }, (_, i) => `src/file-${i}.ts#${i % 7}`);
  const forward = ids.map((id) => splitOf(id));
  const backward = [...ids].reverse().map((id) => splitOf(id)).reverse();
  assert.deepEqual(forward, backward);
  const count = (s: string) => forward.filter((x) => x === s).length / ids.length;
  assert.ok(Math.abs(count('validation') - DEFAULT_FRACTIONS.validation) < 0.005, `validation fraction ${count('validation')}`);
  assert.ok(Math.abs(count('test') - DEFAULT_FRACTIONS.test) < 0.005, `test fraction ${count('test')}`);
  assert.ok(forward.every((s, i) => s === splitOf(ids[i]!, DEFAULT_FRACTIONS)));
  // A different salt gives a different split.
  assert.notDeepEqual(ids.slice(0, 200).map((id) => splitOf(id, { validation: 0.5, test: 0 }, 'x')), ids.slice(0, 200).map((id) => splitOf(id, { validation: 0.5, test: 0 })));
});
