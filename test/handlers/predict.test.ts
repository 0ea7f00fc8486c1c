/**
 * The predict handler's promises about what surrounds a prediction, against S3 and DynamoDB emulators on
 * loopback: one EMF line and no warning per request, a canary share drawn from a seeded sequence, a batch
 * answered and logged as one request, logging that never fails a prediction, and a log that keeps every
 * number and stays within DynamoDB's item limit.
 */
import { readFileSync } from 'node:fs';
import {
  DeleteTableCommand,
  DynamoDBClient,
  waitUntilTableExists,
  waitUntilTableNotExists,
} from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { canaryDraw, canarySeed } from '#core/canary.ts';
import { MAX_INSTANCES } from '../../lambdas/shared/api-schemas.ts';
import type { PredictionLog } from '../../lambdas/shared/prediction-log.ts';
import type { Registry } from '../../lambdas/shared/registry.ts';
import { type MetricDatum, parseEmf } from '../../local/metrics.ts';
import {
  createPredictionLogTable,
  registryTables,
  startTestEmulators,
  type TestEmulators,
} from '../support/emulators.ts';
import {
  loadPipeline,
  loadSteps,
  prepareHandlerEnvironment,
  type Steps,
  uploadDrop,
} from '../support/pipeline-steps.ts';

const BUCKET = 'driftline-predict-data';
const TABLE = 'driftline-predict-registry';
const LOG_TABLE = 'driftline-predict-log';
const repo = new URL('../../', import.meta.url).pathname;
const airPassengers = readFileSync(`${repo}data/air-passengers.csv`, 'utf8').trim().split('\n');
const history = airPassengers.slice(109, 121).map((line) => Number(line.split(',')[1]));
/** This container's identity, which seeds its canary draws (Lambda sets it per execution environment). */
const LOG_STREAM = '2026/01/01/[$LATEST]predict-test';

let emulators: TestEmulators;
let steps: Steps;
let log: PredictionLog;
let registry: Registry;
let artifactKey: string;

beforeAll(async () => {
  emulators = await startTestEmulators();
  await prepareHandlerEnvironment({ bucket: BUCKET, table: TABLE, logTable: LOG_TABLE });
  // This file reads the EMF lines and warnings predict writes.
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
  process.env.MODEL_CACHE_TTL_SECONDS = '0';
  process.env.AWS_LAMBDA_LOG_STREAM_NAME = LOG_STREAM;
  const { Registry } = await import('../../lambdas/shared/registry.ts');
  const { PredictionLog } = await import('../../lambdas/shared/prediction-log.ts');
  log = new PredictionLog(LOG_TABLE);
  registry = new Registry(registryTables(TABLE));
  steps = await loadSteps();
  const spec = JSON.parse(readFileSync(`${repo}data/specs/air-passengers.json`, 'utf8'));
  await registry.putSpec('air-passengers', { ...spec, search: { strategy: 'random', trials: 2 } });
  const body = `${airPassengers.slice(0, 121).join('\n')}\n`;
  const first = await uploadDrop(BUCKET, 'incoming/air-passengers/first.csv', body);
  const execution = await (await loadPipeline()).run(first, 'exec-1');
  expect(execution.state.registration).toMatchObject({ outcome: 'promoted', version: 1 });
  artifactKey = (await registry.getVersion('air-passengers', 1))!.artifact.key;
});

afterAll(async () => emulators?.close());

function predictEvent(body: unknown): APIGatewayProxyEvent {
  return {
    resource: '/models/{name}/predict',
    path: '/models/air-passengers/predict',
    httpMethod: 'POST',
    pathParameters: { name: 'air-passengers' },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEvent;
}

/** Runs `act`, returning what it wrote to stdout, stderr and the console, line by line. */
async function captured<T>(act: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const writes = [process.stdout, process.stderr].map((stream) => {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    }) as typeof stream.write;
    return () => {
      stream.write = original;
    };
  });
  // Powertools writes through the console in POWERTOOLS_DEV mode, and through stdout otherwise.
  const spies = (['log', 'info', 'warn', 'error'] as const).map((method) =>
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    }),
  );
  try {
    return { result: await act(), lines };
  } finally {
    for (const restore of writes) restore();
    for (const spy of spies) spy.mockRestore();
  }
}

const emfOf = (lines: string[]): MetricDatum[] =>
  lines.filter((line) => line.includes('"_aws"')).flatMap((line) => parseEmf(JSON.parse(line)));

