// Graceful stop for long commands (train, task train, eval): the first SIGINT or SIGTERM asks the work to
// stop at the next step boundary (an AbortSignal the loop polls once per step, after yielding to the event
// loop); a second one exits at once. The command then exits 130 (SIGINT) or 143 (SIGTERM), the shell's
// 128 + signal number, so scripts and schedulers see an interruption, not a failure.

export interface StopHandle {
  /** Aborted by the first SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** 130 or 143 once a signal arrived, else null. */
  exitCode(): number | null;
  /** Removes the handlers (call in a finally). */
  dispose(): void;
}

const CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Installs the handlers. `what` names the command in the message, `after` says what happens next
 * (e.g. 'after this step, writing a checkpoint').
 */
export function onStopSignals(what: string, after = 'after this step'): StopHandle {
  const ac = new AbortController();
  let code: number | null = null;
  const handlers = (Object.keys(CODES) as (keyof typeof CODES)[]).map((sig) => {
    const h = () => {
      if (ac.signal.aborted) {
        process.stderr.write(`\n${what}: ${sig} again: quitting now\n`);
        process.exit(CODES[sig]);
      }
      code = CODES[sig];
      ac.abort(sig);
      process.stderr.write(`\n${what}: ${sig}: stopping ${after} (${sig === 'SIGINT' ? 'Ctrl-C' : 'send it'} again to quit now)\n`);
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  return {
    signal: ac.signal,
    exitCode: () => code,
    dispose: () => { for (const [sig, h] of handlers) process.off(sig, h); },
  };
}

/** Resolves on the next turn of the event loop, so pending signal handlers run (call once per step). */
export function yieldToSignals(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
