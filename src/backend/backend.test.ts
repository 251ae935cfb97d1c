// Backend selection: the requested backend is really the active one (TF.js silently falls back when a
// backend fails to start), the wasm backend gets the gradient kernels training needs, and the cpu
// backend stays usable without the addon.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import { backendReport, initBackend } from './index.ts';

test('auto picks lrnn when the addon is built, and the report says so', async () => {
  const name = await initBackend();
  assert.equal(name, 'lrnn');
  assert.equal(tf.getBackend(), 'lrnn');
  const r = await backendReport();
  assert.equal(r.addon.loaded, true);
  assert.match(r.blas!.config, /OpenBLAS/);
  assert.equal(r.blas!.threads, 1, 'one BLAS thread per process by default');
  assert.ok(r.nativeKernels.includes('BatchMatMul'));
});

test('wasm backend: embedding (gather) gradient works through the added UnsortedSegmentSum kernel', async () => {
  const name = await initBackend({ backend: 'wasm' });
  assert.equal(name, 'wasm');
  const table = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
  const ids = tf.tensor1d([2, 0, 2], 'int32');
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.gather(t, ids)))(table);
  assert.deepEqual(Array.from(g.dataSync()), [1, 1, 0, 0, 2, 2]);
  await initBackend({ backend: 'lrnn' });
  assert.equal(tf.getBackend(), 'lrnn');
});

test('without the addon: stock cpu with one clear warning; asking for lrnn explicitly is an error', () => {
  const script = `
    import { initBackend } from './src/backend/index.ts';
    const warnings = [];
    const name = await initBackend({ warn: (m) => warnings.push(m) });
    let err = '';
    try { await initBackend({ backend: 'lrnn' }); } catch (e) { err = e.message; }
    console.log(JSON.stringify({ name, warnings, err }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8', env: { ...process.env, LRNN_NO_NATIVE: '1' },
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(out.name, 'cpu');
  assert.equal(out.warnings.length, 1);
  assert.match(out.warnings[0], /native addon unavailable.*LRNN_NO_NATIVE/);
  assert.match(out.err, /backend lrnn requested but the native addon is unavailable/);
});

test('lrnn doctor: table, --json, and exit code 2 on a bad flag', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, ['bin/lrnn.js', 'doctor', ...args], { encoding: 'utf8' });
  const table = run();
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /backend\s+lrnn/);
  assert.match(table.stdout, /BLAS threads\s+1/);
  const json = run('--json');
  assert.equal(json.status, 0);
  assert.equal(JSON.parse(json.stdout).backend, 'lrnn');
  const bad = run('--backend', 'nonsense');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--backend: unknown backend 'nonsense'/);
  assert.equal(bad.stderr.trim().split('\n').length, 1, 'one-line message');
});

test('OpenBLAS core: AVX-512 kernels even when the environment pins Haswell; LRNN_OPENBLAS_CORETYPE=keep respects the pin', async () => {
  const { cpuFlags } = await import('./native.ts');
  const doctor = (env: Record<string, string>) => {
    const r = spawnSync(process.execPath, ['bin/lrnn.js', 'doctor', '--json'], { encoding: 'utf8', env: { ...process.env, ...env } });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout).blas.coreName as string;
  };
  const kept = doctor({ OPENBLAS_CORETYPE: 'Haswell', LRNN_OPENBLAS_CORETYPE: 'keep' });
  assert.equal(kept, 'Haswell');
  const chosen = doctor({ OPENBLAS_CORETYPE: 'Haswell' });
  if (cpuFlags().has('avx512f') && cpuFlags().has('avx512bw')) assert.match(chosen, /SkylakeX|Cooperlake/);
  else assert.equal(chosen, 'Haswell', 'never an AVX-512 core on a CPU without AVX-512');
});

test('LRNN_BLAS_THREADS overrides the one-thread default', () => {
  const r = spawnSync(process.execPath, ['bin/lrnn.js', 'doctor', '--json'], { encoding: 'utf8', env: { ...process.env, LRNN_BLAS_THREADS: '2' } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).blas.threads, 2);
});
