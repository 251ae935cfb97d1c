// Builds the mpirun command line for `lrnn launch`: one process per core, binding off (each rank runs BLAS
// and libuv threads; default core binding pins 2 ranks to one core across namespaces, mpi.md §5),
// root allowed when running as root, oversubscription when ranks outnumber cores.
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
  args.push(...(o.mpirunArgs ?? []), process.execPath, lrnnBin(), ...o.command);
  return { cmd: 'mpirun', args, env };
}

/** Shell-quoted form of a command, for printing. */
export function shellQuote(parts: string[]): string {
  return parts.map((p) => (/^[\w@%+=:,./-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`)).join(' ');
}
