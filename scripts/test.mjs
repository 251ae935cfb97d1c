#!/usr/bin/env node
// `npm test`: type-checks, then runs every src/**/*.test.ts with Node's built-in test runner through tsx.
// Extra arguments are test-file filters: `npm test -- delta_rule` runs the files whose path contains it.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const filters = process.argv.slice(2);

function find(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...find(p));
    else if (e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

if (!process.env.LRNN_SKIP_TYPECHECK && filters.length === 0) {
  const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--noEmit'], { cwd: root, stdio: 'inherit' });
  if (tsc.status !== 0) {
    console.error('npm test: type check failed');
    process.exit(tsc.status ?? 1);
  }
}
const files = find(path.join(root, 'src')).filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort();
if (files.length === 0) {
  console.error(`npm test: no test files match ${filters.join(' ')}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
  // One process per lrnn train unless a test asks for ranks (--procs): the suite runs two files at a time.
  env: { LRNN_PROCS: '1', ...process.env, LRNN_TEST: '1' },
});
process.exit(r.status ?? 1);
