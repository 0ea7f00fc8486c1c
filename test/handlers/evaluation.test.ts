/**
 * Champion against candidate through the pipeline (the real state machine, handlers in process) on S3
 * and DynamoDB emulators: the holdout
 * a second run draws holds no row the champion trained on, and a champion that needs more than its
 * history (the month of year) is scored with every input it needs.
 */
import { readFileSync } from 'node:fs';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from '../../lambdas/shared/registry.ts';
import { registryTables, startTestEmulators, type TestEmulators } from '../support/emulators.ts';
import {
  type LocalPipeline,
  loadPipeline,
  type PipelineExecution,
  prepareHandlerEnvironment,
  retrainEvent,
  uploadDrop,
} from '../support/pipeline-steps.ts';

const BUCKET = 'driftline-eval-data';
const TABLE = 'driftline-eval-registry';
const LOG_TABLE = 'driftline-eval-predictions';
const repo = new URL('../../', import.meta.url).pathname;
const lines = (file: string) => readFileSync(`${repo}data/${file}`, 'utf8').trim().split('\n');
const breastCancer = lines('breast-cancer.csv');
const airPassengers = lines('air-passengers.csv');

let emulators: TestEmulators;
let registry: Registry;
let pipeline: LocalPipeline;
const s3 = () => new S3Client({ forcePathStyle: true });

beforeAll(async () => {
  emulators = await startTestEmulators();
  await prepareHandlerEnvironment({ bucket: BUCKET, table: TABLE, logTable: LOG_TABLE });
  const { Registry } = await import('../../lambdas/shared/registry.ts');
  registry = new Registry(registryTables(TABLE));
  pipeline = await loadPipeline();
  const spec = (name: string) => JSON.parse(readFileSync(`${repo}data/specs/${name}.json`, 'utf8'));
  // Small searches keep the tests fast; what is checked does not depend on the trial count.
  await registry.putSpec('breast-cancer', {
    ...spec('breast-cancer'),
    search: { strategy: 'random', trials: 2 },
  });
  await registry.putSpec('air-month', {
    ...spec('air-passengers'),
    name: 'air-month',
    featurize: { transform: 'seasonal-log-ratio', monthOfYear: true },
    hyperparameters: { nTrees: 50 },
    search: { strategy: 'random', trials: 2 },
  });
}, 60_000);

afterAll(async () => emulators?.close());

let executions = 0;

/**
 * Uploads a drop and runs the pipeline on it; when the drift gate holds it back, retrains on it as
 * `driftline retrain` does. @returns the execution that registered a version.
 */
async function retrainOn(model: string, name: string, header: string, rows: string[]) {
  const event = await uploadDrop(
    BUCKET,
    `incoming/${model}/${name}.csv`,
    `${[header, ...rows].join('\n')}\n`,
  );
  const dropped = await pipeline.run(event, `eval-${++executions}`);
  const registered =
    dropped.state.registration?.outcome === 'no_drift'
      ? await pipeline.run(retrainEvent(model), `eval-${++executions}`)
      : dropped;
  return registered as PipelineExecution & { state: Required<PipelineExecution['state']> };
}

async function readJson(key: string) {
  const object = await s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return JSON.parse(await object.Body!.transformToString());
}

