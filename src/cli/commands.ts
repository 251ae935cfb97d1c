// Every `lrnn` subcommand, in the order `lrnn --help` lists them. Add a command here and nowhere else.
import type { Command } from './command.ts';
import { compare } from './compare.ts';
import { doctor } from './doctor.ts';
import { evalCommand } from './eval.ts';
import { generate } from './generate.ts';
import { init } from './init.ts';
import { launch } from './launch.ts';
import { prepare } from './prepare.ts';
import { sweep } from './sweep.ts';
import { taskEval, taskTrain } from './task.ts';
import { tokenizerTrain } from './tokenizer.ts';
import { trainCommand } from './train.ts';

export const commands: Command[] = [doctor, init, generate, launch, prepare, tokenizerTrain, trainCommand, sweep, evalCommand, compare, taskTrain, taskEval];