describe('predict', () => {
  it('writes one EMF line per request, with the role and version dimension sets, and no warning', async () => {
    // Act: fifty requests (the first after the cold load).
    const requests = 50;
    const { result, lines } = await captured(async () => {
      const statuses: number[] = [];
      for (let i = 0; i < requests; i++)
        statuses.push((await steps.predict(predictEvent({ instances: [{ history }] }))).statusCode);
      return statuses;
    });

    // Assess
    expect(result).toEqual(Array(requests).fill(200));
    expect(lines.filter((line) => /"level":"WARN"|warn/i.test(line) && !line.includes('"_aws"'))).toEqual([]);
    expect(lines.filter((line) => !line.includes('"_aws"'))).toEqual([]);
    expect(lines.filter((line) => line.includes('"_aws"'))).toHaveLength(requests);
    const datapoints = emfOf(lines);
    const counted = datapoints.filter((d) => d.metricName === 'PredictRequests');
    expect(counted.map((d) => d.dimensions)).toEqual(
      Array(requests)
        .fill([
          { service: 'driftline', model: 'air-passengers', role: 'production' },
          { service: 'driftline', model: 'air-passengers', version: '1' },
        ])
        .flat(),
    );
    expect(datapoints.filter((d) => d.metricName === 'PredictLatency')).toHaveLength(2 * requests);
  });

  it('counts a request for a name no model has under model "unknown", so made-up names make no metrics', async () => {
    // Act: two made-up names (each would be a custom metric of its own), and a bad body for the model
    const { lines } = await captured(async () => {
      for (const name of ['made-up-1', 'made-up-2'])
        await steps.predict({ ...predictEvent({ instances: [{ history }] }), pathParameters: { name } });
      await steps.predict(predictEvent({ instances: [] }));
    });
    // Assess
    const refused = emfOf(lines).filter((datum) => datum.metricName === 'Predict4xx');
    expect(refused.map((datum) => datum.dimensions.model)).toEqual(['unknown', 'unknown', 'air-passengers']);
  });

  it('answers a batch of 100 instances as one request: each prediction as if asked alone, in order, one log item', async () => {
    // Prepare: 100 different 12-month histories (sliding windows over 1949-1960) and their single answers.
    const values = airPassengers.slice(1).map((line) => Number(line.split(',')[1]));
    const histories = Array.from({ length: 100 }, (_, i) => values.slice(i, i + 12));
    const alone: number[] = [];
    for (const one of histories.slice(0, 10)) {
      const body = JSON.parse((await steps.predict(predictEvent({ instances: [{ history: one }] }))).body);
      alone.push(body.predictions[0].value);
    }

    // Act
    const { result, lines } = await captured(() =>
      steps.predict(predictEvent({ instances: histories.map((one) => ({ history: one })) })),
    );

    // Assess
    expect(result.statusCode).toBe(200);
    const { predictions } = JSON.parse(result.body) as { predictions: { id: string; value: number }[] };
    expect(predictions).toHaveLength(100);
    const requestId = predictions[0].id.split('.')[0];
    expect(predictions.map((p) => p.id)).toEqual(histories.map((_, i) => `${requestId}.${i}`));
    expect(predictions.slice(0, 10).map((p) => p.value)).toEqual(alone);
    expect(new Set(predictions.map((p) => p.value)).size).toBeGreaterThan(50);
    const record = await log.get(requestId);
    expect(record).toMatchObject({ instanceCount: 100, role: 'production' });
    expect(record?.predictions.map((p) => p.value)).toEqual(predictions.map((p) => p.value));
    expect(JSON.parse(record?.instances ?? 'null')).toHaveLength(100);
    expect(lines.filter((line) => line.includes('"_aws"'))).toHaveLength(1);
  });

  it('answers 200 when the prediction log cannot be written, counting it on its own metric, not as a 5xx', async () => {
    // Prepare: the log table is gone (a real storage failure, not a mock).
    const dynamo = new DynamoDBClient({});
    await dynamo.send(new DeleteTableCommand({ TableName: LOG_TABLE }));
    await waitUntilTableNotExists({ client: dynamo, maxWaitTime: 60 }, { TableName: LOG_TABLE });
    try {
      // Act
      const { result, lines } = await captured(() =>
        steps.predict(predictEvent({ instances: [{ history }] })),
      );

      // Assess
      expect(result.statusCode).toBe(200);
      const names = emfOf(lines).map((d) => d.metricName);
      expect(names).toContain('PredictionLogErrors');
      expect(names).not.toContain('Predict5xx');
    } finally {
      await createPredictionLogTable(LOG_TABLE);
      await waitUntilTableExists({ client: dynamo, maxWaitTime: 60 }, { TableName: LOG_TABLE });
    }
  });
});

