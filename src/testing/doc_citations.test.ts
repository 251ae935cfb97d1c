// Citations of the repo's design documents resolve: every `docs/checkpoint-format.md §N` or
// `docs/paper-notes.md §N` in code, READMEs, recipes and the docs themselves names a section that exists
// (a `## N.` / `### N.M` heading, or item M of the numbered list in section N), so renumbering a document
// without updating its citations fails here.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const repo = path.resolve(import.meta.dirname, '../..');
const DOCS = ['checkpoint-format.md', 'paper-notes.md'] as const;

/** Section ids of one markdown document: headings `## 5.` / `### 5.3`, and `N.M` for list item M under `## N.`. */
function sectionIds(markdown: string): Set<string> {
  const ids = new Set<string>();
  let top: string | null = null;
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced) continue;
    const h = /^#{2,4} (\d+(?:\.\d+)*)\.? /.exec(line);
    if (h) {
      ids.add(h[1]!);
      if (line.startsWith('## ')) top = h[1]!;
      continue;
    }
    const item = /^(\d+)\. /.exec(line);
    if (item && top) ids.add(`${top}.${item[1]}`);
  }
  return ids;
}

/** Every (document, section) a line cites: the § numbers after a docs/ file name, up to the next one. */
function citations(line: string): { doc: string; section: string }[] {
  const out: { doc: string; section: string }[] = [];
  const re = /docs\/(checkpoint-format|paper-notes)\.md/g;
  const hits = [...line.matchAll(re)];
  hits.forEach((m, i) => {
    const end = i + 1 < hits.length ? hits[i + 1]!.index : line.length;
    // Skip a markdown link target right after the name, e.g. `[docs/x.md §4](../../docs/x.md)`.
    const tail = line.slice(m.index + m[0].length, end);
    for (const s of tail.matchAll(/§(\d+(?:\.\d+)*)/g)) out.push({ doc: `${m[1]}.md`, section: s[1]! });
  });
  return out;
}

function files(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    const rel = path.relative(repo, p);
    if (e.isDirectory()) {
      if (['node_modules', '.git', 'build', 'checkpoints', '__pycache__'].includes(e.name)) continue;
      if (path.dirname(rel) === 'data' || rel === 'eval/results') continue; // prepared data, run outputs
      files(p, out);
    } else if (/\.(ts|mjs|js|cc|h|md|toml|sh|py)$/.test(e.name) || e.name === 'run') {
      out.push(p);
    }
  }
  return out;
}

test('section ids: headings and numbered items under a top-level section', () => {
  const ids = sectionIds('## 7. Checks\n\n1. a\n2. b\n\n```\n9. not an item\n```\n### 7.3 Sub\n## 8. Next\n');
  assert.deepEqual([...ids].sort(), ['7', '7.1', '7.2', '7.3', '8']);
  assert.deepEqual(citations('see docs/paper-notes.md §4.3, §4.5; and [docs/checkpoint-format.md](x) §8'), [
    { doc: 'paper-notes.md', section: '4.3' },
    { doc: 'paper-notes.md', section: '4.5' },
    { doc: 'checkpoint-format.md', section: '8' },
  ]);
});

test('checkpoint-format.md keeps sections §1–§14, the numbering the code cites', () => {
  const ids = sectionIds(readFileSync(path.join(repo, 'docs', 'checkpoint-format.md'), 'utf8'));
  for (let n = 1; n <= 14; ++n) assert.ok(ids.has(String(n)), `docs/checkpoint-format.md has no section §${n}`);
});

test('every docs/… §N citation in the repo names a section that exists', () => {
  const known = Object.fromEntries(DOCS.map((d) => [d, sectionIds(readFileSync(path.join(repo, 'docs', d), 'utf8'))]));
  const bad: string[] = [];
  let count = 0;
  for (const f of files(repo)) {
    readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
      for (const c of citations(line)) {
        count++;
        if (!known[c.doc]!.has(c.section)) bad.push(`${path.relative(repo, f)}:${i + 1}: docs/${c.doc} has no §${c.section}`);
      }
    });
  }
  // The code cites these documents in ~50 places; a scan that finds few has stopped looking.
  assert.ok(count >= 40, `only ${count} citations found: the scan is broken`);
  assert.deepEqual(bad, [], bad.join('\n'));
});
