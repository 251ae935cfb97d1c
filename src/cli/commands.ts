// Every `lrnn` subcommand, in the order `lrnn --help` lists them. Add a command here and nowhere else.
import type { Command } from './command.ts';
import { doctor } from './doctor.ts';

export const commands: Command[] = [doctor];
