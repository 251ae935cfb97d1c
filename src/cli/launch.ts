// `lrnn launch --nproc N [--hosts H1,H2 …] <lrnn command …>`: prints and runs the right mpirun command.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { colorEnv } from '../log/logger.ts';
import { mpirunCommand, shellQuote } from '../parallel/launch.ts';
import { mpiAvailable } from '../parallel/mpi.ts';
import type { Command } from './command.ts';
import { numberFlag } from './command.ts';
import { UsageError } from './errors.ts';

export const launch: Command = {
  name: 'launch',
  summary: 'run an lrnn command on N MPI ranks (one host or several), via mpirun',
  usage: `Usage: lrnn launch --nproc N [--hosts H1[:SLOTS],H2…] [--mpirun-arg ARG …] [--dry-run] <command> [args…]

Runs \`mpirun -np N --bind-to none … node bin/lrnn.js <command> …\` and prints it first. As root it adds
--allow-run-as-root; with more ranks than cores on one host, --oversubscribe; when ranks share a host, node
runs with --single-threaded-gc (the ranks' GC threads would contend for the cores). The ranks' log lines are
coloured only when this command's stdout is a terminal (NO_COLOR or FORCE_COLOR, passed with -x; the ranks
themselves write to a pty). Multi-host runs need passwordless ssh (or --mpirun-arg '--mca plm_rsh_agent=…'),
the same lrnn checkout path on every host, and usually --mpirun-arg '--mca btl_tcp_if_include=<subnet>'.
mpirun and srun also work directly:
  mpirun -np 2 --bind-to none node --single-threaded-gc bin/lrnn.js train recipes/tiny.toml
  srun -n 2 node --single-threaded-gc bin/lrnn.js train recipes/tiny.toml
Ctrl-C or SIGTERM is passed to the ranks on this host: they finish the current step together (ranks on
other hosts too, through the all-reduced stop flag), rank 0 writes a checkpoint, and lrnn launch exits 130
(SIGINT) or 143 (SIGTERM) once mpirun has exited. With no rank on this host the signal goes to mpirun, which
sends SIGTERM to every rank and SIGKILL 1 s later: set OMPI_MCA_odls_base_sigkill_timeout=60 to give them
time to save.
Example: lrnn launch --nproc 2 train recipes/deltanet-small.toml`,
  async run(argv) {
    // Flags stop at the first word that is not one of ours: the rest is the command to launch.
    const ours: string[] = [];
    let i = 0;
    for (; i < argv.length; ++i) {
      const a = argv[i]!;
      if (a === '--dry-run' || a === '--json') ours.push(a);
      else if (['--nproc', '--hosts', '--mpirun-arg'].includes(a)) ours.push(a, argv[++i] ?? '');
      else if (/^--(nproc|hosts|mpirun-arg)=/.test(a)) ours.push(a);
      else break;
    }
    const command = argv.slice(i);
    const nproc = numberFlag('nproc', flag(ours, '--nproc'), NaN, { int: true, min: 1 });
    if (!Number.isFinite(nproc)) throw new UsageError('--nproc N is required');
    if (command.length === 0) throw new UsageError('no command to launch (e.g. `lrnn launch --nproc 2 train recipes/tiny.toml`)');
    if (!mpiAvailable()) throw new UsageError('the lrnn addon was built without MPI: apt-get install -y libopenmpi-dev openmpi-bin, then npm run build:native');
    const hostsFlag = flag(ours, '--hosts');
    const extra = ours.flatMap((a, k) => (a === '--mpirun-arg' ? [ours[k + 1]!] : a.startsWith('--mpirun-arg=') ? [a.slice(13)] : []));
    const { cmd, args, env } = mpirunCommand({ nproc, command, mpirunArgs: extra, ...(hostsFlag ? { hosts: hostsFlag.split(',').filter(Boolean) } : {}) });
    // Printed as runMpirun will run it, colour setting included, so the line can be pasted.
    const color = rankColor();
    const envText = Object.entries({ ...color.env, ...env }).map(([k, v]) => `${k}=${v}`).join(' ');
    console.error(`lrnn launch: ${envText ? envText + ' ' : ''}${shellQuote([cmd, ...color.args, ...args])}`);
    if (ours.includes('--dry-run')) return 0;
    return await runMpirun(cmd, args, env, 'lrnn launch');
  },
};

