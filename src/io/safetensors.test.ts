// safetensors container: canonical bytes (re-saving the spec fixtures reproduces them exactly), dtype
// conversions, and a clear error naming file and tensor for every kind of damage.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fixtureDir } from '../testing/fixtures.ts';
import { parseSafetensors, readSafetensors, serializeSafetensors, SafetensorsError } from './safetensors.ts';

const fixtures = ['delta_net-std', 'mamba-neg'] as const;

function bytesOf(tensors: Map<string, { shape: number[]; data: Float32Array }>, meta: Record<string, string> = {}): Buffer {
  return Buffer.concat(serializeSafetensors(tensors, meta));
}

test('re-saving the fixture weights is byte-identical (canonical form)', () => {
  for (const f of fixtures) {
    const file = path.join(fixtureDir(f), 'model.safetensors');
    const orig = readFileSync(file);
    const { tensors, metadata } = readSafetensors(file);
    assert.deepEqual(metadata, { format: 'pt' });
    const m = new Map([...tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }]));
    const again = bytesOf(m);
    assert.equal(again.length, orig.length, `${f}: length`);
    assert.ok(again.equals(orig), `${f}: bytes differ`);
    assert.equal((8 + Number(orig.readBigUInt64LE(0))) % 8, 0, 'data section 8-aligned');
  }
});

test('I64 input ids and F32 scalars of expected.safetensors are read', () => {
  const { tensors } = readSafetensors(path.join(fixtureDir('delta_net-std'), 'expected.safetensors'));
  const ids = tensors.get('input_ids')!;
  assert.equal(ids.dtype, 'I64');
  assert.deepEqual(ids.shape, [2, 70]);
  assert.ok(ids.data instanceof Int32Array);
  assert.ok(ids.data.every((x) => x >= 0 && x < 320));
  const loss = tensors.get('loss')!;
  assert.deepEqual(loss.shape, []);
  assert.ok(loss.data[0]! > 1 && loss.data[0]! < 20);
});

function handMade(entries: Record<string, { dtype: string; shape: number[]; bytes: Buffer }>): Buffer {
  const header: Record<string, unknown> = {};
  let off = 0;
  for (const [k, e] of Object.entries(entries)) {
    header[k] = { dtype: e.dtype, shape: e.shape, data_offsets: [off, off + e.bytes.length] };
    off += e.bytes.length;
  }
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, ...Object.values(entries).map((e) => e.bytes)]);
}

test('F64, F16 and BF16 tensors are converted to float32', () => {
  const f64 = Buffer.alloc(16); f64.writeDoubleLE(1.5, 0); f64.writeDoubleLE(-2.25, 8);
  const f16 = Buffer.alloc(6); f16.writeUInt16LE(0x3c00, 0); f16.writeUInt16LE(0xc000, 2); f16.writeUInt16LE(0x3555, 4); // 1, -2, ≈1/3
  const bf16 = Buffer.alloc(4); bf16.writeUInt16LE(0x3f80, 0); bf16.writeUInt16LE(0xc040, 2); // 1, -3
  const { tensors } = parseSafetensors(handMade({ a: { dtype: 'F64', shape: [2], bytes: f64 }, b: { dtype: 'F16', shape: [3], bytes: f16 }, c: { dtype: 'BF16', shape: [2], bytes: bf16 } }));
  assert.deepEqual([...tensors.get('a')!.data], [1.5, -2.25]);
  const b = [...tensors.get('b')!.data];
  assert.deepEqual(b.slice(0, 2), [1, -2]);
  assert.ok(Math.abs(b[2]! - 1 / 3) < 1e-3);
  assert.deepEqual([...tensors.get('c')!.data], [1, -3]);
});

test('damaged files give errors that name the file and the tensor', () => {
  const good = bytesOf(new Map([['w.weight', { shape: [2, 3], data: new Float32Array(6).fill(1) }], ['z', { shape: [4], data: new Float32Array(4) }]]));
  const expectErr = (buf: Uint8Array, re: RegExp) => assert.throws(() => parseSafetensors(buf, 'my.safetensors'), (e: Error) => {
    assert.ok(e instanceof SafetensorsError, `wrong error type ${e.name}`);
    assert.match(e.message, /^my\.safetensors: /);
    assert.match(e.message, re);
    return true;
  });
  expectErr(good.subarray(0, 5), /truncated/);
  expectErr(good.subarray(0, good.length - 4), /tensor 'z'.*truncated/);
  expectErr(good.subarray(0, 30), /truncated: header length/);
  const bigLen = Buffer.from(good); bigLen.writeBigUInt64LE(1n << 40n, 0);
  expectErr(bigLen, /header length .* exceeds/);
  const notJson = Buffer.from(good); notJson[20] = 0x7b; notJson[21] = 0x7b; // '{{' inside the JSON
  expectErr(notJson, /corrupted header: invalid JSON/);
  const noBrace = Buffer.from(good); noBrace[8] = 0x5b; // '['
  expectErr(noBrace, /does not start with/);
  expectErr(Buffer.concat([good, Buffer.alloc(4)]), /4 trailing bytes/);
  const badShape = handMade({ w: { dtype: 'F32', shape: [3], bytes: Buffer.alloc(8) } });
  expectErr(badShape, /tensor 'w': data_offsets span 8 bytes but F32 \[3\] needs 12/);
  const badDtype = handMade({ w: { dtype: 'C64', shape: [1], bytes: Buffer.alloc(8) } });
  expectErr(badDtype, /tensor 'w': unsupported dtype/);
  // A gap: w claims bytes 4..8 only.
  const h = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }));
  const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(h.length));
  expectErr(Buffer.concat([len, h, Buffer.alloc(8)]), /tensor 'w': starts at byte 4, expected 0 \(gap/);
  // A duplicated name (JSON.parse would silently keep the last one).
  const dup = Buffer.from('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}');
  const dl = Buffer.alloc(8); dl.writeBigUInt64LE(BigInt(dup.length));
  expectErr(Buffer.concat([dl, dup, Buffer.alloc(4)]), /duplicated tensor/);
  assert.throws(() => readSafetensors('/nonexistent/x.safetensors'), /\/nonexistent\/x\.safetensors: cannot read \(ENOENT\)/);
});

test('metadata values are strings, format "pt" is always written', () => {
  const buf = bytesOf(new Map([['a', { shape: [1], data: new Float32Array([3]) }]]), { step: '12' });
  const { metadata, tensors } = parseSafetensors(buf);
  assert.deepEqual(metadata, { format: 'pt', step: '12' });
  assert.equal(tensors.get('a')!.data[0], 3);
  const n = Number(buf.readBigUInt64LE(0));
  assert.match(buf.subarray(8, 8 + n).toString(), /^\{"a":\{"dtype":"F32","shape":\[1\],"data_offsets":\[0,4\]\},"__metadata__":\{"format":"pt","step":"12"\}\} *$/);
});