describe('champion and candidate on one holdout', () => {
  it('scores a breast-cancer retrain on rows neither model trained on', async () => {
    // Prepare: version 1 learns from rows 1-300
    const [header, ...rows] = breastCancer;
    const first = await retrainOn('breast-cancer', 'rows-1-300', header, rows.slice(0, 300));
    expect(first.state.registration.version).toBe(1);
    // Act: rows 301-569 arrive; the model retrains on them whatever the drift gate would say
    const { state } = await retrainOn('breast-cancer', 'rows-301-569', header, rows.slice(300));
    const { run, registration: second } = state;
    // Assess
    const record = (await registry.listRuns('breast-cancer')).find((r) => r.runId === run.runId)!;
    const version = (await registry.getVersion('breast-cancer', second.version!))!;
    expect(version.championVersion).toBe(1);
    expect(record.holdout).toMatchObject({ championOverlap: 0, rows: version.lineage.holdoutRows });
    expect(record.holdout!.rows).toBeGreaterThan(40);
    // Independently of the run's own count: every holdout row of the merged table (rows 1-300 first)
    // is one of the new rows.
    const holdout = await readJson(`runs/breast-cancer/${run.runId}/holdout.json`);
    expect(holdout.rows).toHaveLength(record.holdout!.rows);
    expect(Math.min(...holdout.rows)).toBeGreaterThanOrEqual(300);
    expect(Object.keys(version.championMetrics ?? {})).toContain('auc');
    // The decision read the paired bootstrap of candidate − champion over exactly those rows; the version
    // and the run record keep it, and the reason quotes the interval.
    const metric = version.metric;
    expect(version.comparison).toMatchObject({
      metric,
      rows: record.holdout!.rows,
      confidence: 0.95,
      resamples: 2000,
    });
    expect(version.comparison!.difference).toBeCloseTo(
      version.metrics[metric] - version.championMetrics![metric],
      12,
    );
    expect(version.comparison!.interval[0]).toBeLessThanOrEqual(version.comparison!.interval[1]);
    expect(record.comparison).toEqual(version.comparison);
    expect(version.reason).toContain(`95% interval`);
    // Judged on the holdout, then refit on all 569 rows: the served model learned the holdout too.
    expect(version.lineage).toMatchObject({ trainRows: 569 - record.holdout!.rows, refitRows: 569 });
    const { loadModel } = await import('../../lambdas/core/model.ts');
    const object = await s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: version.artifact.key }));
    const served = loadModel(await object.Body!.transformToByteArray(), version.artifact.sha256);
    expect(served.meta.data).toMatchObject({ rows: 569, refitRows: 569 });
    expect(served.meta.metrics.auc).toBe(version.metrics.auc);
    // The served featurizer was fitted on every row: its ranges are those of the whole file.
    const radius = breastCancer.slice(1).map((line) => Number(line.split(',')[0]));
    const range = served.featurizer.kind === 'tabular' ? served.featurizer.numeric[0] : undefined;
    expect(range).toMatchObject({ name: 'mean_radius', min: Math.min(...radius), max: Math.max(...radius) });
  }, 120_000);

  it('keeps the champion, run succeeded, when the new rows in the holdout are all of one class', async () => {
    // Prepare: after the test above, a drop of 40 new benign rows (benign ones, each value nudged so no
    // row duplicates one already merged). The holdout is drawn from rows the champion never trained on:
    // these, all of class 1, so the AUC the spec judges on is undefined. A scheduled retrain under a
    // burst of small drops hit this and failed in evaluate on a RangeError.
    const [header, ...rows] = breastCancer;
    const benign = rows.filter((line) => line.endsWith(',1')).slice(0, 40);
    const nudged = benign.map((line) => {
      const values = line.split(',');
      values[1] = String(Number(values[1]) + 0.005);
      return values.join(',');
    });
    const champion = await registry.getPointer('breast-cancer', 'production');
    // Act
    const { status, state } = await retrainOn('breast-cancer', 'benign-only', header, nudged);
    // Assess: the run ends as a candidate kept out, with a reason a person can read; the champion serves
    expect([status, state.error]).toEqual(['SUCCEEDED', undefined]);
    expect(state.registration).toMatchObject({ outcome: 'kept' });
    const version = (await registry.getVersion('breast-cancer', state.registration.version!))!;
    expect(version.metrics).not.toHaveProperty('auc');
    expect(version.reason).toMatch(
      /^candidate cannot be judged: its AUC is undefined on this holdout \(it needs holdout rows of every class.*champion kept/,
    );
    expect(await registry.getPointer('breast-cancer', 'production')).toMatchObject({
      version: champion?.version,
    });
  }, 120_000);

  it('retrains a forecast that uses the month of year twice, scoring the champion with its months', async () => {
    const [header, ...rows] = airPassengers;
    // 1949-1957, then 1958, then 1959-1960
    await retrainOn('air-month', 'to-1957', header, rows.slice(0, 108));
    const results = [
      await retrainOn('air-month', '1958', header, rows.slice(108, 120)),
      await retrainOn('air-month', '1959-1960', header, rows.slice(120)),
    ];
    const versions = await Promise.all(
      results.map((r) => registry.getVersion('air-month', r.state.registration.version!)),
    );
    for (const version of versions) {
      expect(version?.championMetrics?.mape).toEqual(expect.any(Number));
      expect(version?.championMetrics?.mape).toBeLessThan(20);
      expect(version?.lineage.holdout?.championOverlap).toBe(0);
    }
    // 1958: the last 24 months reach back into 1957, which version 1 trained on
    expect(versions[0]?.lineage.holdout).toMatchObject({ rows: 12, excludedSeenByChampion: 12 });
    expect(versions[1]?.lineage.holdout).toMatchObject({ rows: 24, excludedSeenByChampion: 0 });
    // 1949-1960 less the first 12 months that only seed the lags: the served model learned 1959-1960
    expect(versions[1]?.lineage).toMatchObject({ trainRows: 108, refitRows: 132 });
  }, 180_000);
});
