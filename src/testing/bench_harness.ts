// Benchmark harness: each *.bench.ts under src/ (beside what it measures) exports `benches: Bench[]`;
// `npm run bench` (scripts/bench.ts) runs them and prints one JSON object per line: {"name", "value", "unit",
// ...details}. Names are stable: later work adds entries, never renames them. A leaf: it imports nothing, so a
// bench in any layer can use it without tying that layer to the runner or to other layers.
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  [detail: string]: unknown;
}

export interface Bench {
  /** Stable dotted name, e.g. 'matmul.sgemm'; `--only PREFIX` selects by prefix. */
  name: string;
  /** Runs the measurement and returns one or more results (a bench may report several related names). */
  run(): Promise<BenchResult | BenchResult[]>;
}

/** Median wall time in ms of `fn` over `reps` runs after `warmup` runs. */
export async function timeMs(fn: () => unknown | Promise<unknown>, reps = 5, warmup = 1): Promise<{ median: number; min: number; runs: number[] }> {
  for (let i = 0; i < warmup; ++i) await fn();
  const runs: number[] = [];
  for (let i = 0; i < reps; ++i) {
    const t0 = process.hrtime.bigint();
    await fn();
    runs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const sorted = [...runs].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, runs };
}
