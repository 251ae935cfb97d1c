#!/usr/bin/env node
// Builds the native addon (build/Release/lrnn.node) with node-gyp against the local Node headers and
// Debian's OpenBLAS (and Open MPI when mpicc is found). Never downloads anything. package.json's explicit
// `install` script runs it with `--if-missing`: that skips an existing build and turns a failed build into a
// warning, because lrnn still runs (slowly) on stock TF.js without it. The explicit script also stops npm
// from running its default `node-gyp rebuild` for a package with a binding.gyp, which would build without
// our BLAS / MPI settings.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const ifMissing = process.argv.includes('--if-missing');
const out = path.join(root, 'build', 'Release', 'lrnn.node');
const require = createRequire(import.meta.url);

function fail(msg) {
  if (ifMissing) {
    console.warn(`lrnn: native addon not built (${msg}); lrnn will run on stock TF.js, much slower. ` +
      'Fix the cause, then run `npm run build:native`.');
    process.exit(0);
  }
  console.error(`lrnn: native addon build failed: ${msg}`);
  process.exit(1);
}

if (ifMissing && existsSync(out) && !process.env.LRNN_REBUILD) process.exit(0);
if (process.env.LRNN_SKIP_NATIVE) fail('LRNN_SKIP_NATIVE is set');

// Node's own headers ship with the binary's prefix; pointing node-gyp there avoids its header download.
const nodedir = path.resolve(path.dirname(process.execPath), '..');
if (!existsSync(path.join(nodedir, 'include', 'node', 'node_api.h'))) {
  fail(`no Node headers under ${nodedir}/include/node (install Node with its headers)`);
}

// OpenBLAS: Debian's libopenblas-dev puts cblas.h under a multiarch variant folder.
const candidates = [
  process.env.LRNN_BLAS_INCLUDE,
  '/usr/include/x86_64-linux-gnu/openblas-pthread',
  '/usr/include/aarch64-linux-gnu/openblas-pthread',
  '/usr/include/openblas',
  '/usr/include',
].filter(Boolean);
const blasInclude = candidates.find((d) => existsSync(path.join(d, 'cblas.h')) && hasOpenblasLib());
if (!blasInclude) fail('OpenBLAS not found: apt-get install -y libopenblas-dev');

function hasOpenblasLib() {
  for (const d of ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib', '/usr/local/lib']) {
    if (existsSync(d) && readdirSync(d).some((f) => f.startsWith('libopenblas.so'))) return true;
  }
  return false;
}

// MPI is optional (data-parallel training); found through the compiler wrapper's flags.
const vars = [`-Dlrnn_blas_include=${blasInclude}`];
if (!process.env.LRNN_NO_MPI) {
  const show = (flag) => spawnSync('mpicc', [flag], { encoding: 'utf8' });
  const c = show('--showme:compile');
  const l = show('--showme:link');
  if (c.status === 0 && l.status === 0) {
    vars.push('-Dlrnn_mpi=1', `-Dlrnn_mpi_cflags=${c.stdout.trim()}`, `-Dlrnn_mpi_libs=${l.stdout.trim()}`);
  }
}

const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const jobs = String(Math.max(1, Math.min(2, (await import('node:os')).cpus().length)));
// configure + build (not rebuild): incremental, and it never deletes a loaded lrnn.node from under another
// process. flock serialises concurrent builds of the same checkout.
const gypArgs = (verb) => [gyp, verb, `--nodedir=${nodedir}`, ...(verb === 'build' ? [`--jobs=${jobs}`] : ['--', ...vars])];
const hasFlock = spawnSync('flock', ['--version']).status === 0;
for (const verb of ['configure', 'build']) {
  const cmd = hasFlock ? 'flock' : process.execPath;
  const args = hasFlock ? [path.join(root, 'binding.gyp'), process.execPath, ...gypArgs(verb)] : gypArgs(verb);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) fail(`node-gyp ${verb} exited with ${r.status}`);
}
if (!existsSync(out)) fail(`node-gyp finished but ${out} is missing`);
console.log(`lrnn: built ${path.relative(root, out)}`);
