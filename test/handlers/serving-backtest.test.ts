/**
 * "The same forecaster serves": a forecast from POST /models/{name}/predict equals the backtest's one-step
 * forecast for the same history, with the model trained and registered by the real pipeline handlers on
 * the S3 and DynamoDB emulators.
 *
 * What is compared, and why. The backtest fits its forest on the training rows (every month before the
 * holdout) and forecasts each holdout month from the months before it. The pipeline fits that same judged
 * forest, scores it on the holdout, then serves the candidate refit on every row of the drop, holdout
 * included (evaluate: "the model the version serves is the same candidate refit on every row"). So a
 * served model equals a backtest's forest only when both learned the same rows, with the same featurizer:
 * - `seasonal-log-ratio` (the shipped AirPassengers transform) fits nothing from the rows, so a drop of the
 *   first 120 months gives a served forest fitted on exactly the backtest's training rows of the 144-month
 *   series; predict with the history before each of months 121–144 must give the backtest's forecasts.
 * - `classical-log` fits its airline and Holt-Winters coefficients on the training part of the table it is
 *   given, so no drop gives the served model the backtest's featurizer and its rows at once. With the
 *   whole series as the drop, the featurizer is the backtest's; the judged forest's holdout forecasts the
 *   run stores must equal the backtest's, and the served model (same featurizer, forest refit on every
 *   row with the same seed and hyperparameters) must equal the backtest's forecast code run on those rows.
 * One hyperparameter point and a fixed seed, so the search cannot choose differently in the two paths.
 */
import { readFileSync } from 'node:fs';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ModelSpec, parseSpec } from '#core/spec.ts';
import { HOLDOUT, rowsWithRole } from '#core/splits.ts';
import {
  backtest,
  buildFeatureSets,
  type FeatureSet,
  fitFinal,
  holdoutPredictions,
  predictPositions,
  refitFeatureSet,
  scorePredictions,
} from '#core/training.ts';
import type { Table } from '#core/types.ts';
import { validateDrop } from '#core/validate.ts';
import type { Registry } from '../../lambdas/shared/registry.ts';
import { registryTables, startTestEmulators, type TestEmulators } from '../support/emulators.ts';
import {
  type LocalPipeline,
  loadPipeline,
  loadSteps,
  prepareHandlerEnvironment,
  type Steps,
  uploadDrop,
} from '../support/pipeline-steps.ts';

const BUCKET = 'driftline-serving-data';
const TABLE = 'driftline-serving-registry';
const LOG_TABLE = 'driftline-serving-log';
const repo = new URL('../../', import.meta.url).pathname;
const lines = readFileSync(`${repo}data/air-passengers.csv`, 'utf8').trim().split('\n');
const passengers = lines.slice(1).map((line) => Number(line.split(',')[1]));
const s3 = new S3Client({ forcePathStyle: true });

/** The shipped spec's fields, with one hyperparameter point and few trees (a fast, fixed forest). */
function specFor(name: string, transform: string): Record<string, unknown> {
  const shipped = JSON.parse(readFileSync(`${repo}data/specs/air-passengers.json`, 'utf8'));
  return {
    ...shipped,
    name,
    seed: 7,
    featurize: { transform },
    hyperparameters: { nTrees: 16 },
    search: { trials: 1, space: { maxFeatures: [0.5], minSamplesLeaf: [1], maxDepth: [0] } },
  };
}

async function tableOf(text: string, spec: ModelSpec): Promise<Table> {
  const report = await validateDrop(new TextEncoder().encode(text), spec);
  if (!report.table) throw new Error(JSON.stringify(report.problems.slice(0, 2)));
  return report.table;
}

/** The backtest on the whole series, and the one-step forecasts of the forest it scored. */
async function backtestOf(spec: ModelSpec) {
  const table = await tableOf(`${lines.join('\n')}\n`, spec);
  const result = await backtest(spec, table, { engine: 'fast' });
  // backtest() reports metrics only: rebuild its forest with the calls it makes (one candidate, so the
  // chosen one), and tie it to the report by the MAPE both give.
  const [set] = buildFeatureSets(spec, table);
  const forest = await fitFinal(set, result.params, { engine: 'fast', seed: spec.seed });
  const predictions = holdoutPredictions(set, forest);
  expect(scorePredictions(predictions).mape).toBe(result.metrics.mape);
  const months = Array.from(rowsWithRole(set.roles, HOLDOUT), (position) => set.matrix.rows[position]);
  return { table, set, result, months, forecasts: Array.from(predictions.predicted) };
}

let emulators: TestEmulators;
let steps: Steps;
let pipeline: LocalPipeline;
let registry: Registry;

