// What the two architectures' config modules share: the stored-tensor spec, errors that name the key in the
// words of their source (a recipe's `model.<key>`, a config.json's `<file>: key '<key>'`), and typed reads
// of config.json fields.

/** An expected stored tensor: name and PyTorch shape. */
export interface ParamSpec {
  name: string;
  shape: number[];
}

/** Builds the error for a bad value of one key (or of keys that must fit together). */
export type KeyError = (keys: string | readonly string[], message: string) => Error;

const list = (keys: string | readonly string[]) => (typeof keys === 'string' ? [keys] : keys);

/** Errors about a recipe's [model] section: `model.num_heads: …`. */
export const recipeKeyError: KeyError = (keys, message) => new Error(`${list(keys).map((k) => `model.${k}`).join(' / ')}: ${message}`);

/** Errors about a config.json or another named source: `<source>: key 'num_heads': …`. */
export function keyErrorIn(source: string): KeyError {
  return (keys, message) => new Error(`${source}: key ${list(keys).map((k) => `'${k}'`).join(' / ')}: ${message}`);
}

type Json = Record<string, unknown>;

/**
 * Typed reads of a config.json object. Required reads throw when the key is absent; optional ones give
 * undefined for an absent or null key (the config's default then applies). A wrong type throws naming the
 * file and key.
 */
export function fieldReader(obj: Json, file: string) {
  const err = keyErrorIn(file);
  const bad = (key: string, want: string): never => {
    throw err(key, `expected ${want}, got ${JSON.stringify(obj[key])}`);
  };
  const optional = <T>(key: string, ok: (v: unknown) => boolean, want: string): T | undefined => {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    return ok(v) ? (v as T) : bad(key, want);
  };
  const isPosInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  return {
    int(key: string): number {
      return optional<number>(key, isPosInt, 'a positive integer') ?? bad(key, 'a positive integer');
    },
    optInt: (key: string) => optional<number>(key, isPosInt, 'a positive integer'),
    optNum: (key: string) => optional<number>(key, (v) => typeof v === 'number' && Number.isFinite(v), 'a number'),
    optBool: (key: string) => optional<boolean>(key, (v) => typeof v === 'boolean', 'true or false'),
    optStr: (key: string) => optional<string>(key, (v) => typeof v === 'string', 'a string'),
    idOrNull: (key: string) => optional<number>(key, (v) => Number.isInteger(v) && (v as number) >= 0, 'a token id or null') ?? null,
  };
}
