/**
 * `npm run bench:handler`: the predict handler's own work, in process: parse, zod, model cache, forest,
 * the prediction-log write and the EMF line, without API Gateway or the Lambda runtime (what a user pays
 * for on AWS beyond the platform). S3 and DynamoDB are the emulators on loopback, in this same process, so
 * the log write's time includes dynalite's share of this thread: pessimistic against DynamoDB.
 *
 * Trains AirPassengers version 1 with the pipeline's steps, then calls the handler `--warmup` times and
 * times `--calls` sequential calls, printing p50, p99 and mean (ms).
 *
 * Usage: npm run bench:handler [-- --calls 2000 --warmup 200]
 */
import { readFileSync } from 'node:fs';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { registryTables, startTestEmulators } from '../test/support/emulators.ts';
import {
  admitAndValidate,
  loadSteps,
  prepareHandlerEnvironment,
  retrain,
} from '../test/support/pipeline-steps.ts';

const option = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const calls = option('calls', 2000);
const warmup = option('warmup', 200);
const repo = new URL('..', import.meta.url).pathname;
const lines = readFileSync(`${repo}data/air-passengers.csv`, 'utf8').trim().split('\n');
const history = lines.slice(109, 121).map((line) => Number(line.split(',')[1]));

const emulators = await startTestEmulators();
try {
  const names = { bucket: 'bench-data', table: 'bench-registry', logTable: 'bench-log' };
  await prepareHandlerEnvironment(names);
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  const { Registry } = await import('../lambdas/shared/registry.ts');
  const registry = new Registry(registryTables(names.table));
  const steps = await loadSteps();
  const spec = JSON.parse(readFileSync(`${repo}data/specs/air-passengers.json`, 'utf8'));
  await registry.putSpec('air-passengers', spec);
  const key = 'incoming/air-passengers/first.csv';
  const body = `${lines.slice(0, 121).join('\n')}\n`;
  await new S3Client({ forcePathStyle: true }).send(
    new PutObjectCommand({ Bucket: names.bucket, Key: key, Body: body }),
  );
  const { run } = await admitAndValidate(steps, {
    event: {
      source: 'aws.s3',
      'detail-type': 'Object Created',
      detail: { bucket: { name: names.bucket }, object: { key, size: body.length, etag: 'etag' } },
    },
    runId: 'bench-1',
    startedAt: new Date().toISOString(),
  } as never);
  await retrain(steps, run);

  const event = {
    resource: '/models/{name}/predict',
    path: '/models/air-passengers/predict',
    httpMethod: 'POST',
    pathParameters: { name: 'air-passengers' },
    body: JSON.stringify({ instances: [{ history }] }),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEvent;
  for (let i = 0; i < warmup; i++) await steps.predict(event);
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    const response = await steps.predict(event);
    times.push(performance.now() - started);
    if (response.statusCode !== 200) throw new Error(`call ${i}: ${response.statusCode} ${response.body}`);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  console.log(`predict handler in process, ${calls} calls after ${warmup} warm-up (log write included)`);
  console.log('| p50 ms | p99 ms | mean ms | target |');
  console.log('| --- | --- | --- | --- |');
  console.log(
    `| ${at(0.5).toFixed(2)} | ${at(0.99).toFixed(2)} | ${mean.toFixed(2)} | p50 ≤ 1 ms, p99 ≤ 5 ms |`,
  );
} finally {
  await emulators.close();
}
