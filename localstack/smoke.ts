/**
 * Smoke test of a driftline stack deployed to LocalStack (`npm run smoke:localstack [-- STACK_NAME]`): the
 * loop a user drives, end to end. Registers the shipped specs, drops the 1949-1958 AirPassengers data under
 * `incoming/`, follows the Step Functions execution the drop starts (S3 → EventBridge → Step Functions) and
 * its run record, then asks API Gateway for a forecast and prints the version that answered.
 *
 * Settings: the stack name (argument, else `STACK_NAME`, else `Driftline`), `LOCALSTACK_ENDPOINT` (default
 * http://localhost:4566) and `AWS_REGION` (default us-east-1, as for `localstack/deploy.sh`).
 * Exits 0 when a forecast came back, 1 at the first step that fails, naming it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { describeRun, registerSpec, waitForRun } from '../bin/commands/remote.ts';
import { resolveTarget, type Target } from '../bin/target.ts';
import type { RunRecord } from '../lambdas/shared/registry.ts';
import {
  DEFAULT_ENDPOINT,
  missingServices,
  pathStyleApiUrl,
  REQUIRED_SERVICES,
  readHealth,
} from './endpoint.ts';

const REPOSITORY = fileURLToPath(new URL('..', import.meta.url));
const SPECS_DIR = join(REPOSITORY, 'data/specs');
const MODEL = 'air-passengers';
const DROP_FILE = join(REPOSITORY, 'data/drops/air-passengers-1949-1958.csv');
/** The forecast model predicts the next month from the previous 12. */
const HISTORY_LENGTH = 12;

/** EventBridge delivers within seconds; the first Lambda of a run may also pull its runtime image. */
const EXECUTION_START_TIMEOUT_MS = 3 * 60_000;
/** A whole run: cold containers for every step plus the hyperparameter search on the host's CPUs. */
const RUN_TIMEOUT_MS = 20 * 60_000;
const POLL_MS = 2000;

/** A step of the smoke test that did not do what it should; the message names the step. */
class SmokeFailure extends Error {
  override readonly name = 'SmokeFailure';
}

interface Settings {
  endpoint: string;
  stack: string;
  region: string;
}

function readSettings(): Settings {
  return {
    endpoint: process.env.LOCALSTACK_ENDPOINT ?? DEFAULT_ENDPOINT,
    stack: process.argv[2] ?? process.env.STACK_NAME ?? 'Driftline',
    region: process.env.AWS_REGION ?? 'us-east-1',
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs one step, printing its title, and turns any error into a {@link SmokeFailure} naming the step. */
async function step<T>(title: string, action: () => Promise<T>): Promise<T> {
  console.log(`• ${title}`);
  try {
    return await action();
  } catch (error) {
    if (error instanceof SmokeFailure) throw error;
    throw new SmokeFailure(`${title}: ${(error as Error).message}`, { cause: error });
  }
}

async function checkLocalStack(endpoint: string): Promise<string> {
  const health = await readHealth(endpoint);
  const missing = missingServices(health, REQUIRED_SERVICES);
  if (missing.length > 0) {
    throw new SmokeFailure(
      `LocalStack at ${endpoint} does not offer ${missing.join(', ')}; use localstack/docker-compose.yml`,
    );
  }
  return [health.edition, health.version].filter(Boolean).join(' ');
}

/** Registers every spec of `dir` as `driftline specs add` does (the registerSpec function); returns their names. */
async function registerSpecs(target: Target, dir: string): Promise<string[]> {
  const files = readdirSync(dir).filter((file) => file.endsWith('.json'));
  const names: string[] = [];
  for (const file of files) {
    const spec = await registerSpec(target, JSON.parse(readFileSync(join(dir, file), 'utf8')));
    names.push(spec.model);
  }
  if (!names.includes(MODEL)) throw new SmokeFailure(`${dir} has no spec for ${MODEL}`);
  return names;
}

/** Uploads `file` as a new drop of `model`; returns its key. */
async function uploadDrop(target: Target, model: string, file: string): Promise<string> {
  const stamp = new Date().toISOString().replaceAll(/[-:.]/g, '');
  const key = `incoming/${model}/${stamp}-${basename(file)}`;
  await target.s3.send(
    new PutObjectCommand({
      Bucket: target.outputs.BucketName,
      Key: key,
      Body: readFileSync(file),
      ContentType: 'text/csv',
    }),
  );
  return key;
}

/** The object key in an execution's input, which is the EventBridge `Object Created` event. */
function droppedKey(input: string | undefined): string | undefined {
  try {
    return (JSON.parse(input ?? '{}') as { detail?: { object?: { key?: string } } }).detail?.object?.key;
  } catch {
    return undefined;
  }
}

/** Waits for the execution the drop `key` started; throws when none starts within the timeout. */
async function findExecution(sfn: SFNClient, stateMachineArn: string, key: string): Promise<string> {
  const deadline = Date.now() + EXECUTION_START_TIMEOUT_MS;
  const seen = new Set<string>();
  while (Date.now() < deadline) {
    const { executions = [] } = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn, maxResults: 50 }),
    );
    for (const { executionArn } of executions) {
      if (executionArn === undefined || seen.has(executionArn)) continue;
      seen.add(executionArn);
      const { input } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (droppedKey(input) === key) return executionArn;
    }
    await sleep(POLL_MS);
  }
  throw new SmokeFailure(
    `no execution of ${stateMachineArn} started for ${key} within ${EXECUTION_START_TIMEOUT_MS / 1000} s: ` +
      'the data bucket → EventBridge → state machine path did not fire (see localstack/README.md)',
  );
}

