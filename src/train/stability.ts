// Stability telemetry and the NaN/Inf skip rule (llm.c's outlier detector, the paper's "NaN/Inf loss
// batches are skipped"): a rolling z-score of the loss that flags spikes, a counter of skipped non-finite
// steps that stops the run after a limit, and the update/parameter ratio ‖Δp‖/‖p‖.
// The state is plain JSON so a resumed run flags exactly what the uninterrupted run would.
// Test: node scripts/test.mjs src/train/stability

/** Rolling mean/std of the last `window` finite losses; z of a new loss against them. */
export class SpikeDetector {
  private buf: number[] = [];
  spikes = 0;

  constructor(readonly window: number, readonly threshold: number, readonly minSamples = Math.min(10, window)) {
    if (window < 2) throw new Error(`SpikeDetector: window must be ≥ 2, got ${window}`);
  }

  /**
   * Scores `loss` against the previous window, then adds it. Returns z (null while fewer than minSamples
   * losses are known, or for a non-finite loss, which never enters the window) and whether it is a spike
   * (z > threshold: only upward jumps count).
   */
  observe(loss: number): { z: number | null; spike: boolean } {
    if (!Number.isFinite(loss)) return { z: null, spike: false };
    let z: number | null = null;
    const n = this.buf.length;
    if (n >= this.minSamples) {
      let mean = 0;
      for (const x of this.buf) mean += x;
      mean /= n;
      let v = 0;
      for (const x of this.buf) v += (x - mean) ** 2;
      const std = Math.sqrt(v / (n - 1));
      // A flat window (std ~ 0) would make any change infinite; floor it relative to the mean.
      z = (loss - mean) / Math.max(std, 1e-8 * Math.max(1, Math.abs(mean)));
    }
    this.buf.push(loss);
    if (this.buf.length > this.window) this.buf.shift();
    const spike = z !== null && z > this.threshold;
    if (spike) this.spikes += 1;
    return { z, spike };
  }

  toJSON(): { window: number[]; spikes: number } {
    return { window: [...this.buf], spikes: this.spikes };
  }

  restore(s: { window: number[]; spikes: number }): void {
    this.buf = s.window.slice(-this.window);
    this.spikes = s.spikes;
  }
}

export type StepVerdict = 'ok' | 'skip' | 'stop';

/**
 * The skip rule: a step whose loss or gradient norm is NaN/Inf is not applied and is counted; once
 * `maxNonfinite` steps have been skipped the run stops ('stop' is returned for the step that reaches it).
 */
export class NonfiniteGuard {
  count = 0;

  constructor(readonly maxNonfinite: number) {}

  check(loss: number, gradNorm: number): StepVerdict {
    if (Number.isFinite(loss) && Number.isFinite(gradNorm)) return 'ok';
    this.count += 1;
    return this.count >= this.maxNonfinite ? 'stop' : 'skip';
  }

  /** The message shown when the run stops. */
  stopMessage(step: number): string {
    return `stopping at step ${step}: ${this.count} steps had a NaN/Inf loss or gradient (train.max_nonfinite_steps = ${this.maxNonfinite}). ` +
      'Lower train.lr, raise train.warmup or check the data; metrics.jsonl marks the skipped steps.';
  }
}

/** Σ (a − b)² and Σ b² in float64, for ‖Δp‖ and ‖p‖ without allocating Δp. */
export function diffSquares(after: Float32Array, before: Float32Array): { diff: number; base: number } {
  if (after.length !== before.length) throw new Error(`diffSquares: lengths ${after.length} and ${before.length} differ`);
  let diff = 0, base = 0;
  for (let i = 0; i < after.length; ++i) {
    const d = after[i]! - before[i]!;
    diff += d * d;
    base += before[i]! * before[i]!;
  }
  return { diff, base };
}

/** Accumulates ‖Δp‖/‖p‖ over many tensors (global, and per group when a group is given). */
export class UpdateRatio {
  private diff = 0;
  private base = 0;
  private readonly groups = new Map<string, { diff: number; base: number }>();

  add(after: Float32Array, before: Float32Array, group?: string): void {
    const s = diffSquares(after, before);
    this.addSums(s.diff, s.base, group);
  }

  /** One tensor's Σ Δp² and Σ p² as the optimizer measured them during its update (AdamW's sink). */
  addSums(diff: number, base: number, group?: string): void {
    this.diff += diff;
    this.base += base;
    if (group !== undefined) {
      const g = this.groups.get(group) ?? { diff: 0, base: 0 };
      g.diff += diff;
      g.base += base;
      this.groups.set(group, g);
    }
  }

  /** The global ratio (0 when the parameters are all zero). */
  value(): number {
    return this.base > 0 ? Math.sqrt(this.diff / this.base) : 0;
  }

  byGroup(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, g] of this.groups) out[k] = g.base > 0 ? Math.sqrt(g.diff / g.base) : 0;
    return out;
  }
}
