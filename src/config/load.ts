// Loads a run configuration: TOML recipe → one level of `extends` → `--section.key=value` overrides →
// schema validation → a deeply frozen RunConfig. Precedence is CLI > recipe > base recipe > schema defaults.
// Recipe kinds that extend the run schema (task recipes, src/tasks/schema.ts) load through the same path
// with their own schema and recipe folder (loadRecipe).
// Errors are ConfigError (the CLI maps them to exit code 2) and always name the file and the key path.
// Test: node scripts/test.mjs src/config
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import type { z } from 'zod';
import { RunConfigSchema, type RunConfig } from './schema.ts';

/** Bad recipe or override: the message names the file and key path. The CLI exits 2 on it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Table = Record<string, unknown>;

const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

/** Folder holding the shipped recipes (recipes/ at the repository root). */
export const RECIPES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'recipes');

/** Names of the recipes a bare name can select: the top-level *.toml files of `dir`, sorted ([] when it is absent). */
export function listRecipes(dir = RECIPES_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.toml')).map((e) => e.name.slice(0, -'.toml'.length)).sort();
}

/**
 * Finds a recipe file: an existing path as given (with or without .toml), else a name in recipes/
 * (`tiny` → recipes/tiny.toml).
 */
export function resolveRecipePath(recipe: string, relativeTo = process.cwd(), dir = RECIPES_DIR): string {
  const candidates = [recipe, `${recipe}.toml`].map((p) => path.resolve(relativeTo, p));
  if (!recipe.includes('/') && !recipe.includes(path.sep)) candidates.push(path.join(dir, recipe.endsWith('.toml') ? recipe : `${recipe}.toml`));
  const hit = candidates.find((p) => existsSync(p));
  if (!hit) throw new ConfigError(`recipe '${recipe}' not found (tried ${candidates.map((c) => path.relative(process.cwd(), c) || c).join(', ')})`);
  return hit;
}

