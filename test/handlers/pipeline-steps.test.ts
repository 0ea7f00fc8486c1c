/**
 * The retraining pipeline as Step Functions runs it: `statemachines/retrain.asl.json` on the local
 * interpreter, every Task invoking the real handler in process, against S3 and DynamoDB emulators on
 * loopback (no mocks of our own storage). The API handlers are called directly.
 */
import { readFileSync } from 'node:fs';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineFunctionKey } from '../../infra/retrain-definition.ts';
import type { Registry } from '../../lambdas/shared/registry.ts';
import { registryTables, startTestEmulators, type TestEmulators } from '../support/emulators.ts';
import {
  type LocalPipeline,
  loadPipeline,
  loadSteps,
  prepareHandlerEnvironment,
  retrainEvent,
  type StepHandler,
  type Steps,
} from '../support/pipeline-steps.ts';

const BUCKET = 'driftline-test-data';
const TABLE = 'driftline-test-registry';
const LOG_TABLE = 'driftline-test-predictions';
const repo = new URL('../../', import.meta.url).pathname;
const airPassengers = readFileSync(`${repo}data/air-passengers.csv`, 'utf8').trim().split('\n');

let emulators: TestEmulators;
let registry: Registry;
let steps: Steps;
let pipeline: LocalPipeline;
/** What a test does before a function is invoked (a change made while the run is under way). */
let beforeInvoke: ((key: PipelineFunctionKey, event: unknown) => Promise<void>) | undefined;

beforeAll(async () => {
  emulators = await startTestEmulators();
  await prepareHandlerEnvironment({ bucket: BUCKET, table: TABLE, logTable: LOG_TABLE });
  process.env.MODEL_CACHE_TTL_SECONDS = '0';
  const { Registry } = await import('../../lambdas/shared/registry.ts');
  registry = new Registry(registryTables(TABLE));
  steps = await loadSteps();
  pipeline = await loadPipeline({ beforeInvoke: (key, event) => beforeInvoke?.(key, event) });
  const spec = JSON.parse(readFileSync(`${repo}data/specs/air-passengers.json`, 'utf8'));
  // A small search keeps the test fast; the pipeline's behaviour does not depend on the trial count.
  await registry.putSpec('air-passengers', { ...spec, search: { strategy: 'random', trials: 2 } });
});

afterAll(async () => emulators?.close());

let executions = 0;

async function drop(key: string, body: string) {
  const { ETag } = await new S3Client({ forcePathStyle: true }).send(
    new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }),
  );
  return {
    source: 'aws.s3' as const,
    'detail-type': 'Object Created',
    detail: { bucket: { name: BUCKET }, object: { key, size: body.length, etag: ETag!.replaceAll('"', '') } },
  };
}

/** Runs the state machine on a trigger event, as EventBridge starts it; the execution is named `exec-N`. */
function run(event: unknown) {
  return pipeline.run(event, `exec-${++executions}`);
}

