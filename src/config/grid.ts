// `lrnn sweep`'s grid: `--grid KEY=V1,V2,…` specs (any recipe key, values typed by the schema as in
// `--section.key=value` overrides), `--seeds 0,1` (a grid on train.seed), their cross product in the order
// given (first axis outermost), a run name per point, and the check of every point against the recipe
// before anything runs. Errors are ConfigError naming the key (the CLI exits 2).
// Test: node scripts/test.mjs src/config/grid
import type { z } from 'zod';
import { ConfigError, loadConfig, parseOverrides, schemaAt } from './load.ts';
import { RunConfigSchema, type RunConfig } from './schema.ts';

export interface GridAxis {
  /** Key path, e.g. 'train.lr'. */
  key: string;
  /** Values as typed on the command line (what the runs' overrides say). */
  texts: string[];
  /** Values typed by the schema (numbers, booleans, strings, arrays). */
  values: unknown[];
}

export interface GridPoint {
  /** The run's name and folder name inside the sweep folder. */
  name: string;
  /** key → typed value, in axis order. */
  overrides: Record<string, unknown>;
  /** `--key=text` arguments, in axis order. */
  args: string[];
}

/** Keys a sweep sets itself: every run is <sweep dir>/<run name>. */
const RESERVED = new Set(['name', 'out_dir']);

/** Splits `a,b,[1,2],"x,y"` at the commas outside brackets, braces and quotes. */
export function splitValues(text: string): string[] {
  const out: string[] = [];
  let depth = 0, quote: string | null = null, cur = '';
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '[' || ch === '{') depth++;
    else if (ch === ']' || ch === '}') depth--;
    else if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += ch;
  }
  out.push(cur.trim());
  return out;
}

/** One `KEY=V1,V2,…` spec: the key must name a recipe field, the list must be non-empty and without repeats. */
export function parseGridSpec(spec: string, root: z.core.$ZodType = RunConfigSchema): GridAxis {
  const m = /^(?:--)?([A-Za-z_][A-Za-z0-9_.]*)=(.*)$/s.exec(spec);
  if (!m) throw new ConfigError(`--grid '${spec}': expected KEY=V1,V2,… (e.g. train.lr=1e-3,3e-3)`);
  const key = m[1]!;
  if (RESERVED.has(key)) throw new ConfigError(`--grid ${key}: the sweep sets ${key} itself (runs are <sweep dir>/<run name>); use --out DIR for the sweep folder`);
  const texts = m[2]!.trim() === '' ? [] : splitValues(m[2]!);
  if (texts.length === 0 || texts.some((t) => t === '')) throw new ConfigError(`--grid ${key}: ${texts.length === 0 ? 'empty list of values' : `empty value in '${m[2]}'`} (expected ${key}=V1,V2,…)`);
  let values: unknown[];
  try {
    values = parseOverrides(texts.map((t) => `${key}=${t}`), root).map((o) => o.value);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`--grid ${key}: ${e.message.replace(/^override --\S+: /, '')}`);
    throw e;
  }
  const seen = new Map<string, string>();
  values.forEach((v, i) => {
    const canon = JSON.stringify(v);
    if (seen.has(canon)) throw new ConfigError(`--grid ${key}: value '${texts[i]}' is the same as '${seen.get(canon)}' (each value once)`);
    seen.set(canon, texts[i]!);
  });
  return { key, texts, values };
}

/** `--seeds 0,1,2` as a grid on train.seed. */
export function seedAxis(text: string): GridAxis {
  const texts = text.trim() === '' ? [] : text.split(',').map((s) => s.trim());
  if (texts.length === 0) throw new ConfigError('--seeds: empty list (expected e.g. --seeds 0,1)');
  for (const t of texts) if (!/^\d+$/.test(t)) throw new ConfigError(`--seeds: '${t}' is not a non-negative integer (train.seed)`);
  const values = texts.map(Number);
  const dup = values.find((v, i) => values.indexOf(v) !== i);
  if (dup !== undefined) throw new ConfigError(`--seeds: seed ${dup} given twice`);
  return { key: 'train.seed', texts, values };
}

