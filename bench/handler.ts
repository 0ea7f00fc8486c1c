/**
 * `npm run bench:handler`: the predict handler's own work, in process: parse, zod, model cache, forest,
 * the prediction-log write and the EMF line, without API Gateway or the Lambda runtime (what a user pays
 * for on AWS beyond the platform). S3 and DynamoDB are the emulators on loopback, in this same process, so
 * the log write's time includes dynalite's share of this thread: pessimistic against DynamoDB.
 *
 * Trains AirPassengers version 1 through the pipeline (the real state machine, its handlers in process),
 * then calls the middy-wrapped handler `--warmup` times and times `--calls` sequential calls per round,
 * `--rounds` times. Each call's time is split into the awaited prediction-log write (the SDK's `PutItem` and dynalite's answer, timed around
 * `PredictionLog.put`) and the rest (the handler's own work). The headline is the total, write included.
 * EMF is on, as on AWS: each call builds and writes its metrics line (to /dev/null while timing, so this
 * output stays readable); the bench checks there is exactly one per call.
 *
 * Usage: npm run bench:handler [-- --calls 2000 --warmup 200 --rounds 5]
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { registryTables, startTestEmulators } from '../test/support/emulators.ts';
import {
  loadPipeline,
  loadSteps,
  prepareHandlerEnvironment,
  uploadDrop,
} from '../test/support/pipeline-steps.ts';

const option = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const calls = option('calls', 2000);
const warmup = option('warmup', 200);
const rounds = option('rounds', 5);
const repo = new URL('..', import.meta.url).pathname;
const lines = readFileSync(`${repo}data/air-passengers.csv`, 'utf8').trim().split('\n');
const history = lines.slice(109, 121).map((line) => Number(line.split(',')[1]));

/** The p-quantile of sorted values. */
const quantile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
const meanSd = (values: number[]) => {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / Math.max(1, values.length - 1));
  return `${mean.toFixed(2)} ± ${sd.toFixed(2)}`;
};

/** Runs `act` with stdout going to /dev/null, returning how many EMF lines it wrote. */
async function emfToDevNull(act: () => Promise<void>): Promise<number> {
  const devNull = openSync('/dev/null', 'w');
  const original = process.stdout.write.bind(process.stdout);
  let lines = 0;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    if (String(chunk).includes('"_aws"')) lines += 1;
    if (typeof chunk === 'string') writeSync(devNull, chunk);
    else writeSync(devNull, chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    await act();
  } finally {
    process.stdout.write = original;
    closeSync(devNull);
  }
  return lines;
}

const emulators = await startTestEmulators();
try {
  const names = { bucket: 'bench-data', table: 'bench-registry', logTable: 'bench-log' };
  await prepareHandlerEnvironment(names);
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  const { Registry } = await import('../lambdas/shared/registry.ts');
  const { PredictionLog } = await import('../lambdas/shared/prediction-log.ts');
  const registry = new Registry(registryTables(names.table));
  const steps = await loadSteps();
  const spec = JSON.parse(readFileSync(`${repo}data/specs/air-passengers.json`, 'utf8'));
  await registry.putSpec('air-passengers', spec);
  const body = `${lines.slice(0, 121).join('\n')}\n`;
  await emfToDevNull(async () => {
    const first = await uploadDrop(names.bucket, 'incoming/air-passengers/first.csv', body);
    const trained = await (await loadPipeline()).run(first, 'bench-1');
    if (trained.state.registration?.outcome !== 'promoted')
      throw new Error(`the first run did not promote: ${trained.status} ${trained.cause ?? ''}`);
  });

  // The log write's share: the time the handler awaits `PredictionLog.put` (bench instrumentation only).
  const put = PredictionLog.prototype.put;
  let writeMs = 0;
  PredictionLog.prototype.put = async function timedPut(this: InstanceType<typeof PredictionLog>, entry) {
    const started = performance.now();
    try {
      await put.call(this, entry);
    } finally {
      writeMs = performance.now() - started;
    }
  };

  const event = {
    resource: '/models/{name}/predict',
    path: '/models/air-passengers/predict',
    httpMethod: 'POST',
    pathParameters: { name: 'air-passengers' },
    body: JSON.stringify({ instances: [{ history }] }),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEvent;
  const emfLines = await emfToDevNull(async () => {
    for (let i = 0; i < warmup; i++) await steps.predict(event);
  });
  if (emfLines !== warmup) throw new Error(`expected one EMF line per call, got ${emfLines} for ${warmup}`);
  const perRound: { total: number[]; write: number[]; own: number[] }[] = [];
  for (let round = 0; round < rounds; round++) {
    const total: number[] = [];
    const write: number[] = [];
    const own: number[] = [];
    const emitted = await emfToDevNull(async () => {
      for (let i = 0; i < calls; i++) {
        writeMs = Number.NaN;
        const started = performance.now();
        const response = await steps.predict(event);
        const elapsed = performance.now() - started;
        if (response.statusCode !== 200)
          throw new Error(`call ${i}: ${response.statusCode} ${response.body}`);
        total.push(elapsed);
        write.push(writeMs);
        own.push(elapsed - writeMs);
      }
    });
    if (emitted !== calls) throw new Error(`expected one EMF line per call, got ${emitted} for ${calls}`);
    perRound.push({ total, write, own });
  }
  const rows: [string, 'total' | 'own' | 'write'][] = [
    ['**predict handler, log write and EMF line included**', 'total'],
    ["of which the handler's own work (all but the awaited write)", 'own'],
    ['of which the awaited prediction-log write (SDK `PutItem` + dynalite, same thread)', 'write'],
  ];
  console.log(
    `predict handler in process: ${rounds} rounds × ${calls} calls after ${warmup} warm-up; ms, mean ± sd over rounds`,
  );
  console.log('| measure | p50 ms | p99 ms | mean ms |');
  console.log('| --- | --- | --- | --- |');
  for (const [label, part] of rows) {
    const sorted = perRound.map((round) => [...round[part]].sort((a, b) => a - b));
    console.log(
      `| ${label} | ${meanSd(sorted.map((s) => quantile(s, 0.5)))} | ${meanSd(sorted.map((s) => quantile(s, 0.99)))} | ${meanSd(sorted.map((s) => s.reduce((a, b) => a + b, 0) / s.length))} |`,
    );
  }
  console.log('target: p50 ≤ 1 ms, p99 ≤ 5 ms for the total');
} finally {
  await emulators.close();
}
