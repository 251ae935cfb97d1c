// The layering of src/ (README "Layout"): imports between its folders flow one way, and product code never
// reaches into tests, benches or test support (src/testing, and fixtures/ folders such as data/fixtures).
// Imports are read with TypeScript's own pre-processor: static imports, `import type`, `export … from` and
// dynamic `import('…')` with a literal path all count; comments and strings do not. A folder is the first
// path segment under src/ (kernels/delta_rule/x.ts is in kernels).
//
// The folder graph is built from every module a product module or a bench can load: the product modules, the
// *.bench.ts files (they live beside what they measure, so they count for their folder) and the test-support
// modules those import (the bench harness and its helpers must not pull a low folder up through testing/).
// Test files are left out: nothing imports a test, so a test sits above every folder and may use any of them
// (an end-to-end test in tokenizer/ may prepare data), and so is test support only tests use (testing/cli.ts
// drives the whole CLI).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const srcDir = path.resolve(import.meta.dirname, '..');

type Kind = 'test' | 'bench' | 'testing' | 'product';

/** What a module is, from its path relative to src/. */
function kindOf(rel: string): Kind {
  if (rel.endsWith('.test.ts')) return 'test';
  if (rel.endsWith('.bench.ts')) return 'bench';
  if (rel.startsWith('testing/') || rel.includes('/fixtures/')) return 'testing';
  return 'product';
}

/** The folder a module belongs to: its first path segment under src/ ('.' for src/index.ts). */
const folderOf = (rel: string) => (rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : '.');

/** module (relative to src/) → the src modules it imports. */
type ImportGraph = Map<string, string[]>;

function sourceFiles(dir = srcDir, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sourceFiles(p, out);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(path.relative(srcDir, p).split(path.sep).join('/'));
  }
  return out.sort();
}

/** Every src/**\/*.ts module and the .ts modules it imports by relative path; throws on one that is not there. */
function readGraph(): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const rel of sourceFiles()) {
    const targets: string[] = [];
    for (const { fileName } of ts.preProcessFile(readFileSync(path.join(srcDir, rel), 'utf8'), true, true).importedFiles) {
      if (!fileName.startsWith('.')) continue; // packages and node: builtins
      const abs = path.resolve(srcDir, path.dirname(rel), fileName);
      if (!existsSync(abs)) throw new Error(`src/${rel} imports '${fileName}', which does not exist`);
      const target = path.relative(srcDir, abs).split(path.sep).join('/');
      if (target.endsWith('.ts') && !target.startsWith('..')) targets.push(target);
    }
    graph.set(rel, targets);
  }
  return graph;
}

/** Product and bench modules and the src/testing modules they reach: what the folder graph is made of. */
function layeredModules(graph: ImportGraph): Set<string> {
  const seen = new Set<string>();
  const stack = [...graph.keys()].filter((m) => kindOf(m) === 'product' || kindOf(m) === 'bench');
  while (stack.length) {
    const m = stack.pop()!;
    if (seen.has(m)) continue;
    seen.add(m);
    for (const t of graph.get(m) ?? []) if (kindOf(t) !== 'test') stack.push(t);
  }
  return seen;
}

/**
 * The import cycles between folders: each strongly connected set of two or more folders (Tarjan), with the
 * imports that tie it together ('a/x.ts -> b/y.ts'), from the modules in `include`.
 */
function folderCycles(graph: ImportGraph, include: Set<string>): { folders: string[]; imports: string[] }[] {
  const edges = new Map<string, Map<string, string[]>>(); // from folder → to folder → imports
  for (const m of include) {
    for (const t of graph.get(m) ?? []) {
      const a = folderOf(m), b = folderOf(t);
      if (a === b || !include.has(t)) continue;
      if (!edges.has(a)) edges.set(a, new Map());
      const to = edges.get(a)!;
      if (!to.has(b)) to.set(b, []);
      to.get(b)!.push(`${m} -> ${t}`);
    }
  }
  const index = new Map<string, number>(), low = new Map<string, number>(), onStack = new Set<string>(), stack: string[] = [];
  const sccs: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) sccs.push(scc.sort());
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return sccs.map((folders) => ({
    folders,
    imports: folders.flatMap((a) => folders.flatMap((b) => edges.get(a)?.get(b) ?? [])),
  }));
}