function readToml(file: string): Table {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read recipe ${file}: ${(err as Error).message}`);
  }
  try {
    return parseToml(text) as Table;
  } catch (err) {
    throw new ConfigError(`${file}: invalid TOML: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** Deep merge: tables merge key by key, everything else (arrays included) is replaced by `over`. */
export function mergeTables(base: Table, over: Table): Table {
  const out: Table = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isTable(v) && isTable(out[k]) ? mergeTables(out[k] as Table, v) : v;
  return out;
}

/** Reads a recipe and its base (one level of `extends`, resolved relative to the recipe's folder). */
export function readRecipe(file: string): Table {
  const leaf = readToml(file);
  let merged = leaf;
  if (leaf.extends !== undefined) {
    if (typeof leaf.extends !== 'string') throw new ConfigError(`${file}: extends: expected a file name string`);
    const baseFile = resolveRecipePath(leaf.extends, path.dirname(file));
    const base = readToml(baseFile);
    if (base.extends !== undefined) {
      throw new ConfigError(`${file}: extends '${leaf.extends}', which itself extends '${String(base.extends)}': only one level of extends is allowed`);
    }
    const { extends: _ignored, ...rest } = leaf;
    merged = mergeTables(base, rest);
  }
  // A recipe without a name is named after its file, so variants never share a run folder by accident.
  if (leaf.name === undefined) merged = { ...merged, name: path.basename(file).replace(/\.toml$/, '') };
  return merged;
}

// --- overrides

/** The schema node at a key path (optional/default wrappers removed), or undefined when the path names no field. */
export function schemaAt(keys: string[], root: z.core.$ZodType): z.core.$ZodType | undefined {
  let s: z.core.$ZodType = root;
  for (const key of keys) {
    s = unwrap(s);
    if (s._zod.def.type !== 'object') return undefined;
    const shape = (s._zod.def as unknown as { shape: Record<string, z.core.$ZodType> }).shape;
    if (!Object.hasOwn(shape, key)) return undefined;
    s = shape[key]!;
  }
  return unwrap(s);
}

function unwrap(s: z.core.$ZodType): z.core.$ZodType {
  while (['optional', 'default', 'prefault', 'nullable'].includes(s._zod.def.type)) {
    s = (s._zod.def as unknown as { innerType: z.core.$ZodType }).innerType;
  }
  return s;
}

/** Known keys of the table at a key path (for "unknown key" messages). */
function knownKeys(keys: (string | number | symbol)[], root: z.core.$ZodType): string[] {
  const s = schemaAt(keys.map(String), root);
  if (!s || s._zod.def.type !== 'object') return [];
  return Object.keys((s._zod.def as unknown as { shape: Table }).shape);
}

/**
 * Parses `--section.key=value` (or `section.key=value`) arguments into {path, value}. The value is typed
 * by the schema: string and enum fields take the text as is; numbers, booleans and arrays are read as
 * TOML values (`--train.betas=[0.9,0.99]`). Unknown keys are a ConfigError naming the key.
 */
export function parseOverrides(args: readonly string[], root: z.core.$ZodType = RunConfigSchema): { keys: string[]; value: unknown }[] {
  return args.map((arg) => {
    const m = /^(?:--)?([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)=(.*)$/s.exec(arg);
    if (!m) throw new ConfigError(`override '${arg}': expected --section.key=value`);
    const keys = m[1]!.split('.');
    const raw = m[2]!;
    const leaf = schemaAt(keys, root);
    if (!leaf) {
      const parent = keys.slice(0, -1);
      const known = knownKeys(parent, root);
      throw new ConfigError(`override --${keys.join('.')}: unknown key '${keys.join('.')}'${known.length ? ` (${parent.length ? parent.join('.') : 'top level'} has: ${known.join(', ')})` : ''}`);
    }
    const t = leaf._zod.def.type;
    if (t === 'object') throw new ConfigError(`override --${keys.join('.')}: names a section; give a key inside it`);
    if (t === 'string' || t === 'enum') return { keys, value: raw };
    try {
      return { keys, value: (parseToml(`v = ${raw}`) as Table).v };
    } catch {
      return { keys, value: raw }; // The schema then reports the wrong type with the key's name.
    }
  });
}

function setPath(obj: Table, keys: string[], value: unknown): void {
  let t = obj;
  for (const k of keys.slice(0, -1)) {
    if (!isTable(t[k])) t[k] = {};
    t = t[k] as Table;
  }
  t[keys[keys.length - 1]!] = value;
}

// --- validation

/** Validates a raw run table; throws one ConfigError listing every problem as `key.path: message`. */
export function validateConfig(raw: Table, source = 'recipe'): RunConfig {
  return validateWith(RunConfigSchema, raw, source);
}

/** Validates a raw table against a recipe schema (the run's or one extending it) into a deeply frozen config. */
export function validateWith<S extends z.ZodType>(schema: S, raw: Table, source: string, what = 'configuration'): z.output<S> {
  const r = schema.safeParse(raw);
  if (r.success) return deepFreeze(r.data);
  const lines = r.error.issues.map((iss) => {
    if (iss.code === 'unrecognized_keys') {
      const parent = iss.path.map(String);
      const known = knownKeys(iss.path, schema);
      return iss.keys.map((k) => `${[...parent, k].join('.')}: unknown key${known.length ? ` (${parent.length ? parent.join('.') : 'top level'} has: ${known.join(', ')})` : ''}`).join('\n  ');
    }
    const where = iss.path.length ? iss.path.map(String).join('.') : '(top level)';
    return `${where}: ${iss.message.replace(/^Invalid input: /, '')}`;
  });
  throw new ConfigError(`${source}: invalid ${what}:\n  ${lines.join('\n  ')}`);
}

export interface LoadedConfig {
  config: RunConfig;
  /** Absolute path of the recipe file. */
  recipePath: string;
}

/** Reads, merges, overrides and validates a run recipe. Nothing is written. */
export function loadConfig(recipe: string, overrides: readonly string[] = []): LoadedConfig {
  return loadRecipe(RunConfigSchema, recipe, overrides);
}

/** Reads, merges, overrides and validates a recipe of any kind: its schema, its folder of named recipes. */
export function loadRecipe<S extends z.ZodType>(schema: S, recipe: string, overrides: readonly string[] = [], dir = RECIPES_DIR, what = 'configuration'): { config: z.output<S>; recipePath: string } {
  const recipePath = resolveRecipePath(recipe, process.cwd(), dir);
  const raw = readRecipe(recipePath);
  for (const { keys, value } of parseOverrides(overrides, schema)) setPath(raw, keys, value);
  const src = path.relative(process.cwd(), recipePath) || recipePath;
  return { config: validateWith(schema, raw, overrides.length ? `${src} (with overrides ${overrides.join(' ')})` : src, what), recipePath };
}

/** Validates a resolved config read back from a run folder or checkpoint (config.resolved.toml). */
export function loadResolvedConfig(file: string): RunConfig {
  return validateConfig(readToml(file), file);
}

/** The resolved config as TOML (every field explicit, so a run can be reproduced from it alone). */
export function configToToml(config: RunConfig): string {
  return `# Resolved configuration of run '${config.name}' (every default filled in). Reproduce with:\n#   lrnn train <this file>\n${stringifyToml(config as unknown as Table)}\n`;
}

export function writeResolvedConfig(file: string, config: RunConfig): void {
  writeFileSync(file, configToToml(config));
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}
