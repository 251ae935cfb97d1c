#!/usr/bin/env node
// Runs the CLI from its TypeScript sources through tsx, so no build step stands between a clone and `lrnn`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exit(await main(process.argv.slice(2)));
