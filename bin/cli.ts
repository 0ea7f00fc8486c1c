/**
 * `driftline`: the command line. Offline commands (drift, validate, backtest) use only the pure core;
 * the rest drive a running stack — the local runtime by default, a deployed stack with `--stack`, or any
 * endpoint (LocalStack) with `--endpoint`.
 */
import { Command, CommanderError } from 'commander';
import { backtestCommand, driftCommand, validateCommand } from './commands/offline.ts';
import {
  feedbackCommand,
  lineageCommand,
  modelsCommand,
  predictCommand,
  promoteCommand,
  reportCommand,
  retrainCommand,
  rollbackCommand,
  runsCommand,
  specsAddCommand,
  uploadCommand,
} from './commands/remote.ts';
import { CliError } from './output.ts';
import { unreachableMessage } from './target.ts';

const program = new Command('driftline')
  .description('driftline: a self-healing retrain-and-serve loop, on AWS or on this machine')
  .showHelpAfterError()
  .exitOverride();

program
  .command('drift')
  .description('compare two CSV files column by column and say whether the data drifted')
  .argument('<reference.csv>', 'the baseline data')
  .argument('<current.csv>', 'the new data')
  .option(
    '--spec <spec.json>',
    'a model spec: its drift settings, and for forecasts the transformed target the model learns from',
  )
  .option('--json', 'print the report as JSON')
  .action(driftCommand);

program
  .command('validate')
  .description('check a data drop against a model spec')
  .argument('<data.csv>', 'the drop')
  .requiredOption('--spec <spec.json>', 'the model spec')
  .option('--json', 'print the report as JSON')
  .action(validateCommand);

program
  .command('backtest')
  .description('fit on everything before the holdout and score the holdout (forecasts: one step ahead)')
  .argument('<data.csv>', 'the data')
  .requiredOption('--spec <spec.json>', 'the model spec')
  .option('--engine <name>', "forest engine: fast or ml-random-forest (default: the spec's)")
  .option('--json', 'print the result as JSON')
  .action(backtestCommand);

/** The options that choose which driftline a command talks to. */
function remote(command: Command): Command {
  return command
    .option('--stack <name>', 'a deployed stack (reads its CloudFormation outputs)')
    .option(
      '--endpoint <url>',
      'an endpoint speaking the AWS APIs, e.g. LocalStack (stack name from --stack, default Driftline)',
    )
    .option('--home <dir>', 'the local runtime state folder (default $DRIFTLINE_HOME or .driftline/)');
}

remote(
  program
    .command('upload')
    .description('upload a data drop and follow the pipeline run it starts')
    .argument('<data.csv>', 'the drop')
    .requiredOption('--model <name>', 'the model the data is for')
    .option('--no-wait', 'return after the upload')
    .option('--json', 'print the finished run as JSON'),
).action(uploadCommand);

remote(
  program
    .command('retrain')
    .description('merge the drops held back without drift and train now, whatever drift said')
    .argument('<name>', 'the model')
    .option('--no-wait', 'return once the run started')
    .option('--json', 'print the finished run as JSON'),
).action(retrainCommand);

remote(
  program
    .command('predict')
    .description('ask the serving API for a prediction')
    .requiredOption('--model <name>', 'the model')
    .option('--history <values>', 'forecast: recent values, oldest first, comma-separated')
    .option('--json <file>', 'instances from a JSON file: {"instances": [...]}, an array, or one instance')
    .option('--raw', 'print the API response as it is'),
).action(predictCommand);

remote(
  program
    .command('feedback')
    .description(
      'report what really happened for earlier predictions (their live error drives the quality alarm)',
    )
    .requiredOption('--model <name>', 'the model')
    .option('--id <id>', 'the id a prediction answered with')
    .option('--actual <number>', 'the true value or class label')
    .option('--json <file>', 'several labels: [{"id", "actual"}, …] or {"feedback": [...]}')
    .option('--raw', 'print the API response as it is'),
).action(feedbackCommand);

remote(
  program
    .command('models')
    .description('list models, or show one: versions, stages, metrics, audit (a page of each)')
    .argument('[name]', 'a model')
    .option('--limit <n>', 'versions and audit records per page (1-100)', '20')
    .option('--next <cursor>', 'the next page of versions (printed under the last page)')
    .option('--audit-next <cursor>', 'the next page of the audit trail (printed under the last page)')
    .option('--json', 'print as JSON'),
).action(modelsCommand);

remote(
  program
    .command('runs')
    .description('the pipeline runs of a model, newest first, a page at a time')
    .argument('<name>', 'the model')
    .option('--limit <n>', 'runs per page (1-100)', '20')
    .option('--next <cursor>', 'the next page (printed under the last page)')
    .option('--json', 'print as JSON'),
).action(runsCommand);

remote(
  program
    .command('lineage')
    .description(
      "every drop merged into a model's datasets, newest first, and what the history window left out",
    )
    .argument('<name>', 'the model')
    .option('--version <n>', "the lineage of a version's dataset (default: the latest dataset)")
    .option('--json', 'print the lineage manifests as JSON'),
).action(lineageCommand);

remote(
  program
    .command('promote')
    .description('put a version of a model in production')
    .argument('<name>', 'the model')
    .argument('<version>', 'the version')
    .option('--reason <text>', 'recorded in the audit')
    .option('--json', 'print as JSON'),
).action(promoteCommand);

remote(
  program
    .command('rollback')
    .description('return a model to the version that served before')
    .argument('<name>', 'the model')
    .option('--reason <text>', 'recorded in the audit')
    .option('--json', 'print as JSON'),
).action(rollbackCommand);

remote(
  program
    .command('report')
    .description(
      "the address of a model's report page (on AWS also a presigned link to the last run's snapshot)",
    )
    .argument('<name>', 'the model')
    .option('--open', 'open it in the browser')
    .option('--json', 'print as JSON'),
).action(reportCommand);

const specs = program.command('specs').description('model specs');
remote(
  specs
    .command('add')
    .description('register (or replace) a model spec')
    .argument('<spec.json>', 'the spec file')
    .option('--json', 'print as JSON'),
).action(specsAddCommand);

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
  const unreachable = unreachableMessage(error);
  if (unreachable !== undefined) {
    console.error(`driftline: ${unreachable}`);
    process.exit(1);
  }
  console.error(`driftline: unexpected error: ${(error as Error).stack ?? error}`);
  process.exit(1);
}