/** Imports of a test, a bench or a src/testing module by a product module, as 'a.ts -> b.ts'. */
function productImportsOfTestCode(graph: ImportGraph): string[] {
  const bad: string[] = [];
  for (const [m, targets] of graph) {
    if (kindOf(m) !== 'product') continue;
    for (const t of targets) if (kindOf(t) !== 'product') bad.push(`${m} -> ${t}`);
  }
  return bad;
}

const report = (cycles: ReturnType<typeof folderCycles>) =>
  cycles.map((c) => `${c.folders.join(' <-> ')}:\n    ${c.imports.join('\n    ')}`).join('\n  ');

test('no import cycles between the folders of src/ (product modules, benches and the testing helpers they use)', () => {
  const graph = readGraph();
  const include = layeredModules(graph);
  // The scan sees the layers, the benches and the bench harness; a parse that found nothing would pass vacuously.
  for (const m of ['cli/main.ts', 'kernels/delta_rule/index.ts', 'backend/backend.bench.ts', 'testing/bench_harness.ts']) assert.ok(include.has(m), `${m} is in the folder graph`);
  assert.ok((graph.get('cli/main.ts') ?? []).length > 0, 'cli/main.ts has imports');
  const cycles = folderCycles(graph, include);
  assert.deepEqual(cycles, [], `folders that import each other:\n  ${report(cycles)}`);
});

test('no product module imports a test, a bench or test support (src/testing, fixtures/)', () => {
  const graph = readGraph();
  assert.ok([...graph.keys()].some((m) => kindOf(m) === 'test') && [...graph.keys()].some((m) => kindOf(m) === 'testing'));
  const bad = productImportsOfTestCode(graph);
  assert.deepEqual(bad, [], `product code importing test code:\n  ${bad.join('\n  ')}`);
});

test('the layering checks catch a folder cycle, one through a testing helper, and a product import of test code', () => {
  const graph: ImportGraph = new Map([
    ['backend/index.ts', []],
    ['kernels/a.ts', ['backend/index.ts']],
    ['kernels/a.bench.ts', ['kernels/a.ts', 'testing/harness.ts']],
    ['testing/harness.ts', []],
    ['testing/cli.ts', ['cli/main.ts']],
    ['cli/main.ts', ['kernels/a.ts']],
    ['cli/main.test.ts', ['cli/main.ts', 'testing/cli.ts']],
  ]);
  assert.deepEqual(folderCycles(graph, layeredModules(graph)), [], 'the clean graph has no cycle (tests and test-only helpers left out)');
  assert.deepEqual(productImportsOfTestCode(graph), []);

  // A bench importing a higher folder: kernels -> cli -> kernels.
  const benchUp = new Map(graph).set('kernels/a.bench.ts', ['kernels/a.ts', 'cli/main.ts']);
  assert.deepEqual(folderCycles(benchUp, layeredModules(benchUp)), [{ folders: ['cli', 'kernels'], imports: ['cli/main.ts -> kernels/a.ts', 'kernels/a.bench.ts -> cli/main.ts'] }]);
  // The same through a testing helper the bench uses: kernels -> testing -> cli -> kernels.
  const viaTesting = new Map(graph).set('kernels/a.bench.ts', ['testing/cli.ts']);
  assert.deepEqual(folderCycles(viaTesting, layeredModules(viaTesting)).map((c) => c.folders), [['cli', 'kernels', 'testing']]);
  // A low product module importing a high one: backend -> kernels -> backend.
  const up = new Map(graph).set('backend/index.ts', ['kernels/a.ts']);
  assert.deepEqual(folderCycles(up, layeredModules(up)).map((c) => c.folders), [['backend', 'kernels']]);
  // Product code importing a bench, a test helper or a test.
  const leak = new Map(graph).set('cli/main.ts', ['kernels/a.bench.ts', 'testing/harness.ts', 'cli/main.test.ts']);
  assert.deepEqual(productImportsOfTestCode(leak), ['cli/main.ts -> kernels/a.bench.ts', 'cli/main.ts -> testing/harness.ts', 'cli/main.ts -> cli/main.test.ts']);
});
