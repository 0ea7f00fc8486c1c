/**
 * `driftline`: the command line. Offline commands (drift, validate, backtest) use only the pure core;
 * the rest drive a running stack — the local runtime by default, a deployed stack with `--stack`, or any
 * endpoint (LocalStack) with `--endpoint`.
 */
import { Command, CommanderError } from 'commander';
import { driftCommand, validateCommand } from './commands/offline.ts';
import { CliError } from './output.ts';

const program = new Command('driftline')
  .description('driftline: a self-healing retrain-and-serve loop, on AWS or on this machine')
  .showHelpAfterError()
  .exitOverride();

program
  .command('drift')
  .description('compare two CSV files column by column and say whether the data drifted')
  .argument('<reference.csv>', 'the baseline data')
  .argument('<current.csv>', 'the new data')
  .option('--spec <spec.json>', 'a model spec: its drift settings, and for forecasts the lag features')
  .option('--json', 'print the report as JSON')
  .action(driftCommand);

program
  .command('validate')
  .description('check a data drop against a model spec')
  .argument('<data.csv>', 'the drop')
  .requiredOption('--spec <spec.json>', 'the model spec')
  .option('--json', 'print the report as JSON')
  .action(validateCommand);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  if (error instanceof CliError) {
    console.error(`driftline: ${error.message}`);
    process.exit(error.exitCode);
  }
  console.error(`driftline: unexpected error: ${(error as Error).stack ?? error}`);
  process.exit(1);
}
