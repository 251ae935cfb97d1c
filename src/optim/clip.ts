// Gradient norms and global-norm clipping over named Float32Arrays (PyTorch's clip_grad_norm_ rule,
// docs/checkpoint-format.md §12): n = sqrt(Σ g²) over all parameters; if n > max, every g *= max / (n + 1e-6).
// Per-group norms (e.g. one per layer) come from the same pass, for the stability telemetry.
// Test: node scripts/test.mjs src/optim

export interface ClipResult {
  /** Global L2 norm before clipping (NaN/Inf when a gradient is non-finite). */
  norm: number;
  /** The factor applied (1 when not clipped or when clipping is off). */
  scale: number;
  clipped: boolean;
  /** L2 norm per group before clipping, keyed by group name. */
  groups: Record<string, number>;
}

/** Sum of squares in float64 (float32 accumulation loses digits on million-element tensors). */
export function sumSquares(g: Float32Array): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const n4 = g.length - (g.length % 4);
  for (let i = 0; i < n4; i += 4) {
    s0 += g[i]! * g[i]!;
    s1 += g[i + 1]! * g[i + 1]!;
    s2 += g[i + 2]! * g[i + 2]!;
    s3 += g[i + 3]! * g[i + 3]!;
  }
  for (let i = n4; i < g.length; ++i) s0 += g[i]! * g[i]!;
  return s0 + s1 + s2 + s3;
}

/**
 * Layer group of a parameter name: `layers.<i>` for block parameters, `embed` for embeddings, `head` for
 * lm_head, `final_norm` for the final norm, else `other`.
 */
export function paramGroup(name: string): string {
  const m = /(?:^|\.)layers\.(\d+)\./.exec(name);
  if (m) return `layers.${m[1]}`;
  if (/embed/.test(name)) return 'embed';
  if (/lm_head/.test(name)) return 'head';
  if (/norm/.test(name)) return 'final_norm';
  return 'other';
}

/** Global and per-group L2 norms of the gradients, without changing them. */
export function gradNorms(grads: ReadonlyMap<string, Float32Array>, group: (name: string) => string = paramGroup): { norm: number; groups: Record<string, number> } {
  const sq: Record<string, number> = {};
  let total = 0;
  for (const [name, g] of grads) {
    const s = sumSquares(g);
    total += s;
    const k = group(name);
    sq[k] = (sq[k] ?? 0) + s;
  }
  const groups: Record<string, number> = {};
  for (const [k, s] of Object.entries(sq)) groups[k] = Math.sqrt(s);
  return { norm: Math.sqrt(total), groups };
}

/**
 * Clips the gradients in place to global norm `maxNorm` (0 or null: no clipping) and returns the
 * pre-clip norms. Non-finite norms are reported and the gradients left alone: the caller skips the step.
 */
export function clipGradNorm(grads: ReadonlyMap<string, Float32Array>, maxNorm: number | null, group?: (name: string) => string): ClipResult {
  const { norm, groups } = gradNorms(grads, group);
  if (!maxNorm || !Number.isFinite(norm) || norm <= maxNorm) return { norm, scale: 1, clipped: false, groups };
  const scale = maxNorm / (norm + 1e-6);
  for (const g of grads.values()) for (let i = 0; i < g.length; ++i) g[i] = g[i]! * scale;
  return { norm, scale, clipped: true, groups };
}
