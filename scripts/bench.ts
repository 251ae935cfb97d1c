// `npm run bench [-- --only PREFIX[,PREFIX…]] [--list] [--help]`: finds every src/**/*.bench.ts, runs the
// selected benches (--list: prints their names) and prints JSON lines on stdout (progress and errors go to
// stderr). Exit 1 if any bench threw, 2 for a bad flag or an --only that matches nothing. --help prints the
// usage and the environment settings the bench files document in their header comments.
// The runner lives outside src/ so that no layer imports it; benches import only src/testing/bench_harness.ts.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend/index.ts';
import type { Bench } from '../src/testing/bench_harness.ts';

const srcDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');

function findBenchFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...findBenchFiles(p));
    else if (e.name.endsWith('.bench.ts')) out.push(p);
  }
  return out.sort();
}

const USAGE = `Usage: npm run bench [-- --only PREFIX[,PREFIX…]] [--list] [--help]

Runs the benchmarks (src/**/*.bench.ts) and prints one JSON object per result on stdout,
{"name": …, "value": N, "unit": …, …details}; progress and errors go to stderr.
  --only PREFIX[,…]  only the benches whose name starts with one of the prefixes (e.g. --only matmul,data.)
  --list             print the names of the (selected) benches instead of running them
  --help             this text
The backend is chosen as for lrnn (LRNN_BACKEND, LRNN_BLAS_THREADS; see README).
Exit codes: 0 done, 1 a bench threw, 2 a bad flag or an --only that matches nothing.`;

/**
 * The environment settings a bench file documents in its header comment: a line naming an LRNN_* variable
 * indented under '//', with its deeper-indented continuation lines (see src/data/prepare.bench.ts).
 */
function envSettings(file: string): string[] {
  const out: string[] = [];
  let indent = -1;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('//')) break;
    const text = line.slice(2);
    const lead = text.length - text.trimStart().length;
    if (/^\s{2,}LRNN_[A-Z0-9_]+/.test(text)) {
      indent = lead;
      out.push(text);
    } else if (indent >= 0 && lead > indent + 2 && text.trim()) out.push(text);
    else indent = -1;
  }
  return out;
}

let values: { only?: string; list?: boolean; help?: boolean };
try {
  ({ values } = parseArgs({ options: { only: { type: 'string' }, list: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }));
} catch (err) {
  console.error(`bench: ${(err as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  const env = findBenchFiles(srcDir).map((f) => [path.relative(path.dirname(srcDir), f), envSettings(f)] as const).filter(([, lines]) => lines.length);
  console.log(USAGE);
  if (env.length) {
    console.log('\nSettings the benches read from the environment:');
    for (const [file, lines] of env) console.log(`${file}:\n${lines.join('\n')}`);
  }
  process.exit(0);
}
const prefixes = values.only ? values.only.split(',').filter(Boolean) : [];
await initBackend();
const benches: Bench[] = [];
for (const f of findBenchFiles(srcDir)) {
  const mod = (await import(pathToFileURL(f).href)) as { benches?: Bench[] };
  benches.push(...(mod.benches ?? []));
}
const selected = benches.filter((b) => prefixes.length === 0 || prefixes.some((p) => b.name.startsWith(p)));
if (values.list) {
  for (const b of selected) console.log(b.name);
  process.exit(0);
}
if (selected.length === 0) {
  console.error(`bench: nothing matches --only ${values.only}; known: ${benches.map((b) => b.name).join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const b of selected) {
  process.stderr.write(`bench: ${b.name} …\n`);
  try {
    const r = await b.run();
    for (const x of Array.isArray(r) ? r : [r]) console.log(JSON.stringify(x));
  } catch (err) {
    failed++;
    console.error(`bench: ${b.name} failed: ${(err as Error).stack}`);
  }
}
process.exit(failed ? 1 : 0);
