// Test-only: where the conformance fixtures live (spec/fixtures/README.md, docs/checkpoint-format.md §14).
// LRNN_SPEC_FIXTURES overrides the folder; otherwise it is <repo>/spec/fixtures, which ships with the repo.
// There is deliberately no fallback and no skip: a missing fixture throws inside the test that needs it, so
// a checkout without them fails loudly instead of silently dropping the proof that lrnn matches PyTorch.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const FIXTURE_NAMES = ['delta_net-std', 'delta_net-neg', 'mamba-std', 'mamba-neg'] as const;
export type FixtureName = (typeof FIXTURE_NAMES)[number];

/** Every file each fixture folder must hold. */
export const FIXTURE_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'expected.safetensors', 'train_expected.safetensors'] as const;

export class FixturesMissingError extends Error {
  override name = 'FixturesMissingError';
}

/**
 * The fixtures folder: $LRNN_SPEC_FIXTURES when set, else <repo>/spec/fixtures. Throws FixturesMissingError
 * naming the folder (and the first missing file) when it or any of the four fixtures is incomplete.
 */
export function fixturesDir(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.LRNN_SPEC_FIXTURES;
  const dir = override ? path.resolve(override) : path.join(repo, 'spec', 'fixtures');
  const origin = override ? 'LRNN_SPEC_FIXTURES' : 'the repo default';
  if (!existsSync(dir)) {
    throw new FixturesMissingError(`conformance fixtures folder ${dir} (${origin}) does not exist; the fixtures ship in the repo at spec/fixtures (see spec/fixtures/README.md)`);
  }
  for (const name of FIXTURE_NAMES) {
    for (const file of FIXTURE_FILES) {
      const p = path.join(dir, name, file);
      if (!existsSync(p)) throw new FixturesMissingError(`conformance fixtures folder ${dir} (${origin}) is incomplete: ${path.join(name, file)} is missing`);
    }
  }
  return dir;
}

/** One fixture's folder (fixturesDir() checked, so its files are all there). */
export function fixtureDir(name: FixtureName, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(fixturesDir(env), name);
}
