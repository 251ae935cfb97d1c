// AdamW with decoupled weight decay, exactly PyTorch's torch.optim.AdamW (bias correction on, no amsgrad),
// over named Float32Arrays. The state (m, v per parameter, one step count) maps one to one onto the
// checkpoint's optimizer.safetensors (`<name>.exp_avg`, `<name>.exp_avg_sq`) and
// trainer_state.json["optimizer"] (docs/checkpoint-format.md §12). A fused native loop (src/native/adamw.cc)
// runs the update when the addon is built; the TS loop below is the fallback and the reference.
// Test: node scripts/test.mjs src/optim
import { nativeFn } from '../backend/index.ts';

export interface AdamWOptions {
  /** (β1, β2). */
  betas: readonly [number, number];
  eps: number;
  /** Decoupled weight decay, applied as p ← p·(1 − lr·wd) before the Adam step. */
  weightDecay: number;
  /** Use the native loop when the addon has it (default true). */
  useNative?: boolean;
}

/** A parameter the optimizer knows: its stored name (checkpoint name) and shape. */
export interface ParamSpec {
  name: string;
  shape: readonly number[];
}

export interface AdamWState {
  m: Float32Array;
  v: Float32Array;
}

/**
 * True for tensors that get no weight decay: everything with fewer than 2 dims (norm weights, biases,
 * Mamba D, dt_proj.bias, conv1d.bias) and every A_log (docs/checkpoint-format.md §12). The names are checked
 * too, so the rule holds when a caller passes no shape or a layer stores a bias as 2-D.
 */
export function isNoDecay(name: string, shape?: readonly number[]): boolean {
  if (shape && shape.length < 2) return true;
  const leaf = name.split('.').pop() ?? name;
  if (leaf === 'A_log' || leaf === 'D' || leaf === 'bias') return true;
  return /(^|\.)[^.]*norm[^.]*\.weight$/.test(name);
}

type NativeAdamW = (p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array,
  beta1: number, beta2: number, eps: number, decay: number, stepSize: number, bc2Sqrt: number, sums?: Float64Array) => void;

/** Receives one tensor's Σ (p_new − p_old)² and Σ p_old² (float64, index order) from an update. */
export type UpdateSink = (name: string, diffSq: number, baseSq: number) => void;

let nativeAdamW: NativeAdamW | null | undefined;
function getNative(): NativeAdamW | null {
  if (nativeAdamW === undefined) nativeAdamW = nativeFn<NativeAdamW>('adamwStep');
  return nativeAdamW;
}

/**
 * One AdamW update of one tensor in place (p, m, v), PyTorch's single-tensor algorithm:
 *   p ← p·(1 − lr·wd);  m ← lerp(m, g, 1−β1);  v ← β2·v + (1−β2)·g²
 *   p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + ε)
 * `decay` is lr·wd (0 for no-decay tensors); stepSize = lr/(1−β1^t); bc2Sqrt = √(1−β2^t).
 * With `sums`, also writes [Σ (p_new − p_old)², Σ p_old²] (float64, index order) for the update-ratio
 * telemetry, so no copy of p is needed to measure the step.
 */
export function adamwUpdateTs(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array,
  beta1: number, beta2: number, eps: number, decay: number, stepSize: number, bc2Sqrt: number, sums?: Float64Array): void {
  const keep = 1 - decay, w1 = 1 - beta1, w2 = 1 - beta2;
  let diff = 0, base = 0;
  for (let i = 0; i < p.length; ++i) {
    const gi = g[i]!;
    const mi = m[i]! + w1 * (gi - m[i]!); // torch lerp_ with weight < 0.5
    const vi = beta2 * v[i]! + w2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const old = p[i]!;
    p[i] = old * keep - stepSize * (mi / (Math.sqrt(vi) / bc2Sqrt + eps));
    if (sums) {
      const d = p[i]! - old;
      diff += d * d;
      base += old * old;
    }
  }
  if (sums) { sums[0] = diff; sums[1] = base; }
}

export class AdamW {
  /** Optimizer updates completed (PyTorch's `step`); the next update is number step + 1. */
  step = 0;
  readonly state = new Map<string, AdamWState>();
  /** Names that get no weight decay, in parameter order (for trainer_state.json's no_weight_decay). */
  readonly noDecay: string[] = [];
  readonly params: readonly ParamSpec[];
  readonly opts: Required<AdamWOptions>;

