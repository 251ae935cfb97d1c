// The checkout stands alone: no file names a path of a development machine or a folder beside the repo,
// and the design documents that comments cite by name exist in the repo. (.ci/run also runs the whole
// suite in a copy of the checkout with nothing beside it, which catches relative paths out of the repo at
// run time; this scan catches absolute ones, which that copy cannot.)
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const repo = path.resolve(import.meta.dirname, '../..');
const self = path.relative(repo, import.meta.filename);

// Generated, installed or downloaded folders: not part of the source.
const SKIP_DIRS = new Set(['.git', 'node_modules', 'build', 'dist', 'checkpoints', '.tmp', '__pycache__', '.venv', 'venv']);
const SKIP_PATHS = new Set(['eval/results']);

function sourceFiles(dir = repo, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    const rel = path.relative(repo, p);
    if (e.isDirectory()) {
      // data/ holds prepared corpora (ignored) beside its README.
      if (SKIP_DIRS.has(e.name) || SKIP_PATHS.has(rel) || path.dirname(rel) === 'data') continue;
      sourceFiles(p, out);
    } else if (e.isFile() && rel !== self && statSync(p).size < 4 << 20) {
      out.push(rel);
    }
  }
  return out;
}

const OUTSIDE: [RegExp, string][] = [
  [/\/work\//, 'an absolute path of the development machine'],
  [/(^|[\s`'"(=:])\/(home|root|Users|mnt)\//, 'an absolute home or mount path'],
  [/\.\.\/shared\b/, 'a folder beside the repo'],
  [/\bshared\/(spec|research)\b/, 'a folder beside the repo'],
];
// Design documents that once lived outside the repo: a citation of one must name a file the repo has.
const CITED_DOCS = ['checkpoint-format.md', 'anchors-paper.md', 'backends.md', 'mpi.md', 'data-tokenizer.md'];

test('no file names a path outside the repo, and every cited design document is in the repo', () => {
  const files = sourceFiles();
  assert.ok(files.includes('README.md') && files.some((f) => f.startsWith('src/')), 'the scan sees the sources');
  const present = new Set(files.map((f) => path.basename(f)));
  const problems: string[] = [];
  for (const f of files) {
    const buf = readFileSync(path.join(repo, f));
    if (buf.includes(0)) continue; // binary (safetensors, the addon)
    buf.toString('utf8').split('\n').forEach((line, i) => {
      for (const [re, what] of OUTSIDE) if (re.test(line)) problems.push(`${f}:${i + 1}: ${what}: ${line.trim().slice(0, 120)}`);
      for (const doc of CITED_DOCS) {
        if (line.includes(doc) && !present.has(doc)) problems.push(`${f}:${i + 1}: cites ${doc}, which is not in the repo: ${line.trim().slice(0, 120)}`);
      }
    });
  }
  assert.deepEqual(problems, [], `references outside the repo:\n${problems.join('\n')}`);
});