/** Checks that no key has two axes. */
export function checkAxes(axes: GridAxis[]): void {
  if (axes.length === 0) throw new ConfigError('nothing to sweep: give at least one --grid KEY=V1,V2,… or --seeds');
  const seen = new Set<string>();
  for (const a of axes) {
    if (seen.has(a.key)) throw new ConfigError(`--grid ${a.key}: given twice${a.key === 'train.seed' ? ' (--seeds is a grid on train.seed)' : ''}; put every value in one list`);
    seen.add(a.key);
  }
}

/** A value as part of a run name: numbers in shortest form, anything else reduced to name characters. */
function nameText(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.replace(/[^A-Za-z0-9.-]+/g, '_').replace(/^_+|_+$/g, '') || '_';
}

/** The cross product, first axis outermost; each point named `<key>-<value>_…` (last key segment when unique). */
export function expandGrid(axes: GridAxis[]): GridPoint[] {
  const last = axes.map((a) => a.key.split('.').pop()!);
  const label = axes.map((a, i) => (last.filter((l) => l === last[i]).length > 1 ? a.key.replace(/\./g, '_') : last[i]!));
  let points: GridPoint[] = [{ name: '', overrides: {}, args: [] }];
  axes.forEach((a, i) => {
    points = points.flatMap((p) => a.values.map((v, j) => ({
      name: `${p.name}${p.name ? '_' : ''}${label[i]}-${nameText(v)}`,
      overrides: { ...p.overrides, [a.key]: v },
      args: [...p.args, `--${a.key}=${a.texts[j]}`],
    })));
  });
  const byName = new Map<string, GridPoint>();
  for (const p of points) {
    const other = byName.get(p.name);
    if (other) throw new ConfigError(`--grid: runs ${other.args.join(' ')} and ${p.args.join(' ')} would share the folder name '${p.name}'; use values that differ in letters or digits`);
    byName.set(p.name, p);
  }
  return points;
}

/** The first line of each problem a ConfigError lists, without the source prefix. */
function problems(e: ConfigError): string {
  const lines = e.message.split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
  return lines.length ? lines.join('; ') : e.message;
}

export interface PlannedRun extends GridPoint {
  config: RunConfig;
}

/**
 * Validates each axis value against its field, then every point as the run it will be (<outDir>/<name>);
 * outDir defaults to <out_dir>/sweep-<recipe name>. Nothing is written.
 */
export function planGrid(recipe: string, fixed: readonly string[], axes: GridAxis[], outDir?: string): { runs: PlannedRun[]; outDir: string } {
  checkAxes(axes);
  const fixedKeys = parseOverrides(fixed).map((o) => o.keys.join('.'));
  for (const a of axes) if (fixedKeys.includes(a.key)) throw new ConfigError(`--grid ${a.key}: also given as the override --${a.key}=…; give it in one place`);
  for (const k of fixedKeys) if (RESERVED.has(k)) throw new ConfigError(`--${k}: the sweep sets ${k} itself (runs are <sweep dir>/<run name>); use --out DIR`);
  // Each value against its field alone (type, range, enum); checks across fields wait for the points, where
  // another axis may make a value valid (train.lr=1e-5 with train.min_lr=1e-6).
  for (const a of axes) {
    const leaf = schemaAt(a.key.split('.'), RunConfigSchema)!;
    a.values.forEach((v, i) => {
      const r = leaf['~standard'].validate(v) as { issues?: readonly { message: string }[] };
      if (r.issues?.length) throw new ConfigError(`--grid ${a.key}: value '${a.texts[i]}': ${r.issues.map((x) => x.message.replace(/^Invalid input: /, '')).join('; ')}`);
    });
  }
  const points = expandGrid(axes);
  const load = (p: GridPoint, extra: string[]) => {
    try {
      return loadConfig(recipe, [...fixed, ...p.args, ...extra]).config;
    } catch (e) {
      if (e instanceof ConfigError) throw new ConfigError(`--grid: run ${p.args.join(' ')}: ${problems(e)}`);
      throw e;
    }
  };
  if (outDir === undefined) {
    const first = load(points[0]!, []);
    outDir = `${first.out_dir}/sweep-${first.name}`;
  }
  const dir = outDir;
  return { runs: points.map((p) => ({ ...p, config: load(p, [`--out_dir=${dir}`, `--name=${p.name}`]) })), outDir: dir };
}
