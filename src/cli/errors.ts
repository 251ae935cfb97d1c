// Error kinds the CLI maps to exit codes: UsageError → 2 (bad input: flags, recipes, files), others → 1.

/** Bad input from the user: a flag, a recipe key, a file. The CLI prints the message on one line and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Whether an error from below the CLI is about a bad file rather than a bug: a truncated, corrupt or
 * mismatched dataset shard, checkpoint or config (exit 2; the message already names the file).
 */
export function isBadFileError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (e.name === 'SafetensorsError' || e.name === 'BadInputError' || e.name === 'ResumeError' || e.name === 'DataConfigError' || e.name === 'DatasetIntegrityError') return true;
  return /re-run 'lrnn prepare'|truncated|corrupt|checksum|sha256|invalid JSON|config\.json|safetensors: |trainer_state\.json|manifest\.json|unknown tensor|missing tensor|cannot read/.test(e.message);
}

/** Re-throws a bad-file error as a UsageError (exit 2), anything else unchanged. */
export function asUsage(e: unknown): unknown {
  return isBadFileError(e) ? new UsageError((e as Error).message) : e;
}
