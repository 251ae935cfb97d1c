// The root pino logger of a command and its sinks: JSON lines to a file in the run folder (always, written
// synchronously so a crash loses nothing) and, on a terminal, readable lines through pino-pretty. Components
// take a child: `log.child({ component: 'trainer' })`. Only cli/ creates the root; nothing below train/ logs.
// Test: node scripts/test.mjs src/log
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import pinoPretty from 'pino-pretty';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** Minimum level for every sink (default 'info'). */
  level?: LevelWithSilent;
  /** JSON-lines log file (its folder is created); omit for no file. */
  file?: string;
  /**
   * Where readable lines go: a function receiving each formatted line (the progress bar passes one that
   * clears and redraws itself around it), true for stdout, false for none (default true).
   */
  terminal?: boolean | ((line: string) => void);
  /** Colour the readable lines (default: wantColor(process.env, stdout is a TTY)). */
  colorize?: boolean;
  /** Fields on every line, e.g. { run: 'tiny' }. */
  base?: Record<string, unknown>;
}

export interface RootLogger {
  log: Logger;
  /** Flushes the file sink (it is synchronous; this is for symmetry with async sinks). */
  flush(): void;
}

/** Builds the root logger. Levels: info per log.every steps, eval and checkpoints; debug for choices; warn for fallbacks and skips. */
export function createLogger(opts: LoggerOptions = {}): RootLogger {
  const level = opts.level ?? 'info';
  const streams: { level: LevelWithSilent; stream: { write(s: string): void } }[] = [];
  let fileDest: ReturnType<typeof pino.destination> | undefined;
  if (opts.file) {
    mkdirSync(path.dirname(opts.file), { recursive: true });
    fileDest = pino.destination({ dest: opts.file, sync: true, append: true });
    streams.push({ level, stream: fileDest });
  }
  const terminal = opts.terminal ?? true;
  if (terminal) {
    const format = pinoPretty.prettyFactory({
      colorize: opts.colorize ?? wantColor(process.env, Boolean(process.stdout.isTTY)),
      ignore: 'pid,hostname',
      translateTime: 'HH:MM:ss',
      singleLine: true,
    });
    const out = typeof terminal === 'function' ? terminal : (line: string) => process.stdout.write(line);
    streams.push({ level, stream: { write: (s: string) => out(format(s)) } });
  }
  const log = streams.length
    ? pino({ level, base: opts.base ?? {}, timestamp: pino.stdTimeFunctions.isoTime }, pino.multistream(streams as Parameters<typeof pino.multistream>[0]))
    : pino({ level: 'silent' });
  return { log, flush: () => fileDest?.flushSync() };
}

/**
 * Whether readable log lines are coloured: NO_COLOR set (any value) turns colour off, as for pino-pretty's
 * colorette; FORCE_COLOR set turns it on ('0' or 'false' off, as Node reads it); otherwise a TTY stdout.
 */
export function wantColor(env: NodeJS.ProcessEnv, stdoutIsTTY: boolean): boolean {
  if (env.NO_COLOR !== undefined) return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return stdoutIsTTY;
}

/**
 * The environment that hands this process's colour decision to processes whose own stdout says otherwise:
 * MPI ranks write to a pty even when the launcher's stdout is a file or pipe (`npm start > log`), so the
 * launcher passes NO_COLOR or FORCE_COLOR down (exactly one of them, never both).
 */
export function colorEnv(env: NodeJS.ProcessEnv, stdoutIsTTY: boolean): { NO_COLOR: string } | { FORCE_COLOR: string } {
  return wantColor(env, stdoutIsTTY) ? { FORCE_COLOR: '1' } : { NO_COLOR: '1' };
}

/** A logger that drops everything (tests, library use without a CLI). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