beforeAll(async () => {
  emulators = await startTestEmulators();
  await prepareHandlerEnvironment({ bucket: BUCKET, table: TABLE, logTable: LOG_TABLE });
  process.env.MODEL_CACHE_TTL_SECONDS = '0';
  const { Registry } = await import('../../lambdas/shared/registry.ts');
  registry = new Registry(registryTables(TABLE));
  steps = await loadSteps();
  pipeline = await loadPipeline();
});

afterAll(async () => emulators?.close());

/** Drops `rows` CSV lines (header included) for `name` and runs the pipeline to a promoted version 1. */
async function trainThroughPipeline(name: string, spec: Record<string, unknown>, rows: string[]) {
  await registry.putSpec(name, spec as never);
  const event = await uploadDrop(BUCKET, `incoming/${name}/first.csv`, `${rows.join('\n')}\n`);
  const execution = await pipeline.run(event, `exec-${name}`);
  expect(execution.state.registration).toMatchObject({ outcome: 'promoted', version: 1 });
  return execution.state.run!;
}

/** POST /models/{name}/predict with one instance per history; the forecasts it returns. */
async function served(name: string, histories: number[][]): Promise<number[]> {
  const response = await steps.predict({
    resource: '/models/{name}/predict',
    path: `/models/${name}/predict`,
    httpMethod: 'POST',
    pathParameters: { name },
    body: JSON.stringify({ instances: histories.map((history) => ({ history })) }),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEvent);
  expect(response.statusCode).toBe(200);
  return JSON.parse(response.body).predictions.map((p: { value: number }) => p.value);
}

const relativeGap = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('the served forecaster', () => {
  it('forecasts from the API what the backtest forecast, with the shipped seasonal-log-ratio transform', async () => {
    // Prepare: the backtest of all 144 months; the pipeline on the first 120 (the backtest's training part)
    const raw = specFor('air-ratio', 'seasonal-log-ratio');
    const { months, forecasts } = await backtestOf(parseSpec(raw));
    expect(months[0]).toBe(120);
    await trainThroughPipeline('air-ratio', raw, lines.slice(0, 121));
    // Act: a request per holdout month, with every month before it
    const predicted = await served(
      'air-ratio',
      months.map((month) => passengers.slice(0, month)),
    );
    // Assess
    expect(predicted).toHaveLength(24);
    predicted.forEach((value, i) => {
      expect(relativeGap(value, forecasts[i])).toBeLessThan(1e-9);
    });
  });

  it('serves the backtest’s classical-log forecaster, refit on the rows the run served, and refuses a history under 25 values with a 400', async () => {
    // Prepare: the backtest and the pipeline on the same 144 months
    const raw = specFor('air-classical', 'classical-log');
    const spec = parseSpec(raw);
    const { table, set, result, months, forecasts } = await backtestOf(spec);
    const run = await trainThroughPipeline('air-classical', raw, lines);
    // The backtest's forecast code on the rows the served model learned: every row, same seed and params.
    const all: FeatureSet = refitFeatureSet(spec, table, set);
    const refit = await fitFinal(all, result.params, { engine: 'fast', seed: spec.seed });
    const positions = rowsWithRole(set.roles, HOLDOUT);
    const refitForecasts = Array.from(predictPositions(all, refit, positions));
    // Act
    const judged = JSON.parse(
      await (
        await s3.send(
          new GetObjectCommand({ Bucket: BUCKET, Key: `runs/air-classical/${run.runId}/holdout.json` }),
        )
      ).Body!.transformToString(),
    ) as { rows: number[]; predicted: number[] };
    const predicted = await served(
      'air-classical',
      months.map((month) => passengers.slice(0, month)),
    );
    // Assess: the judged model is the backtest's forest; the served one is its refit
    expect(judged.rows).toEqual(months);
    judged.predicted.forEach((value, i) => {
      expect(relativeGap(value, forecasts[i])).toBeLessThan(1e-9);
    });
    expect(predicted).toHaveLength(24);
    predicted.forEach((value, i) => {
      expect(relativeGap(value, refitForecasts[i])).toBeLessThan(1e-9);
    });
    // A classical base filters at least two seasons and a month (2·12 + 1 values): one fewer is the
    // client's mistake, told how much history the model needs, never a 5xx.
    const short = await steps.predict({
      resource: '/models/{name}/predict',
      path: '/models/air-classical/predict',
      httpMethod: 'POST',
      pathParameters: { name: 'air-classical' },
      body: JSON.stringify({ instances: [{ history: passengers.slice(0, 24) }] }),
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEvent);
    expect(short.statusCode).toBe(400);
    expect(JSON.parse(short.body)).toEqual({
      error: 'InstanceError',
      message: 'instances[0].history has 24 values; this model needs at least 25',
    });
  });
});
