// Deterministic document-level train/validation/test split: a document's split depends only on its id (and
// the salt), through a stable hash, so adding or reordering sources never moves an existing document.
import { createHash } from 'node:crypto';

export type Split = 'train' | 'validation' | 'test';
export const SPLITS: Split[] = ['train', 'validation', 'test'];

export interface SplitFractions {
  validation: number;
  test: number;
}

export const DEFAULT_FRACTIONS: SplitFractions = { validation: 0.02, test: 0.02 };

/** A uniform number in [0, 1) from sha256(salt + '\0' + id). */
export function stableUnit(id: string, salt = 'lrnn-split-v1'): number {
  const h = createHash('sha256').update(salt).update('\0').update(id).digest();
  return (h.readUInt32BE(0) * 2 ** 21 + (h.readUInt32BE(4) >>> 11)) / 2 ** 53;
}

export function splitOf(id: string, f: SplitFractions = DEFAULT_FRACTIONS, salt?: string): Split {
  const u = stableUnit(id, salt);
  if (u < f.validation) return 'validation';
  if (u < f.validation + f.test) return 'test';
  return 'train';
}