function predictEvent(model: string, body: unknown, route = 'predict'): APIGatewayProxyEvent {
  return {
    resource: `/models/{name}/${route}`,
    path: `/models/${model}/${route}`,
    httpMethod: 'POST',
    pathParameters: { name: model },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEvent;
}

describe('the retraining steps on emulators', () => {
  it('trains, registers and serves a first model from a first drop', async () => {
    // Prepare: 1949-01 … 1958-12
    const event = await drop(
      'incoming/air-passengers/first.csv',
      `${airPassengers.slice(0, 121).join('\n')}\n`,
    );
    // Act
    const execution = await run(event);
    const response = await steps.predict(
      predictEvent('air-passengers', {
        instances: [{ history: airPassengers.slice(109, 121).map((line) => Number(line.split(',')[1])) }],
      }),
    );
    // Assess
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.state.run?.trigger).toBe('first_model');
    expect(execution.state.drift).toBeUndefined();
    expect(execution.state.registration).toMatchObject({ outcome: 'promoted', version: 1 });
    // Where the time went: every step that ran, in order, each ended, within the run's own span
    const record = await registry.getRun('air-passengers', execution.state.run!.startedAt, execution.name);
    const durations = record?.durations ?? {};
    expect(Object.keys(durations)).toEqual([
      'validate',
      'merge',
      'featurize',
      'search',
      'select',
      'fit',
      'evaluate',
      'register',
    ]);
    const span = Date.parse(record!.finishedAt!) - Date.parse(record!.startedAt);
    for (const [step, { start, end, seconds }] of Object.entries(durations)) {
      expect(seconds, step).toBeGreaterThanOrEqual(0);
      // Compared as the record computes it: ms × 1000 ÷ 1000 is not always the ms again (1021 → 1020.999…).
      expect(seconds, step).toBe((Date.parse(end!) - Date.parse(start)) / 1000);
      expect(Date.parse(start)).toBeGreaterThanOrEqual(Date.parse(record!.startedAt));
    }
    expect(Object.values(durations).reduce((sum, { seconds }) => sum + seconds!, 0) * 1000).toBeLessThan(
      span + 1000,
    );
    expect((await registry.getPointer('air-passengers', 'production'))?.version).toBe(1);
    expect(response.statusCode).toBe(200);
    const body = JSON.parse(response.body);
    expect(body).toMatchObject({ model: 'air-passengers', version: 1 });
    // 1959-01 was 360 passengers (thousands); a sane forecast is within 15%.
    expect(Math.abs(body.predictions[0].value - 360) / 360).toBeLessThan(0.15);
  });

  it('judges the 1959-1960 drop on the transformed target, holds it back, and retrains on it when asked', async () => {
    // Prepare
    const event = await drop(
      'incoming/air-passengers/1959-1960.csv',
      `${[airPassengers[0], ...airPassengers.slice(121)].join('\n')}\n`,
    );
    const { loadHeldBackDrops } = await import('../../lambdas/shared/pipeline.ts');
    // Act: the drop's run, then a retrain as `driftline retrain air-passengers` starts it.
    const dropped = await run(event);
    const heldBack = (await loadHeldBackDrops(registry, 'air-passengers')).map((entry) => entry.drop.key);
    const manual = await run(retrainEvent('air-passengers'));
    // Assess: KS on ln y[t] − ln y[t−12], 1959-1960 against 1950-1958 (SciPy: D = 0.2917, p = 0.0585).
    const driftResult = dropped.state.drift!;
    expect(dropped.state.run?.trigger).toBe('drop');
    expect(driftResult.status).toBe('no_drift');
    expect(driftResult.columns).toEqual([
      expect.objectContaining({ column: 'value (seasonal-log-ratio)', test: 'ks', verdict: 'no_drift' }),
    ]);
    expect(driftResult.columns[0].pValue).toBeCloseTo(0.0585, 4);
    const record = (await registry.listRuns('air-passengers', 5)).find((r) => r.runId === dropped.name);
    expect(record?.drift).toMatchObject({
      status: 'no_drift',
      columns: [{ pValue: driftResult.columns[0].pValue }],
    });
    expect(dropped.state.registration?.outcome).toBe('no_drift');
    expect(heldBack).toEqual(['incoming/air-passengers/1959-1960.csv']);
    expect(manual.state.run?.trigger).toBe('manual');
    expect(manual.state.drift).toBeUndefined();
    expect(manual.state.registration?.version).toBe(2);
    const version = await registry.getVersion('air-passengers', 2);
    expect(version?.lineage.dataset.rows).toBe(144);
    expect(version?.championVersion).toBe(1);
    expect((await registry.getBaseline('air-passengers'))?.rows).toBe(144);
    expect(await loadHeldBackDrops(registry, 'air-passengers')).toEqual([]);
  });

  it('ends a retrain with nothing new as a no-op: succeeded, no version, production and lease unchanged', async () => {
    // Prepare: the retrain above merged every held drop and production was fitted on that whole baseline.
    const { loadHeldBackDrops } = await import('../../lambdas/shared/pipeline.ts');
    const production = await registry.getPointer('air-passengers', 'production');
    const champion = await registry.getVersion('air-passengers', production!.version);
    expect(await loadHeldBackDrops(registry, 'air-passengers')).toEqual([]);
    expect(champion?.lineage.dataset.key).toBe((await registry.getBaseline('air-passengers'))?.datasetKey);
    const versionsBefore = (await registry.listVersions('air-passengers')).length;
    // Act: a scheduled retrain (before this change it failed in featurize: "all 28 holdout rows are rows
    // the production model trained on … add new rows").
    const execution = await run({ source: 'driftline.schedule', detail: { model: 'air-passengers' } });
    // Assess
    expect(execution.status).toBe('SUCCEEDED');
    expect(pipeline.invocations.slice(-3).map((call) => call.key)).toEqual(['admit', 'validate', 'register']);
    expect(execution.state.registration).toEqual({
      outcome: 'up_to_date',
      decision: `nothing new since version ${champion?.version} was trained: no drop is held back and it was fitted on the whole baseline (144 rows); production unchanged`,
    });
    const record = (await registry.listRuns('air-passengers', 5)).find((r) => r.runId === execution.name);
    expect(record).toMatchObject({ status: 'succeeded', outcome: 'up_to_date', step: 'done' });
    expect(record?.version).toBeUndefined();
    expect((await registry.listVersions('air-passengers')).length).toBe(versionsBefore);
    expect(await registry.getPointer('air-passengers', 'production')).toEqual(production);
    expect(await registry.getLease('air-passengers')).toBeUndefined();
  });

  it('sees no drift when a drop repeats data the baseline already has', async () => {
    // Prepare: 1951-01 … 1958-12 again, a stretch whose distribution matches the whole series
    const event = await drop(
      'incoming/air-passengers/repeat.csv',
      `${[airPassengers[0], ...airPassengers.slice(25, 121)].join('\n')}\n`,
    );
    // Act
    const execution = await run(event);
    // Assess
    expect(execution.state.drift?.status).not.toBe('drift');
    expect(execution.state.registration?.outcome).toBe('no_drift');
    const { loadHeldBackDrops } = await import('../../lambdas/shared/pipeline.ts');
    const held = await loadHeldBackDrops(registry, 'air-passengers');
    expect(held.map((entry) => entry.drop.key)).toEqual([event.detail.object.key]);
    expect(await registry.getLease('air-passengers')).toBeUndefined();
  });

  it("times a retried step from its first attempt's start to its last attempt's end", async () => {
    // Prepare: the drift gate's first attempt runs to its end, then its answer is lost (a timeout, say)
    const { TransientError } = await import('../../lambdas/shared/errors.ts');
    const drift = (await import('../../lambdas/drift/handler.ts')).handler as unknown as StepHandler;
    const event = await drop(
      'incoming/air-passengers/repeat-again.csv',
      `${[airPassengers[0], ...airPassengers.slice(25, 121)].join('\n')}\n`,
    );
    let lostAttemptEnded: number | undefined;
    beforeInvoke = async (key, input) => {
      if (key !== 'drift' || lostAttemptEnded !== undefined) return;
      await drift(input, { awsRequestId: 'lost-attempt' } as Context);
      lostAttemptEnded = Date.now();
      throw new TransientError('the answer of the first attempt was lost');
    };
    // Act
    const execution = await run(event);
    beforeInvoke = undefined;
    // Assess: retried by the ASL, and the step's time spans both attempts
    expect(execution.status, execution.cause).toBe('SUCCEEDED');
    const retried = execution.history.filter((event) => event.type === 'StateRetried');
    expect(retried.map((entry) => 'state' in entry && entry.state.name)).toEqual(['DetectDrift']);
    expect(execution.state.registration?.outcome).toBe('no_drift');
    const { run: started } = execution.state;
    const record = await registry.getRun('air-passengers', started!.startedAt, execution.name);
    expect(Object.keys(record!.durations!)).toEqual(['validate', 'drift', 'register']);
    const drifted = record!.durations!.drift;
    expect(Date.parse(drifted.start)).toBeLessThanOrEqual(lostAttemptEnded!);
    expect(Date.parse(drifted.end!)).toBeGreaterThanOrEqual(lostAttemptEnded!);
    expect(drifted.seconds).toBe((Date.parse(drifted.end!) - Date.parse(drifted.start)) / 1000);
  });

  it('keeps the spec a run started with though the registered spec changes during the run', async () => {
    // Prepare: a first model's run validated under the spec that selects by MAPE
    const registered = await registry.getSpec<Record<string, unknown>>('air-passengers');
    await registry.putSpec('air-pinned', { ...registered, name: 'air-pinned' });
    const event = await drop('incoming/air-pinned/first.csv', `${airPassengers.slice(0, 121).join('\n')}\n`);
    // Act: the spec changes to RMSE (and no bars) after validate pinned it, before the run merges and trains
    beforeInvoke = async (key) => {
      if (key !== 'merge') return;
      beforeInvoke = undefined;
      await registry.putSpec('air-pinned', {
        ...registered,
        name: 'air-pinned',
        metric: 'rmse',
        promotion: {},
      });
    };
    const execution = await run(event);
    // Assess: every step judged by the run's own spec; the registry's current spec was never read
    const { run: pinned, registration } = execution.state;
    expect((await registry.getSpec<{ metric: string }>('air-pinned'))?.metric).toBe('rmse');
    const version = await registry.getVersion('air-pinned', registration!.version!);
    expect(pinned?.spec.key).toBe(`runs/air-pinned/${execution.name}/spec.json`);
    expect(version?.metric).toBe('mape');
    expect(Object.keys(version?.metrics ?? {})).toContain('mape');
  });

  it('fails a step whose spec snapshot was rewritten, naming the snapshot', async () => {
    // Prepare: a first model's run whose spec snapshot is replaced after validate pinned it
    const registered = await registry.getSpec<Record<string, unknown>>('air-passengers');
    await registry.putSpec('air-rewritten', { ...registered, name: 'air-rewritten' });
    const event = await drop(
      'incoming/air-rewritten/first.csv',
      `${airPassengers.slice(0, 121).join('\n')}\n`,
    );
    beforeInvoke = async (key, event) => {
      if (key !== 'merge') return;
      beforeInvoke = undefined;
      const { run: started } = event as { run: { spec: { key: string } } };
      await new S3Client({ forcePathStyle: true }).send(
        new PutObjectCommand({ Bucket: BUCKET, Key: started.spec.key, Body: '{"task":"forecast"}' }),
      );
    };
    // Act
    const execution = await run(event);
    // Assess: the run fails at merge with the snapshot named, recorded, and the lease is free again
    const specKey = execution.state.run!.spec.key;
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('StepInputError');
    expect(execution.cause).toContain(specKey);
    expect(execution.cause).toMatch(/^merge failed/);
    expect(await registry.getLease('air-rewritten')).toBeUndefined();
  });

  it('fails a malformed drop with a reason naming the problem and leaves production alone', async () => {
    // Prepare
    const production = await registry.getPointer('air-passengers', 'production');
    const event = await drop('incoming/air-passengers/bad.csv', 'month,value\n1961-01,abc\n1961-02,420\n');
    // Act
    const execution = await run(event);
    // Assess
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('InvalidDataError');
    expect(execution.state.failure?.reason).toMatch(/line 2/);
    expect(execution.state.failure?.reason).toMatch(/abc/);
    expect(execution.cause).toBe(execution.state.failure?.reason);
    const record = (await registry.listRuns('air-passengers')).find(
      (candidate) => candidate.runId === execution.name,
    );
    expect(record).toMatchObject({ status: 'failed', outcome: 'failed' });
    expect(await registry.getPointer('air-passengers', 'production')).toEqual(production);
  });

  it('fails a drop over validation.maxBytes at once, before reading it, naming the limit', async () => {
    // Prepare: the event announces 300 MB; no object is stored, so reading a byte would fail otherwise
    const event = await drop('incoming/air-passengers/huge.csv', 'month,value\n');
    const key = 'incoming/air-passengers/huge-unread.csv';
    event.detail.object = { key, size: 300 * 2 ** 20, etag: 'etag' };
    // Act
    const execution = await run(event);
    // Assess
    expect(execution.error).toBe('InvalidDataError');
    expect(execution.cause).toContain(`${key} was not read: the drop is 300 MB`);
    expect(execution.cause).toContain('raise validation.maxBytes');
    expect(await registry.getLease('air-passengers')).toBeUndefined();
  });

  it('records the failure of a drop with 10,000 long column names, its reason bounded, and frees the lease', async () => {
    // Prepare: a header far larger than a registry item (400 KB)
    const names = Array.from({ length: 10_000 }, (_, i) => `column_${i}_${'x'.repeat(60)}`);
    const event = await drop(
      'incoming/air-passengers/wide.csv',
      `${names.join(',')}\n${names.map(() => 1).join(',')}\n`,
    );
    // Act
    const execution = await run(event);
    // Assess
    const failure = execution.state.failure!;
    expect(names.join(',').length).toBeGreaterThan(400 * 1024);
    expect(execution.error).toBe('InvalidDataError');
    expect(execution.state.error!.Cause.length).toBeLessThan(4_000);
    expect(failure.reason.length).toBeLessThan(2_200);
    const record = (await registry.listRuns('air-passengers')).find(
      (candidate) => candidate.runId === execution.name,
    );
    expect(record).toMatchObject({ status: 'failed', failure: { reason: failure.reason } });
    expect(await registry.getLease('air-passengers')).toBeUndefined();
  });

  it('answers a bad request with a 4xx JSON message, never a 5xx', async () => {
    const cases = [
      predictEvent('air-passengers', 'not json'),
      predictEvent('air-passengers', { instances: [] }),
      predictEvent('air-passengers', { instances: [{ history: [1, 2, 3] }] }),
      predictEvent('no-such-model', { instances: [{ history: [1] }] }),
    ];
    for (const event of cases) {
      const response = await steps.predict(event);
      expect(response.statusCode, event.body ?? '').toBeGreaterThanOrEqual(400);
      expect(response.statusCode).toBeLessThan(500);
      expect(JSON.parse(response.body).message).toEqual(expect.any(String));
    }
  });

  it('logs every prediction with an id and turns a later label into the live error of its version', async () => {
    // Prepare
    const history = airPassengers.slice(121, 133).map((line) => Number(line.split(',')[1]));
    const answer = JSON.parse(
      (await steps.predict(predictEvent('air-passengers', { instances: [{ history }] }))).body,
    );
    const { id, value } = answer.predictions[0];
    // Act: the real value was 10% above the forecast
    const response = await steps.feedback(
      predictEvent('air-passengers', { id, actual: value * 1.1 }, 'feedback'),
    );
    // Assess
    expect(id).toMatch(/^[0-9a-f-]{36}\.0$/);
    expect(response.statusCode).toBe(200);
    const result = JSON.parse(response.body).results[0];
    expect(result).toMatchObject({ id, version: answer.version, role: 'production' });
    expect(result.ape).toBeCloseTo((100 * 0.1) / 1.1, 6);
    const holdoutMape = (await registry.getVersion('air-passengers', answer.version))!.metrics.mape;
    expect(result.ratio).toBeCloseTo(result.ape / holdoutMape, 6);
  });

  it('answers feedback for an unknown prediction with a 4xx', async () => {
    const unknown = await steps.feedback(
      predictEvent('air-passengers', { id: '00000000-0000-0000-0000-000000000000.0', actual: 1 }, 'feedback'),
    );
    const malformed = await steps.feedback(
      predictEvent('air-passengers', { id: 'nope', actual: 1 }, 'feedback'),
    );
    expect(unknown.statusCode).toBe(404);
    expect(malformed.statusCode).toBe(400);
  });

  it('lets a shadow predict on live requests and be measured, while production answers', async () => {
    // Prepare: version 1 predicts in shadow next to production version 2
    const { PredictionLog, liveSummary } = await import('../../lambdas/shared/prediction-log.ts');
    const log = new PredictionLog(LOG_TABLE);
    const before = await liveSummary(log, 'air-passengers', 1);
    await registry.startCandidate('air-passengers', 1, {
      mode: 'shadow',
      weight: 0,
      bakeUntil: new Date(Date.now() + 3_600_000).toISOString(),
      champion: 2,
      reason: 'test shadow',
      actor: 'test',
    });
    const history = airPassengers.slice(121, 133).map((line) => Number(line.split(',')[1]));
    // Act
    const answer = JSON.parse(
      (await steps.predict(predictEvent('air-passengers', { instances: [{ history }] }))).body,
    );
    await steps.feedback(
      predictEvent('air-passengers', { id: answer.predictions[0].id, actual: 400 }, 'feedback'),
    );
    // Assess
    expect(answer.version).toBe(2);
    const record = await log.get(answer.predictions[0].id.split('.')[0]);
    expect(record).toMatchObject({ version: 2, role: 'production', shadow: { version: 1 } });
    expect(record?.shadow?.predictions[0].value).toEqual(expect.any(Number));
    expect((await liveSummary(log, 'air-passengers', 1))?.labels).toBe((before?.labels ?? 0) + 1);
    await registry.rollbackCandidate('air-passengers', 1, { reason: 'test over', actor: 'test' });
  });

  it('keeps what serves in the registry table and the bookkeeping of the steps in the runs table', async () => {
    // Prepare: everything the runs above wrote (first model, held-back drop, retrain, failures, shadow)
    const client = new DynamoDBClient({});
    const sortKeys = async (table: string) =>
      (await client.send(new ScanCommand({ TableName: table, ProjectionExpression: 'SK' }))).Items!.map(
        (item) => String(item.SK.S).split('#')[0],
      );
    // Act
    const [served, bookkeeping] = await Promise.all([
      sortKeys(registryTables(TABLE).registry),
      sortKeys(registryTables(TABLE).runs),
    ]);
    // Assess: nothing is lost (runs, lease, claims, baseline, held drops all recorded) and nothing mixed;
    // MODEL is the catalog partition's entry (PK = CATALOG) that lists the model
    expect([...new Set(served)].sort()).toEqual(['AUDIT', 'MODEL', 'POINTERS', 'SPEC', 'VERSION']);
    expect([...new Set(bookkeeping)].sort()).toEqual(['BASELINE', 'DROP', 'HELD', 'LEASE', 'RUN']);
    const runsOf = async (model: string) => (await registry.listRuns(model, 100)).length;
    const models = ['air-passengers', 'air-pinned', 'air-rewritten'];
    expect((await Promise.all(models.map(runsOf))).reduce((sum, runs) => sum + runs, 0)).toBe(executions);
  });
});
