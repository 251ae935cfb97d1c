// `lrnn` entry point: dispatches to a subcommand; exit codes 0 ok, 2 bad input (UsageError), 1 other failure.
import { commands } from './commands.ts';
import { UsageError } from './errors.ts';

function topHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'lrnn — pretrain linear-RNN language models (DeltaNet, Mamba) with allow_neg_eigval',
    '',
    'Usage: lrnn <command> [options]        lrnn <command> --help for its options',
    '',
    'Commands:',
    ...lines,
    '',
    'Every command accepts --help, and --json to print one machine-readable JSON object instead of a table.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    console.log(topHelp());
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === '--version') {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    console.log(pkg.version);
    return 0;
  }
  // Longest match first, so `tokenizer train` wins over a plain `tokenizer`.
  const sorted = [...commands].sort((a, b) => b.name.split(' ').length - a.name.split(' ').length);
  const cmd = sorted.find((c) => c.name.split(' ').every((w, i) => argv[i] === w));
  if (!cmd) {
    console.error(`lrnn: unknown command '${argv[0]}'. Run 'lrnn --help' for the list.`);
    return 2;
  }
  const rest = argv.slice(cmd.name.split(' ').length);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.usage);
    return 0;
  }
  try {
    return (await cmd.run(rest)) ?? 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`lrnn ${cmd.name}: ${err.message}`);
      return 2;
    }
    const e = err as Error;
    console.error(`lrnn ${cmd.name}: ${e.message}`);
    if (process.env.LRNN_DEBUG) console.error(e.stack);
    return 1;
  }
}

// Run when executed directly (bin/lrnn.js or `tsx src/cli/main.ts`), not when imported by tests.
if (process.argv[1] && /cli[\\/]main\.[tj]s$/.test(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