async function waitForExecution(
  sfn: SFNClient,
  executionArn: string,
): Promise<DescribeExecutionCommandOutput> {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (execution.status !== 'RUNNING' && execution.status !== 'PENDING_REDRIVE') return execution;
    await sleep(POLL_MS);
  }
  throw new SmokeFailure(`${executionArn} still running after ${RUN_TIMEOUT_MS / 60_000} minutes`);
}

/** The last {@link HISTORY_LENGTH} monthly values of a `month,value` CSV, oldest first. */
function lastHistory(file: string): number[] {
  const values = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => Number(line.split(',')[1]));
  const history = values.slice(-HISTORY_LENGTH);
  if (history.length < HISTORY_LENGTH || history.some((value) => !Number.isFinite(value))) {
    throw new SmokeFailure(`${file} does not end with ${HISTORY_LENGTH} numeric months`);
  }
  return history;
}

interface PredictAnswer {
  version: number;
  predictions: { value?: number }[];
}

/**
 * Asks for one forecast. The predict function's first call starts a container, which LocalStack's API
 * Gateway may not wait for: a 502/503/504 is retried a few times.
 */
async function predict(apiUrl: string, model: string, history: number[]): Promise<PredictAnswer> {
  const url = `${apiUrl}models/${encodeURIComponent(model)}/predict`;
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [{ history }] }),
    });
    const text = await response.text();
    if (response.ok) return JSON.parse(text) as PredictAnswer;
    if (![502, 503, 504].includes(response.status) || attempt === 3) {
      throw new SmokeFailure(`POST ${url} answered ${response.status}: ${text.slice(0, 300)}`);
    }
    await sleep(5000);
  }
}

async function main(settings: Settings): Promise<void> {
  const { endpoint, stack, region } = settings;
  const localstack = await step(`LocalStack answers at ${endpoint}`, () => checkLocalStack(endpoint));
  console.log(`  ${localstack || 'LocalStack'} with ${REQUIRED_SERVICES.length} services`);
  const target = await step(`read the outputs of stack ${stack}`, () => resolveTarget({ endpoint, stack }));
  const { StateMachineArn: stateMachineArn } = target.outputs;
  if (!stateMachineArn) throw new SmokeFailure(`stack ${stack} has no StateMachineArn output`);
  const apiUrl = await step('find the API stage', async () =>
    pathStyleApiUrl(target.outputs.ApiUrl, endpoint),
  );
  const sfn = new SFNClient({
    region,
    endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });

  const specs = await step('register the shipped specs', () => registerSpecs(target, SPECS_DIR));
  console.log(`  ${specs.join(', ')}`);
  const key = await step(`upload ${basename(DROP_FILE)}`, () => uploadDrop(target, MODEL, DROP_FILE));
  console.log(`  s3://${target.outputs.BucketName}/${key}`);
  const executionArn = await step('the drop starts a Step Functions execution', () =>
    findExecution(sfn, stateMachineArn, key),
  );
  console.log(`  ${executionArn}`);

  // Followed alongside the execution only to print its steps; awaited once the execution has ended.
  const runWatch = waitForRun(target, MODEL, key, { timeoutMs: RUN_TIMEOUT_MS });
  runWatch.catch(() => undefined);
  const execution = await step('the execution ends', () => waitForExecution(sfn, executionArn));
  if (execution.status !== 'SUCCEEDED') {
    const run = (await target.registry.listRuns(MODEL, 20)).find((candidate) => candidate.drop?.key === key);
    throw new SmokeFailure(
      `execution ${execution.name} ${execution.status}: ${execution.error ?? ''} ${execution.cause ?? ''}`.trim() +
        (run ? `; run ${run.runId}: ${describeRun(run)}` : '; no run record was written'),
    );
  }
  const run: RunRecord = await step('the run record', () => runWatch);
  console.log(`  run ${run.runId}: ${describeRun(run)}`);
  if (run.status !== 'succeeded') throw new SmokeFailure(`run ${run.runId} ${run.status}`);
  const production = await target.registry.getPointer(MODEL, 'production');
  if (production === undefined) throw new SmokeFailure(`${MODEL} has no production version to serve`);

  const answer = await step(`predict through API Gateway (${apiUrl})`, () =>
    predict(apiUrl, MODEL, lastHistory(DROP_FILE)),
  );
  const forecast = answer.predictions[0]?.value;
  console.log(`  ${MODEL} version ${answer.version} answered (production: version ${production.version})`);
  console.log(`  forecast for the month after the drop: ${forecast}`);
  console.log('smoke test passed');
}

try {
  await main(readSettings());
  process.exit(0);
} catch (error) {
  console.error(`smoke test failed: ${(error as Error).message}`);
  // Exit explicitly: a run still being followed would keep the process alive.
  process.exit(1);
}
