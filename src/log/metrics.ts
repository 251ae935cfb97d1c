// checkpoints/<run>/metrics.jsonl: the machine record of a run, one JSON object per line, written with a
// synchronous write per line so a crash never loses a completed line. It is the contract that
// `lrnn compare`, the repro report and the golden-loss tests read; never parse the human log instead.
//
// Records (`kind`):
//   step  one per optimizer step (skipped NaN/Inf steps included, with skipped: true)
//   eval  one per periodic/final evaluation: per-split loss, ppl, bits per byte
//   done  one at the end of a run: totals
// Everything outside a record's `perf` object is deterministic: the same recipe and seed give the same
// values, and a resumed run gives the same values as an uninterrupted one. `perf` holds wall-clock and
// memory figures (tokens/s, data wait, RSS).
// Test: node scripts/test.mjs src/log
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';

/** Wall-clock and memory figures (not deterministic). */
export interface PerfFields {
  /** Target tokens per second over this step (forward + backward + optimizer + data). */
  tokens_per_s: number;
  step_s: number;
  /** Seconds spent waiting for the data loader in this step. */
  data_wait_s: number;
  /** Seconds since the run (or this resumed segment) started. */
  elapsed_s: number;
  rss_mb: number;
  /** Peak resident set size of the process so far (getrusage maxrss). */
  peak_rss_mb: number;
}

/** Per-layer range telemetry of the eigenvalue-controlling quantity. */
export interface EigStat {
  layer: number;
  /** 'beta' (DeltaNet: β ∈ (0,1) or (0,2)) or 'abar' (Mamba: Ā ∈ (0,1) or (−1,1)). */
  kind: 'beta' | 'abar';
  /** Fraction in the extended range: β > 1 (DeltaNet) or Ā < 0 (Mamba). 0 when allow_neg_eigval is off. */
  frac_ext: number;
  min: number;
  max: number;
}

export interface StepRecord {
  kind: 'step';
  /** 1-based update number. */
  step: number;
  /** Target tokens that contributed to the loss, summed over completed steps (skipped steps included). */
  tokens_seen: number;
  /** Mean training loss of the step's microbatches (NaN/Inf is written as null). */
  loss: number | null;
  lr: number;
  /** Global gradient L2 norm before clipping (null when non-finite). */
  grad_norm: number | null;
  /** Gradient norm per layer group before clipping (`layers.<i>`, embed, head, final_norm). */
  grad_norm_groups: Record<string, number | null>;
  clipped: boolean;
  /** ‖Δp‖/‖p‖ over all parameters for this update (0 on a skipped step). */
  update_ratio: number;
  /** True when the step's loss or gradients were NaN/Inf and the update was skipped. */
  skipped: boolean;
  /** Skipped NaN/Inf steps so far in the run. */
  nonfinite_count: number;
  /** Rolling z-score of the loss against the previous window (null while warming up). */
  loss_z: number | null;
  spike: boolean;
  /** Loss spikes so far in the run. */
  spike_count: number;
  eig: EigStat[];
  perf: PerfFields;
}

export interface SplitEval {
  tokens: number;
  /** Mean next-token NLL in nats. */
  loss: number;
  ppl: number;
  /** Bits per byte (tokenizer-independent); null when the byte count is unknown. */
  bpb: number | null;
}

export interface EvalRecord {
  kind: 'eval';
  step: number;
  tokens_seen: number;
  splits: Record<string, SplitEval>;
  /** Mean loss over the splits (what keep_best compares). */
  mean_loss: number;
  perf: { eval_s: number };
}

export interface DoneRecord {
  kind: 'done';
  step: number;
  tokens_seen: number;
  /** 'completed', 'stopped_nonfinite' (max_nonfinite_steps reached) or 'interrupted'. */
  status: 'completed' | 'stopped_nonfinite' | 'interrupted';
  nonfinite_count: number;
  spike_count: number;
  perf: { wall_s: number; peak_rss_mb: number; mean_tokens_per_s: number };
}

export type MetricsRecord = StepRecord | EvalRecord | DoneRecord;

/** JSON.stringify with NaN/±Inf written as null (JSON has no such numbers; a reader sees null = non-finite). */
export function toJsonLine(rec: object): string {
  return JSON.stringify(rec, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)) + '\n';
}

/** Appends records to metrics.jsonl, one synchronous write per line. */
export class MetricsWriter {
  private fd: number | null;
  readonly file: string;

  /**
   * Opens `file` for appending. With `resumeStep`, first drops every record after that step (a crash may
   * have left steps past the checkpoint being resumed), so the file reads as if the run never stopped.
   * Without it, an existing non-empty file is an error (a fresh run must not mix with an old one).
   */
  constructor(file: string, opts: { resumeStep?: number } = {}) {
    this.file = file;
    mkdirSync(path.dirname(file), { recursive: true });
    if (opts.resumeStep !== undefined) truncateAfter(file, opts.resumeStep);
    else if (existsSync(file) && readFileSync(file).length > 0) throw new Error(`${file} already exists; resume the run or choose another name`);
    this.fd = openSync(file, 'a');
  }

  write(rec: MetricsRecord): void {
    if (this.fd === null) throw new Error(`metrics writer for ${this.file} is closed`);
    writeSync(this.fd, toJsonLine(rec));
  }

  close(): void {
    if (this.fd === null) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
  }
}

/** Keeps the records with step ≤ `step` (and drops a torn last line), atomically. */
export function truncateAfter(file: string, step: number): void {
  if (!existsSync(file)) return;
  const kept = readMetrics(file).filter((r) => r.step <= step && r.kind !== 'done');
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, kept.map(toJsonLine).join(''));
  renameSync(tmp, file);
}

/**
 * Reads metrics.jsonl. A torn last line (a crash mid-write) is ignored; a corrupt line elsewhere is an
 * error naming the file and line number.
 */
export function readMetrics(file: string): MetricsRecord[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: MetricsRecord[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as MetricsRecord);
    } catch {
      const isLast = lines.slice(i + 1).every((l) => !l.trim());
      if (!isLast) throw new Error(`${file}:${i + 1}: not a JSON line`);
    }
  });
  return out;
}

/** A record without its `perf` object: the deterministic part (what reproducibility tests compare). */
export function withoutPerf(rec: MetricsRecord): Omit<MetricsRecord, 'perf'> {
  const { perf: _perf, ...rest } = rec;
  return rest;
}