  constructor(params: readonly ParamSpec[], opts: AdamWOptions, noDecay: (name: string, shape: readonly number[]) => boolean = isNoDecay) {
    this.opts = { useNative: true, ...opts };
    this.params = params;
    for (const p of params) {
      if (this.state.has(p.name)) throw new Error(`AdamW: parameter '${p.name}' given twice`);
      const n = p.shape.reduce((a, b) => a * b, 1);
      this.state.set(p.name, { m: new Float32Array(n), v: new Float32Array(n) });
      if (noDecay(p.name, p.shape)) this.noDecay.push(p.name);
    }
  }

  /**
   * One update of every parameter at learning rate `lr`. `values` holds each parameter's data, updated
   * in place; `grads` its gradient (already averaged over microbatches and clipped). Missing gradients
   * are an error: a parameter without a gradient would silently stop training. `sink`, when given, gets each
   * tensor's ‖Δp‖² and ‖p‖² (before the update), measured by the update itself.
   */
  update(values: ReadonlyMap<string, Float32Array>, grads: ReadonlyMap<string, Float32Array>, lr: number, sink?: UpdateSink): void {
    const [beta1, beta2] = this.opts.betas;
    const t = this.step + 1;
    const stepSize = lr / (1 - beta1 ** t);
    const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
    const noDecay = new Set(this.noDecay);
    const fused = this.opts.useNative ? getNative() : null;
    const sums = sink ? new Float64Array(2) : undefined;
    for (const { name } of this.params) {
      const p = values.get(name), g = grads.get(name), s = this.state.get(name)!;
      if (!p) throw new Error(`AdamW: no value for parameter '${name}'`);
      if (!g) throw new Error(`AdamW: no gradient for parameter '${name}'`);
      if (p.length !== s.m.length || g.length !== s.m.length) {
        throw new Error(`AdamW: '${name}' has ${p.length} values and ${g.length} gradient entries, expected ${s.m.length}`);
      }
      const decay = noDecay.has(name) ? 0 : lr * this.opts.weightDecay;
      if (fused) fused(p, g, s.m, s.v, beta1, beta2, this.opts.eps, decay, stepSize, bc2Sqrt, sums);
      else adamwUpdateTs(p, g, s.m, s.v, beta1, beta2, this.opts.eps, decay, stepSize, bc2Sqrt, sums);
      if (sink) sink(name, sums![0]!, sums![1]!);
    }
    this.step = t;
  }

  /**
   * Moments per parameter (copies), keyed by stored name: the checkpoint writer stores them as
   * `<name>.exp_avg` / `<name>.exp_avg_sq` in optimizer.safetensors (§12).
   */
  exportMoments(): Map<string, { expAvg: Float32Array; expAvgSq: Float32Array }> {
    const out = new Map<string, { expAvg: Float32Array; expAvgSq: Float32Array }>();
    for (const { name } of this.params) {
      const s = this.state.get(name)!;
      out.set(name, { expAvg: s.m.slice(), expAvgSq: s.v.slice() });
    }
    return out;
  }

  /**
   * Restores moments and the step count from a checkpoint. Absent parameters start at zero (§12: never
   * updated parameters MAY be absent); a wrong size is an error naming the tensor.
   */
  importMoments(step: number, moments: ReadonlyMap<string, { expAvg: Float32Array; expAvgSq: Float32Array }>): void {
    if (!Number.isInteger(step) || step < 0) throw new Error(`AdamW: bad step ${step}`);
    for (const name of moments.keys()) {
      if (!this.state.has(name)) throw new Error(`optimizer state for unknown parameter '${name}'`);
    }
    for (const { name } of this.params) {
      const s = this.state.get(name)!;
      const src = moments.get(name);
      for (const [suffix, dst, from] of [['exp_avg', s.m, src?.expAvg], ['exp_avg_sq', s.v, src?.expAvgSq]] as const) {
        if (!from) { dst.fill(0); continue; }
        if (from.length !== dst.length) throw new Error(`optimizer state '${name}.${suffix}' has ${from.length} values, parameter has ${dst.length}`);
        dst.set(from);
      }
    }
    this.step = step;
  }

  /** The trainer_state.json["optimizer"] object (§12), given the lr of the last update and the clip. */
  describe(lr: number, gradClipNorm: number | null): Record<string, unknown> {
    return {
      type: 'adamw', step: this.step, lr, beta1: this.opts.betas[0], beta2: this.opts.betas[1], eps: this.opts.eps,
      weight_decay: this.opts.weightDecay, grad_clip_norm: gradClipNorm, no_weight_decay: [...this.noDecay],
    };
  }
}

/** Whether the fused native update is available (for logs and benches). */
export function adamwIsNative(): boolean {
  return getNative() !== null;
}