describe('a request no instance shape fits', () => {
  it('is a 400 naming the value at fault, not "instances.0: Invalid input"', async () => {
    // Act
    const refusals = await Promise.all(
      [
        { instances: [{ history: [...history, '5'] }] },
        { instances: [{ history, lastMonth: 1958 }] },
        { instances: [{ mean_radius: true }] },
      ].map(async (body) => {
        const response = await steps.predict(predictEvent(body));
        return [response.statusCode, JSON.parse(response.body).message];
      }),
    );
    // Assess
    expect(refusals).toEqual([
      [400, 'instances.0.history.12: Invalid input: expected number, received string'],
      [400, 'instances.0.lastMonth: Invalid input: expected string, received number'],
      [400, 'instances.0.mean_radius: Invalid input: expected number, received boolean'],
    ]);
  });

  it('names at most 20 unknown keys of a body, so no body can make an error larger than Lambda answers', async () => {
    // Prepare: 1,000 keys beside the instances (450,000 of them made a 5 MB refusal: a 502 from Lambda)
    const extra = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`key${i}`, 1]));
    // Act
    const response = await steps.predict(predictEvent({ instances: [{ history }], ...extra }));
    const { message } = JSON.parse(response.body);
    // Assess
    expect(response.statusCode).toBe(400);
    expect(message).toMatch(/^body: Unrecognized keys: "key0", "key1", .*"key19" and 980 more$/);
  });
});

describe('a canary', () => {
  it('answers exactly the requests its seeded draw gives it: the share its weight says, the same on every run', async () => {
    // Prepare: version 2 (the same artifact, registered again) bakes as a 20% canary beside production 1.
    const { version: _, stage: __, ...first } = (await registry.getVersion('air-passengers', 1))!;
    const { version: second } = await registry.createVersion({
      ...first,
      runId: 'canary-copy',
      stage: 'staging',
    });
    await registry.startCandidate('air-passengers', second.version, {
      mode: 'canary',
      weight: 0.2,
      bakeUntil: new Date(Date.now() + 3_600_000).toISOString(),
      champion: 1,
      reason: 'test canary',
      actor: 'test',
    });
    try {
      // Act: 50 requests.
      const { result, lines } = await captured(async () => {
        const versions: number[] = [];
        for (let i = 0; i < 50; i++)
          versions.push(
            JSON.parse((await steps.predict(predictEvent({ instances: [{ history }] }))).body).version,
          );
        return versions;
      });

      // Assess: the canary answered where this container's sequence falls below 0.2, and nowhere else.
      const draw = canaryDraw(canarySeed(LOG_STREAM));
      const expected = Array.from({ length: 50 }, () => (draw() < 0.2 ? second.version : 1));
      expect(result).toEqual(expected);
      // 10 of 50, at requests 2, 5, 10, …: `node -e` over FNV-1a of the stream name and frac(seed + n·0.618…).
      expect(result.filter((version) => version === second.version)).toHaveLength(10);
      expect(result.slice(0, 10)).toEqual([1, 2, 1, 1, 2, 1, 1, 1, 1, 2]);
      const roles = emfOf(lines)
        .filter((d) => d.metricName === 'PredictRequests' && 'role' in d.dimensions)
        .map((d) => d.dimensions.role);
      expect(roles).toEqual(expected.map((version) => (version === 1 ? 'production' : 'canary')));
    } finally {
      await registry.rollbackCandidate('air-passengers', second.version, {
        reason: 'test over',
        actor: 'test',
      });
    }
  });
});

describe('a refused artifact', () => {
  it('answers 503 naming the version and the reason in a warm container too, counted on its own alarm metric (not the 5xx rate), until the bytes are right again', async () => {
    // Prepare: a warm container serving version 1, then one byte of its artifact flipped in the bucket.
    const s3 = new S3Client({ forcePathStyle: true });
    expect((await steps.predict(predictEvent({ instances: [{ history }] }))).statusCode).toBe(200);
    const original = await (
      await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: artifactKey }))
    ).Body!.transformToByteArray();
    const tampered = Uint8Array.from(original);
    tampered[tampered.length - 1] ^= 0xff;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: artifactKey, Body: tampered }));
    try {
      // Act
      const { result, lines } = await captured(() =>
        steps.predict(predictEvent({ instances: [{ history }] })),
      );

      // Assess
      expect(result.statusCode).toBe(503);
      const body = JSON.parse(result.body);
      expect(body.error).toBe('ModelUnavailableError');
      expect(body.message).toMatch(
        /version 1 is not served: its artifact was refused \(model artifact checksum mismatch/,
      );
      const names = emfOf(lines).map((d) => d.metricName);
      expect(names).toContain('ArtifactRefused');
      expect(names).not.toContain('Predict5xx');
    } finally {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: artifactKey, Body: original }));
    }
    expect((await steps.predict(predictEvent({ instances: [{ history }] }))).statusCode).toBe(200);
  });
});

