// The shape every `lrnn <subcommand>` module exports, and shared argv helpers (node:util parseArgs).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.ts';

export interface Command {
  /** The word after `lrnn`; a nested command uses a space, e.g. 'tokenizer train'. */
  name: string;
  /** One line for `lrnn --help`. */
  summary: string;
  /** Full `--help` text for this command. */
  usage: string;
  /** Runs the command. Throw UsageError for bad input. Returns the process exit code (default 0). */
  run(argv: string[]): Promise<number | void>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** The parsed value type of each declared flag (spelled out so the declaration file can name it). */
export type FlagValues<O extends Options> = {
  [K in keyof O]?: O[K] extends { type: 'boolean' }
    ? O[K] extends { multiple: true } ? boolean[] : boolean
    : O[K] extends { multiple: true } ? string[] : string;
} & { help?: boolean; json?: boolean };

/**
 * Parses argv strictly (unknown flags are a UsageError naming the flag). `--help` and `--json` are always
 * accepted; `--help` is reported through `values.help` so the command can print its usage.
 */
export function parseFlags<O extends Options>(argv: string[], options: O, allowPositionals = false): { values: FlagValues<O>; positionals: string[] } {
  try {
    return parseArgs({
      args: argv,
      options: { help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' }, ...options },
      allowPositionals,
      strict: true,
    }) as unknown as { values: FlagValues<O>; positionals: string[] };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Parses a numeric flag value, naming the flag when it is not a number in range. */
export function numberFlag(name: string, value: string | undefined, fallback: number, opts: { int?: boolean; min?: number } = {}): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min)) {
    throw new UsageError(`--${name}: expected ${opts.int ? 'an integer' : 'a number'}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}, got '${value}'`);
  }
  return n;
}
