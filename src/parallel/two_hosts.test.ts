// Two "hosts" on one machine: two network namespaces joined by a veth pair whose addresses (198.18.0.0/24,
// the RFC 2544 benchmark range) exist only inside them, each with its own hostname, and mpirun reaching the
// second through a launcher agent (plm_rsh_agent) instead of ssh. The MPI probe then runs one rank per
// "host" over TCP and checks its collectives. Skipped, saying why, where namespaces cannot be made.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mpiAvailable } from './mpi.ts';

const sh = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' });

function whyNot(): string | false {
  if (sh('mpirun', ['--version']).status !== 0) return 'mpirun not installed (apt-get install -y openmpi-bin)';
  if (!mpiAvailable()) return 'addon built without MPI';
  if (sh('ip', ['-V']).status !== 0) return 'iproute2 (ip) not installed';
  if (sh('unshare', ['--version']).status !== 0) return 'unshare (util-linux) not installed';
  const probe = `lrnn-probe-${process.pid}`;
  const r = sh('ip', ['netns', 'add', probe]);
  if (r.status !== 0) return `this machine forbids network namespaces: ${r.stderr.trim()}`;
  sh('ip', ['netns', 'del', probe]);
  return false;
}

const skip = whyNot();

test('two hosts in network namespaces: mpirun through a launcher agent, one rank per host over TCP', { skip, timeout: 120_000 }, () => {
  const tag = String(process.pid % 100000);
  const hosts = [{ name: 'hosta', ns: `lrnn-a-${tag}`, ip: '198.18.0.1' }, { name: 'hostb', ns: `lrnn-b-${tag}`, ip: '198.18.0.2' }];
  const dir = mkdtempSync(path.join(tmpdir(), 'lrnn-2hosts-'));
  const run = (cmd: string, args: string[]) => {
    const r = sh(cmd, args);
    assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  };
  try {
    for (const h of hosts) {
      run('ip', ['netns', 'add', h.ns]);
      // `ip netns exec` bind-mounts /etc/netns/<ns>/hosts over /etc/hosts: each host resolves both names.
      mkdirSync(`/etc/netns/${h.ns}`, { recursive: true });
      writeFileSync(`/etc/netns/${h.ns}/hosts`, `127.0.0.1 localhost\n${hosts.map((x) => `${x.ip} ${x.name}`).join('\n')}\n`);
    }
    run('ip', ['link', 'add', `lrnnva${tag}`, 'type', 'veth', 'peer', 'name', `lrnnvb${tag}`]);
    hosts.forEach((h, i) => {
      const dev = i === 0 ? `lrnnva${tag}` : `lrnnvb${tag}`;
      run('ip', ['link', 'set', dev, 'netns', h.ns]);
      run('ip', ['-n', h.ns, 'addr', 'add', `${h.ip}/24`, 'dev', dev]);
      run('ip', ['-n', h.ns, 'link', 'set', dev, 'up']);
      run('ip', ['-n', h.ns, 'link', 'set', 'lo', 'up']);
    });
    // The agent mpirun calls instead of ssh: `agent HOST CMD…` runs CMD in HOST's namespace, under HOST's name.
    const agent = path.join(dir, 'nsagent.sh');
    writeFileSync(agent, `#!/bin/sh\nhost="$1"; shift\ncase "$host" in\n${hosts.map((h) => `  ${h.name}) ns=${h.ns} ;;`).join('\n')}\n  *) echo "nsagent: unknown host $host" >&2; exit 1 ;;\nesac\nexec ip netns exec "$ns" unshare --uts /bin/sh -c "hostname $host && exec $*"\n`);
    chmodSync(agent, 0o755);
    const mpirun = ['mpirun', '--allow-run-as-root', '--host', 'hosta:1,hostb:1', '-np', '2', '--bind-to', 'none',
      '--mca', 'plm_rsh_agent', agent, '--mca', 'oob_tcp_if_include', '198.18.0.0/24', '--mca', 'btl_tcp_if_include', '198.18.0.0/24',
      '--mca', 'btl', 'tcp,self', process.execPath, '--import', 'tsx', path.resolve('src/testing/mpi_probe.ts')].join(' ');
    const r = spawnSync('ip', ['netns', 'exec', hosts[0]!.ns, 'unshare', '--uts', 'sh', '-c', `hostname hosta && cd ${process.cwd()} && exec ${mpirun}`], {
      encoding: 'utf8', timeout: 90_000, env: { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' },
    });
    assert.equal(r.status, 0, `mpirun across namespaces failed: ${r.stderr}\n${r.stdout}`);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    for (const l of lines) {
      assert.equal(l.size, 2);
      assert.deepEqual(l.errors, []);
    }
    assert.deepEqual(lines.map((l) => l.host).sort(), ['hosta', 'hostb'], 'one rank on each host');
    assert.equal(sh('ip', ['netns', 'list']).stdout.includes(hosts[1]!.ns), true);
  } finally {
    for (const h of hosts) {
      sh('ip', ['netns', 'del', h.ns]); // also removes the veth end inside it (and so the pair)
      rmSync(`/etc/netns/${h.ns}`, { recursive: true, force: true });
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
