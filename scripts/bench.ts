// `npm run bench [-- --only PREFIX[,PREFIX…]] [--list]`: finds every src/**/*.bench.ts, runs the selected
// benches (--list: prints their names) and prints JSON lines on stdout (progress and errors go to stderr).
// Exit 1 if any bench threw.
// The runner lives outside src/ so that no layer imports it; benches import only src/testing/bench_harness.ts.
import { readdirSync } from 'node:fs';
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

const { values } = parseArgs({ options: { only: { type: 'string' }, list: { type: 'boolean' } } });
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
