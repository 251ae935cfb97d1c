// Error kinds the CLI maps to exit codes: UsageError → 2 (bad input: flags, recipes, files), others → 1.

/** Bad input from the user: a flag, a recipe key, a file. The CLI prints the message on one line and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
