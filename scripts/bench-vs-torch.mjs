#!/usr/bin/env node
// lrnn's train bench against the same models in PyTorch (scripts/bench-torch.py), interleaved A B A B in one
// session so machine load hits both alike; prints each run and the median ratio lrnn / PyTorch as JSON lines.
// Usage: PYTHON=.venv/bin/python node scripts/bench-vs-torch.mjs [deltanet-small,mamba-small] [rounds=2]
// One thread each (lrnn: LRNN_BLAS_THREADS=1, which the bench sets; PyTorch: 1 OpenMP + 1 BLAS thread).
import { execFileSync } from 'node:child_process';
import os from 'node:os';

const models = (process.argv[2] ?? 'deltanet-small,mamba-small').split(',');
const rounds = Number(process.argv[3] ?? 2);
const python = process.env.PYTHON ?? 'python3';
const lastJson = (out) => JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{')).pop());
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b), m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

for (const model of models) {
  const lrnn = [], torch = [];
  for (let r = 0; r < rounds; ++r) {
    const a = lastJson(execFileSync('npm', ['run', '-s', 'bench', '--', '--only', `train.${model}`], { encoding: 'utf8', env: { ...process.env, LRNN_BLAS_THREADS: '1' } }));
    lrnn.push(a.value);
    console.log(JSON.stringify({ round: r, lrnn: a.value, step_ms: a.step_ms, kernels_per_step: a.kernels_per_step, peak_rss_mb: a.peak_rss_mb, top_kernels: a.top_kernels?.slice(0, 5), load: os.loadavg()[0] }));
    const b = lastJson(execFileSync(python, ['scripts/bench-torch.py', '--model', model], { encoding: 'utf8' }));
    torch.push(b.value);
    console.log(JSON.stringify({ round: r, torch: b.value, step_ms: b.step_ms, load: os.loadavg()[0] }));
  }
  console.log(JSON.stringify({ name: `vs_torch.${model}`, value: +(median(lrnn) / median(torch)).toFixed(3), unit: 'ratio', lrnn_tokens_s: lrnn, torch_tokens_s: torch, load: os.loadavg() }));
}
