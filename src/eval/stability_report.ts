// eval/reports/lm-stability.md: the paired runs ([0,1] vs [-1,1] eigenvalues, same recipe otherwise) side
// by side, with the paper's language-modelling claims (docs/paper-notes.md §5.6) next to what these runs show.
// Written by scripts/repro-lm-stability.mjs (`npm run repro:lm-stability`) from `lrnn compare` summaries.
// Test: node scripts/test.mjs src/eval/stability_report
import { compareRows, type RunSummary } from './compare.ts';
import { fmt, markdownTable } from './table.ts';

export interface StabilityPair {
  /** e.g. 'DeltaNet small'. */
  label: string;
  arch: 'deltanet' | 'mamba';
  base: RunSummary;
  negeig: RunSummary;
  /** Figure files relative to the report (SVG). */
  figures: string[];
}

export interface ReportMeta {
  /** How the runs were made (command, steps, machine), one line each. */
  setup: string[];
  generated: string;
}

const pct = (a: number, b: number) => `${(((a - b) / b) * 100).toFixed(1)}%`;

/** One verdict row per claim for a pair: [claim, paper, these runs, agrees]. */
export function claimRows(p: StabilityPair): string[][] {
  const { base, negeig } = p;
  const rows: string[][] = [];
  const stable = negeig.status !== 'stopped_nonfinite' && negeig.skipped_steps <= base.skipped_steps && negeig.spikes <= base.spikes + 1;
  rows.push([
    'trains stably at the same learning rate',
    'yes, for every model ("without changing the learning rate")',
    `skipped NaN/Inf steps ${negeig.skipped_steps} vs ${base.skipped_steps}; loss spikes ${negeig.spikes} vs ${base.spikes}; max grad norm ${fmt(negeig.grad_norm_max)} vs ${fmt(base.grad_norm_max)}`,
    stable ? 'yes' : 'no',
  ]);
  if (negeig.final_val_loss !== null && base.final_val_loss !== null) {
    const a = Math.exp(negeig.final_val_loss), b = Math.exp(base.final_val_loss);
    rows.push([
      'comparable overall validation perplexity',
      'comparable, slightly worse for [-1,1]',
      `exp(mean val loss) ${fmt(a)} vs ${fmt(b)} (${pct(a, b)})`,
      Math.abs(a - b) / b <= 0.05 ? 'yes (within 5%)' : 'no (differs by more than 5%)',
    ]);
  }
  for (const split of ['code', 'math']) {
    // Held-out test perplexity (lrnn eval) when both runs have it, else the last validation perplexity.
    const useTest = negeig.splits[split]?.test_ppl != null && base.splits[split]?.test_ppl != null;
    const n = useTest ? negeig.splits[split]!.test_ppl : negeig.splits[split]?.final_ppl;
    const bb = useTest ? base.splits[split]!.test_ppl : base.splits[split]?.final_ppl;
    if (n == null || bb == null) continue;
    const lower = n < bb;
    const paper = p.arch === 'deltanet' ? 'lower for [-1,1] (Fig. 5)' : 'higher for [-1,1] (Fig. 10)';
    rows.push([`${split} perplexity with [-1,1]`, paper, `${useTest ? 'test' : 'validation'} ppl ${fmt(n)} vs ${fmt(bb)} (${pct(n, bb)})`, (p.arch === 'deltanet') === lower ? 'yes' : 'no']);
  }
  const frac = negeig.eig_frac_final;
  rows.push([
    `the extended range is used (${p.arch === 'deltanet' ? 'β > 1' : 'Ā < 0'})`,
    'implied (the flag only matters if used)',
    frac === null ? 'no telemetry' : `${(frac * 100).toFixed(2)}% of values over the last 10% of steps; range seen [${fmt(negeig.eig_min)}, ${fmt(negeig.eig_max)}]`,
    frac === null ? '—' : frac > 0 ? 'yes' : 'no',
  ]);
  return rows;
}

/** The whole report as Markdown. */
export function stabilityReport(pairs: StabilityPair[], meta: ReportMeta): string {
  const out: string[] = [
    '# Language-model stability with negative eigenvalues (allow_neg_eigval)',
    '',
    'Paired small runs that differ only in `allow_neg_eigval` (state-transition eigenvalues in [0,1] vs [-1,1]),',
    'trained with the same recipe, seed, data and learning rate, then compared with `lrnn compare`.',
    'The paper ("Unlocking State-Tracking in Linear RNNs Through Negative Eigenvalues", §5.3 / App. E.3) trains',
    '340M–1.3B models on 100B FineWeb tokens; these runs are many orders of magnitude smaller, so they test',
    'whether the extended range trains stably here and how it moves code/math perplexity, not the paper\'s numbers.',
    '',
    '## Setup',
    '',
    ...meta.setup.map((s) => `- ${s}`),
    `- generated ${meta.generated}`,
    '',
  ];
  for (const p of pairs) {
    out.push(`## ${p.label}: [0,1] (\`${p.base.name}\`) vs [-1,1] (\`${p.negeig.name}\`)`, '');
    out.push('### The paper\'s claims beside these runs', '');
    out.push(markdownTable(['claim', 'paper', 'these runs ([-1,1] vs [0,1])', 'agrees'], claimRows(p)), '');
    out.push('### Comparison table', '');
    const { headers, rows } = compareRows([p.base, p.negeig]);
    out.push(markdownTable(headers, rows), '');
    if (p.figures.length) {
      out.push('### Figures', '');
      for (const f of p.figures) out.push(`![${f}](${f})`, '');
    }
  }
  out.push('## How to reproduce', '', '```', 'npm run repro:lm-stability            # see scripts/repro-lm-stability.mjs --help', '```', '');
  return out.join('\n');
}
