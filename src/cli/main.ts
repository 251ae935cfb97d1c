// `lrnn` entry point: dispatches to a subcommand; exit codes 0 ok, 2 bad input or bad file (UsageError),
// 1 other failure, 130/143 interrupted by SIGINT/SIGTERM (see signals.ts).
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
    // A group word alone (`lrnn task`, `lrnn task --help`): list its subcommands.
    const group = commands.filter((c) => c.name.includes(' ') && c.name.split(' ')[0] === argv[0]);
    if (group.length) {
      const help = argv.slice(1).some((a) => a === '--help' || a === '-h');
      const width = Math.max(...group.map((c) => c.name.length));
      const text = [`Usage: lrnn ${argv[0]} <command> [options]        lrnn ${argv[0]} <command> --help for its options`, '', 'Commands:',
        ...group.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`)].join('\n');
      if (help) console.log(text);
      else console.error(`lrnn ${argv[0]}: ${argv[1] ? `unknown command '${argv[1]}'` : 'missing command'}.\n${text}`);
      return help ? 0 : 2;
    }
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
