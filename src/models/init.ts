// Fresh weights as the reference implementations initialise them (docs/paper-notes.md §2.1, §3.1), from a
// seeded generator so `lrnn init --seed N` is reproducible.
// DeltaNet (fla): Linear, Conv1d and Embedding weights N(0, initializer_range); norm weights 1; o_proj and
//   down_proj rescaled by 1/√(2L) (GPT-2-style prenorm-residual rescale of the paper-era code).
// Mamba (mamba_ssm): Embedding N(0, initializer_range); Linear and Conv1d PyTorch defaults U(±1/√fan_in)
//   (conv bias too); dt_proj.weight U(±R^−½·time_step_scale); dt log-uniform in [dt_min, dt_max], floored,
//   stored as its inverse softplus in dt_proj.bias; A_log[d,n] = log(n+1); D = 1; out_proj /√L only when
//   rescale_prenorm_residual.
import { type ModelConfig, paramSpecs } from './config.ts';
import type { HostTensor } from './lm.ts';
import { fillNormal, seededUniform } from '../util/rng.ts';

export { seededUniform };

export function initWeights(config: ModelConfig, seed = 0): Map<string, HostTensor> {
  const rand = seededUniform(seed);
  const normal = (n: number, std: number) => fillNormal(new Float32Array(n), rand, std);
  const uniform = (n: number, bound: number) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; ++i) out[i] = (2 * rand() - 1) * bound;
    return out;
  };
  const out = new Map<string, HostTensor>();
  const L = config.num_hidden_layers;
  for (const { name, shape } of paramSpecs(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.length >= 2 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
    let data: Float32Array;
    if (name.endsWith('norm.weight') || name.endsWith('norm_f.weight')) data = new Float32Array(n).fill(1);
    else if (config.model_type === 'delta_net') {
      data = normal(n, config.initializer_range);
      if (/\.(o_proj|down_proj)\.weight$/.test(name)) for (let i = 0; i < n; ++i) data[i]! /= Math.sqrt(2 * L);
    } else {
      const c = config;
      if (name.endsWith('embeddings.weight') || name === 'lm_head.weight') data = normal(n, c.initializer_range);
      else if (name.endsWith('mixer.A_log')) {
        data = new Float32Array(n);
        for (let i = 0; i < n; ++i) data[i] = Math.log((i % c.state_size) + 1);
      } else if (name.endsWith('mixer.D')) data = new Float32Array(n).fill(1);
      else if (name.endsWith('dt_proj.weight')) data = uniform(n, c.time_step_rank ** -0.5 * c.time_step_scale);
      else if (name.endsWith('dt_proj.bias')) {
        data = new Float32Array(n);
        const lo = Math.log(c.time_step_min), hi = Math.log(c.time_step_max);
        for (let i = 0; i < n; ++i) {
          const dt = Math.max(Math.exp(lo + rand() * (hi - lo)), c.time_step_floor);
          data[i] = dt + Math.log(-Math.expm1(-dt)); // inverse softplus
        }
      } else if (name.endsWith('conv1d.bias')) data = uniform(n, 1 / Math.sqrt(c.conv_kernel));
      else {
        data = uniform(n, 1 / Math.sqrt(fanIn));
        if (c.rescale_prenorm_residual && name.endsWith('out_proj.weight')) for (let i = 0; i < n; ++i) data[i]! /= Math.sqrt(L);
      }
    }
    out.set(name, { shape, data });
  }
  return out;
}
