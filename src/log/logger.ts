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
  /** Colour the readable lines (default: stdout is a TTY). */
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
      colorize: opts.colorize ?? Boolean(process.stdout.isTTY),
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

/** A logger that drops everything (tests, library use without a CLI). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
