// Builds the mpirun command line for `lrnn launch`: one process per core, binding off (each rank runs BLAS
// and libuv threads; default core binding pinned both ranks of a 2-host test to core 0, 5× slower),
// root allowed when running as root, oversubscription when ranks outnumber cores, single-threaded V8 GC when
// ranks share a host.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LaunchOptions {
  nproc: number;
  /** Hosts as `name` or `name:slots`; ranks are spread over them (mpirun --host). */
  hosts?: string[];
  /** Extra mpirun arguments, passed through. */
  mpirunArgs?: string[];
  /** The lrnn command to run on each rank, e.g. ['train', 'recipes/tiny.toml']. */
  command: string[];
}

export function lrnnBin(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'lrnn.js');
}

export function mpirunCommand(o: LaunchOptions): { cmd: string; args: string[]; env: Record<string, string> } {
  const args = ['-np', String(o.nproc), '--bind-to', 'none'];
  const env: Record<string, string> = {};
  if (process.getuid?.() === 0) {
    args.push('--allow-run-as-root');
    env.OMPI_ALLOW_RUN_AS_ROOT = '1';
    env.OMPI_ALLOW_RUN_AS_ROOT_CONFIRM = '1';
  }
  if (o.hosts?.length) {
    args.push('--host', o.hosts.join(','));
  } else if (o.nproc > os.cpus().length) {
    args.push('--oversubscribe');
  }
  args.push(...(o.mpirunArgs ?? []), process.execPath, ...rankNodeFlags(o), lrnnBin(), ...o.command);
  return { cmd: 'mpirun', args, env };
}

/**
 * Node flags of each rank. When ranks share a host, every rank's parallel GC threads compete for the same cores:
 * measured on 2 cores, 2 ranks of the default recipe ran 804 tokens/s together by default and 1,252 with
 * --single-threaded-gc (one rank alone: 707–721 by default, 662 with the flag). So ranks that may share a host
 * get the flag; one rank per host keeps V8's default.
 */
export function rankNodeFlags(o: Pick<LaunchOptions, 'nproc' | 'hosts'>): string[] {
  const shared = o.hosts?.length ? o.nproc > o.hosts.length || o.hosts.some((h) => /:\d+$/.test(h) && Number(h.split(':').pop()) > 1) : o.nproc > 1;
  return shared ? ['--single-threaded-gc'] : [];
}

/** Shell-quoted form of a command, for printing. */
export function shellQuote(parts: string[]): string {
  return parts.map((p) => (/^[\w@%+=:,./-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`)).join(' ');
}
