// Production code makes its AdamW in one place, the step engine (src/train/step.ts), which `lrnn train` and
// `lrnn task train` both run: a second construction would be a second optimizer path that a fix to the
// first (resume, data parallelism, the no-decay set) does not reach. Tests and benches may build their own.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const src = path.resolve(import.meta.dirname, '..');

function productionFiles(dir = src, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) productionFiles(p, out);
    else if (/\.(ts|mts|js|mjs)$/.test(e.name) && !/\.(test|bench)\.[mc]?[tj]s$/.test(e.name)) out.push(p);
  }
  return out;
}

/** `new AdamW(…)` sites in a source text (comments dropped; an import under another name counts too). */
function adamwConstructions(text: string): number {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  const names = ['AdamW', ...[...code.matchAll(/\bAdamW\s+as\s+([A-Za-z_$][\w$]*)/g)].map((m) => m[1]!)];
  return names.reduce((n, name) => n + [...code.matchAll(new RegExp(`\\bnew\\s+${name.replace(/\$/g, '\\$')}\\s*[(<]`, 'g'))].length, 0);
}

test('the scan finds constructions, under another name too, and skips comments', () => {
  assert.equal(adamwConstructions('const a = new AdamW(p, o);\nconst b = new  AdamW<X>(q, o);'), 2);
  assert.equal(adamwConstructions("import { AdamW as Opt } from './adamw.ts';\nconst a = new Opt(p, o);"), 1);
  assert.equal(adamwConstructions('// new AdamW(p, o)\n/* new AdamW(p, o) */\nAdamW.prototype; isAdamW(x); new AdamWish(1);'), 0);
});

test('production code (src/, not tests or benches) constructs AdamW in exactly one place: the step engine', () => {
  const files = productionFiles();
  assert.ok(files.length > 50 && files.includes(path.join(src, 'train', 'step.ts')), `the scan sees src/ (${files.length} files)`);
  const sites = files.flatMap((f) => Array(adamwConstructions(readFileSync(f, 'utf8'))).fill(path.relative(src, f)));
  assert.deepEqual(sites, [path.join('train', 'step.ts')], `AdamW is constructed in: ${sites.join(', ') || 'no production file'}`);
});