/**
 * The ranks' log colouring: their stdout is a pty even when ours is a file or pipe, so it follows our stdout,
 * passed down as NO_COLOR or FORCE_COLOR (the other one dropped); -x exports it to ranks on other hosts too.
 */
function rankColor(): { env: Record<string, string>; args: string[] } {
  const env = colorEnv(process.env, Boolean(process.stdout.isTTY));
  return { env, args: Object.keys(env).flatMap((k) => ['-x', k]) };
}

/**
 * Runs mpirun and returns the exit code to exit with, passing Ctrl-C and SIGTERM to the job (`who` names
 * the forwarding command in messages).
 */
export function runMpirun(cmd: string, args: string[], env: Record<string, string>, who: string): Promise<number> {
  // mpirun runs in its own process group, so a terminal's Ctrl-C reaches the job once, through us. The
  // signal goes straight to the ranks on this host (each finishes its step; the all-reduced stop flag halts
  // the ranks elsewhere at the same step; rank 0 writes a checkpoint, see signals.ts), or to mpirun when
  // none runs here (mpirun sends SIGTERM to every rank; it does not when its output is a socket, as under
  // a Node parent). We exit only after mpirun has, with 130/143.
  const color = rankColor();
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  delete childEnv.NO_COLOR;
  delete childEnv.FORCE_COLOR;
  Object.assign(childEnv, color.env, env);
  const mpiArgs = [...color.args, ...args];
  return new Promise<number>((resolve, reject) => {
    // No stdin: from a background process group, a read of the terminal would stop mpirun (SIGTTIN).
    const child = spawn(cmd, mpiArgs, { stdio: ['ignore', 'inherit', 'inherit'], env: childEnv, detached: true });
    let got: NodeJS.Signals | null = null;
    const forward = (sig: NodeJS.Signals) => () => {
      got ??= sig;
      const ranks = childPids(child.pid!);
      process.stderr.write(`\n${who}: ${sig}: passing it to ${ranks.length ? `the ranks (pids ${ranks.join(', ')})` : 'mpirun'}; waiting for them to stop\n`);
      if (ranks.length) for (const pid of ranks) { try { process.kill(pid, sig); } catch { /* already gone */ } }
      else child.kill(sig);
    };
    const handlers = (['SIGINT', 'SIGTERM'] as const).map((sig) => [sig, forward(sig)] as const);
    for (const [sig, h] of handlers) process.on(sig, h);
    const done = () => { for (const [sig, h] of handlers) process.off(sig, h); };
    child.on('error', (e) => { done(); reject(new Error(`could not start mpirun: ${e.message} (apt-get install -y openmpi-bin)`)); });
    child.on('exit', (code, signal) => {
      done();
      if (got) resolve(SIGNAL_CODES[got]);
      else resolve(code ?? (signal ? SIGNAL_CODES[signal] ?? 1 : 1));
    });
  });
}

/** Direct children of a process on this host (Linux /proc; none elsewhere). */
function childPids(pid: number): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    try {
      const stat = readFileSync(`/proc/${n}/stat`, 'utf8');
      // Fields after the command name, which is in parentheses and may hold spaces: state, ppid, …
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid ? [Number(n)] : [];
    } catch {
      return [];
    }
  });
}

const SIGNAL_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGKILL: 137 };

function flag(ours: string[], name: string): string | undefined {
  const k = ours.indexOf(name);
  if (k >= 0) return ours[k + 1];
  const eq = ours.find((a) => a.startsWith(name + '='));
  return eq?.slice(name.length + 1);
}
