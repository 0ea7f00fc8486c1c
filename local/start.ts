/**
 * `npm start`: the whole driftline on this machine. Starts the local runtime (emulators, the functions and
 * the state machine of the synthesized CDK app, the API), and on a first run registers the shipped model
 * specs and uploads the first AirPassengers drop, waits for its pipeline, and prints what to try next.
 * State lives under $DRIFTLINE_HOME (default .driftline/); a restart keeps data, registry and models.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { describeRun, registerSpec, waitForRun } from '../bin/commands/remote.ts';
import { resolveTarget, type Target } from '../bin/target.ts';
import { startRuntime } from './runtime.ts';

const repo = new URL('..', import.meta.url).pathname;
const FIRST_DROP = 'data/drops/air-passengers-1949-1958.csv';

/** A port from the environment; the emulators default to any free port (runtime.json tells the CLI). */
function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error(`driftline: ${name} must be a port number, got "${raw}"`);
    process.exit(2);
  }
  return port;
}

/**
 * Registers the shipped specs and trains the first model from the first drop. The specs go through the
 * registerSpec function, as `driftline specs add` sends them: one way into the registry, run on every
 * first start.
 */
async function bootstrap(target: Target): Promise<void> {
  const specsDir = join(repo, 'data/specs');
  for (const file of readdirSync(specsDir).filter((name) => name.endsWith('.json'))) {
    const spec = await registerSpec(target, JSON.parse(readFileSync(join(specsDir, file), 'utf8')));
    console.log(`registered model spec "${spec.model}" (${spec.task}) from data/specs/${file}`);
  }
  const key = 'incoming/air-passengers/1949-1958.csv';
  await target.s3.send(
    new PutObjectCommand({
      Bucket: target.outputs.BucketName,
      Key: key,
      Body: readFileSync(join(repo, FIRST_DROP)),
      ContentType: 'text/csv',
    }),
  );
  console.log(
    `uploaded ${FIRST_DROP} to s3://${target.outputs.BucketName}/${key}; training the first model…`,
  );
  const run = await waitForRun(target, 'air-passengers', key);
  console.log(describeRun(run));
}

async function main() {
  const started = Date.now();
  const runtime = await startRuntime({
    home: process.env.DRIFTLINE_HOME,
    port: portFromEnv('PORT', 3000),
    s3Port: portFromEnv('DRIFTLINE_S3_PORT', 0),
    dynamodbPort: portFromEnv('DRIFTLINE_DYNAMODB_PORT', 0),
  }).catch((error: NodeJS.ErrnoException) => {
    const reason =
      error.code === 'EADDRINUSE'
        ? `port ${(error as { port?: number }).port ?? ''} is in use (is another driftline running?); set PORT to another port`
        : error.message;
    console.error(`driftline: could not start: ${reason}`);
    process.exit(1);
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping driftline…`);
    await runtime.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  const target = await resolveTarget({ home: runtime.home });
  if ((await target.registry.listModels()).length === 0) await bootstrap(target);

  const models = await target.registry.listModels();
  const production = await Promise.all(models.map((name) => target.registry.getPointer(name, 'production')));
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`
driftline is serving at ${runtime.apiUrl} (ready in ${seconds} s; state in ${runtime.home})
${models.map((name, i) => `  ${name}: ${production[i] ? `version ${production[i]!.version} in production` : 'no production version yet'}`).join('\n')}

Next, in another terminal:
  npx driftline upload data/drops/air-passengers-1959-1960.csv --model air-passengers   # no drift: held back
  npx driftline retrain air-passengers                                                 # train it in anyway
  npx driftline predict --model air-passengers --history 340,318,362,348,363,435,491,505,404,359,310,337
  npx driftline runs air-passengers                                                    # what each run decided
  npx driftline upload data/breast-cancer.csv --model breast-cancer                    # a classifier, same loop
  open ${runtime.apiUrl}                                                           # reports, and API docs at /docs

Ctrl-C stops it; the next npm start picks up where this one left off.`);
}

await main();
