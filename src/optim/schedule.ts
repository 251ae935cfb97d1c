// Learning-rate schedules as pure functions of the 1-based update number (docs/checkpoint-format.md §11:
// `lr(step)` must be reproducible from trainer_state.json["lr_schedule"], which `describeSchedule` writes).
//   cosine:   linear warm-up 0 → lr over `warmup` steps, then cosine from lr to min_lr at `total`.
//   constant: linear warm-up, then lr.
//   wsd:      warm-up, stable at lr, then a linear decay to min_lr over the last decay_frac of the steps.
// Test: node scripts/test.mjs src/optim

export interface ScheduleOptions {
  type: 'cosine' | 'constant' | 'wsd';
  /** Peak learning rate. */
  lr: number;
  minLr: number;
  warmup: number;
  total: number;
  /** WSD: fraction of `total` spent decaying (default 0.2). */
  decayFrac?: number;
}

/** The learning rate of update number `step` (1-based). Steps past `total` stay at the final value. */
export function lrAt(step: number, o: ScheduleOptions): number {
  if (!(step >= 1)) throw new Error(`lrAt: step must be ≥ 1 (1-based update number), got ${step}`);
  // Warm-up reaches the peak on its last step (step == warmup), as flame/torchtitan do.
  if (step <= o.warmup) return (o.lr * step) / o.warmup;
  if (o.type === 'constant') return o.lr;
  if (o.type === 'cosine') {
    const span = Math.max(1, o.total - o.warmup);
    const progress = Math.min(1, (step - o.warmup) / span);
    return o.minLr + 0.5 * (o.lr - o.minLr) * (1 + Math.cos(Math.PI * progress));
  }
  // wsd
  const decaySteps = Math.max(1, Math.round((o.decayFrac ?? 0.2) * o.total));
  const decayStart = Math.max(o.warmup, o.total - decaySteps);
  if (step <= decayStart) return o.lr;
  const progress = Math.min(1, (step - decayStart) / Math.max(1, o.total - decayStart));
  return o.lr + (o.minLr - o.lr) * progress;
}

/** trainer_state.json["lr_schedule"]. */
export function describeSchedule(o: ScheduleOptions): Record<string, unknown> {
  return {
    type: o.type, peak_lr: o.lr, min_lr: o.minLr, warmup_steps: o.warmup, total_steps: o.total,
    ...(o.type === 'wsd' ? { decay_frac: o.decayFrac ?? 0.2 } : {}),
  };
}