describe('the prediction log', () => {
  const entry = (id: string, values: number[], instances: unknown[] = [{ history }]) => ({
    id,
    model: 'air-passengers',
    version: 1,
    role: 'production' as const,
    at: '2026-01-01T00:00:00.000Z',
    predictions: values.map((value) => ({ value })),
    instances,
    instanceCount: instances.length,
  });

  it('keeps every number a prediction or a label can be, exactly, and feedback finds them by id', async () => {
    // Prepare: numbers DynamoDB numbers cannot hold (or the SDK refuses): above 2^53, 1e308, below 1e-130, 0.
    const values = [2 ** 53 + 2, 1e308, 1e-300, 5e-324, 0, -1.5e200];

    // Act
    await log.put(entry('numbers', values));
    for (const [index, value] of values.entries()) await log.recordFeedback('numbers', index, value);
    const record = await log.get('numbers');

    // Assess
    expect(record?.predictions.map((p) => p.value)).toEqual(values);
    expect(Object.values(record?.feedback ?? {}).map((label) => label.actual)).toEqual(values);
    expect(record).toMatchObject({ version: 1, role: 'production', instanceCount: 1 });
    expect(JSON.parse(record?.instances ?? 'null')).toEqual([{ history }]);
  });

  it('keeps a live aggregate storable when a label near 0 makes the relative error astronomical', async () => {
    const { addLiveObservation, liveSummary } = await import('../../lambdas/shared/prediction-log.ts');
    await addLiveObservation(log, 'extremes', 1, {
      error: Number.POSITIVE_INFINITY,
      ratio: 1e308,
      measure: 'ape',
    });
    await addLiveObservation(log, 'extremes', 1, { error: 1e-300, ratio: 0, measure: 'ape' });
    expect(await liveSummary(log, 'extremes', 1)).toMatchObject({
      labels: 2,
      meanError: Number.MAX_SAFE_INTEGER / 2,
    });
  });

  it('leaves room in a full item for a label of every prediction it keeps, the longest a label prints', async () => {
    // Prepare: 1,000 predictions (the most a request makes) and as many inputs as the item keeps.
    const { storedBody } = await import('../../lambdas/shared/prediction-log.ts');
    const { dynamoClient } = await import('../../lambdas/shared/clients.ts');
    const { UpdateCommand } = await import('@aws-sdk/lib-dynamodb');
    const values = Array.from({ length: MAX_INSTANCES }, (_, i) => 370.64938734068994 + i);
    const inputs = (count: number) => Array.from({ length: count }, (_, i) => ({ history: [...history, i] }));
    const keeps = (count: number) => !storedBody(entry('x', values, inputs(count))).includes('"truncated"');
    let count = 1;
    while (keeps(count * 2)) count *= 2;
    for (let step = count / 2; step >= 1; step /= 2) if (keeps(count + step)) count += step;
    // The longest label as text (25 characters) and its time, as recordFeedback stores them.
    const longest = -0.0000012345678901234567;
    const label = { actual: String(longest), at: new Date(0).toISOString() };
    // Act: every prediction but the last labelled at once (one write, not 999 rewrites of a full item),
    // then the last through recordFeedback.
    await log.put(entry('full', values, inputs(count)));
    await dynamoClient().send(
      new UpdateCommand({
        TableName: LOG_TABLE,
        Key: { id: 'full' },
        UpdateExpression: 'SET feedback = :labels',
        ExpressionAttributeValues: {
          ':labels': Object.fromEntries(values.slice(0, -1).map((_, index) => [String(index), label])),
        },
      }),
    );
    const last = await log.recordFeedback('full', values.length - 1, longest);
    const record = await log.get('full');
    // Assess
    expect(count).toBeGreaterThan(500);
    expect(last).toBe(true);
    expect(Object.keys(record?.feedback ?? {})).toHaveLength(values.length);
    expect(record?.truncated).toBeUndefined();
  });

  it('stays under the 400 KB item limit for an oversized request, keeping the predictions that fit and saying so', async () => {
    // Prepare: 30,000 predictions (≈ 600 KB of JSON, with room for their labels ≈ 3 MB) and 3 MB of inputs.
    const values = Array.from({ length: 30_000 }, (_, i) => 100 + i / 7);
    const instances = Array.from({ length: 30_000 }, () => ({ history }));

    // Act
    await log.put(entry('oversized', values, instances));
    const record = await log.get('oversized');

    // Assess
    const kept = record?.truncated?.predictions ?? 0;
    expect(kept).toBeGreaterThan(MAX_INSTANCES);
    expect(kept).toBeLessThan(30_000);
    expect(record?.predictions).toHaveLength(kept);
    expect(record?.predictions.map((p) => p.value)).toEqual(values.slice(0, kept));
    expect(record).toMatchObject({ instanceCount: 30_000, truncated: { instances: true } });
    expect(record?.instances).toBeUndefined();
  });
});
