// Test-only: where the spec's conformance fixtures live (checkpoint-format.md §14) and how to load their
// expected tensors. LRNN_SPEC_FIXTURES overrides; else <repo>/spec/fixtures, else ../shared/spec/fixtures.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const FIXTURE_NAMES = ['delta_net-std', 'delta_net-neg', 'mamba-std', 'mamba-neg'] as const;

/** The fixtures folder, or null when this checkout has none (the tests that need it then skip, saying why). */
export function fixturesDir(): string | null {
  const candidates = [process.env.LRNN_SPEC_FIXTURES, path.join(repo, 'spec/fixtures'), path.resolve(repo, '../shared/spec/fixtures')];
  for (const c of candidates) if (c && existsSync(path.join(c, 'delta_net-std', 'model.safetensors'))) return c;
  return null;
}

export const NO_FIXTURES = 'spec fixtures not found (set LRNN_SPEC_FIXTURES)';
