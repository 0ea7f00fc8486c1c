/**
 * Feedback that cannot be gamed, at the handler against the emulators: one label per prediction (a second
 * is refused with 409 and the first kept), no id twice in one request, at most 100 labels a request, a
 * classifier's labels among its classes, and a batch with a bad id or label records nothing.
 */
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MAX_FEEDBACK } from '../../lambdas/shared/api-schemas.ts';
import { registryTables, startTestEmulators, type TestEmulators } from '../support/emulators.ts';
import {
  loadPipeline,
  loadSteps,
  prepareHandlerEnvironment,
  type Steps,
  uploadDrop,
} from '../support/pipeline-steps.ts';

const BUCKET = 'driftline-feedback-data';
const TABLE = 'driftline-feedback-registry';
const LOG_TABLE = 'driftline-feedback-predictions';
const repo = new URL('../../', import.meta.url).pathname;
const lines = readFileSync(`${repo}data/air-passengers.csv`, 'utf8').trim().split('\n');
const history = lines.slice(121, 133).map((line) => Number(line.split(',')[1]));
const breastCancer = readFileSync(`${repo}data/breast-cancer.csv`, 'utf8').trim().split('\n');

let emulators: TestEmulators;
let steps: Steps;

const event = (route: string, body: unknown, model = 'air-passengers') =>
  ({
    resource: `/models/{name}/${route}`,
    path: `/models/${model}/${route}`,
    httpMethod: 'POST',
    pathParameters: { name: model },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  }) as unknown as APIGatewayProxyEvent;

async function predictIds(count: number): Promise<string[]> {
  const instances = Array.from({ length: count }, () => ({ history }));
  const answer = JSON.parse((await steps.predict(event('predict', { instances }))).body);
  return answer.predictions.map((prediction: { id: string }) => prediction.id);
}

async function label(body: unknown) {
  const response = await steps.feedback(event('feedback', body));
  return { status: response.statusCode, body: JSON.parse(response.body) };
}

beforeAll(async () => {
  emulators = await startTestEmulators();
  await prepareHandlerEnvironment({ bucket: BUCKET, table: TABLE, logTable: LOG_TABLE });
  // This file reads the EMF lines and warnings feedback writes.
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
  const { Registry } = await import('../../lambdas/shared/registry.ts');
  const registry = new Registry(registryTables(TABLE));
  steps = await loadSteps();
  const spec = JSON.parse(readFileSync(`${repo}data/specs/air-passengers.json`, 'utf8'));
  await registry.putSpec('air-passengers', { ...spec, search: { strategy: 'random', trials: 2 } });
  const body = `${lines.slice(0, 121).join('\n')}\n`;
  const first = await uploadDrop(BUCKET, 'incoming/air-passengers/first.csv', body);
  await (await loadPipeline()).run(first, 'exec-first');
  const classifier = JSON.parse(readFileSync(`${repo}data/specs/breast-cancer.json`, 'utf8'));
  await registry.putSpec('breast-cancer', { ...classifier, search: { strategy: 'random', trials: 2 } });
  const drop = await uploadDrop(BUCKET, 'incoming/breast-cancer/first.csv', `${breastCancer.join('\n')}\n`);
  await (await loadPipeline()).run(drop, 'exec-classifier');
}, 240_000);

afterAll(async () => emulators?.close());

describe('feedback', () => {
  it('writes one EMF line per label, with the role and version dimension sets, and no warning', async () => {
    // Prepare
    const [id] = await predictIds(1);
    const written: string[] = [];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const warn = vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
      written.push(args.map(String).join(' '));
    });
    // Act
    const answer = await label({ id, actual: 400 }).finally(() => {
      stdout.mockRestore();
      warn.mockRestore();
    });
    // Assess
    expect(answer.status).toBe(200);
    expect(written.filter((line) => /"level":"WARN"|warn/i.test(line) && !line.includes('"_aws"'))).toEqual(
      [],
    );
    const emf = written.filter((line) => line.includes('"_aws"')).map((line) => JSON.parse(line));
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({ model: 'air-passengers', role: 'production', version: '1' });
    expect(emf[0]._aws.CloudWatchMetrics[0].Dimensions).toEqual([
      ['service', 'model', 'role'],
      ['service', 'model', 'version'],
    ]);
    expect(Object.keys(emf[0])).toEqual(expect.arrayContaining(['LiveError', 'LiveQualityRatio']));
  });

  it('takes one label per prediction: a second is refused with 409 and the first stays', async () => {
    // Prepare
    const [id] = await predictIds(1);
    const { PredictionLog } = await import('../../lambdas/shared/prediction-log.ts');
    // Act
    const first = await label({ id, actual: 400 });
    const second = await label({ id, actual: 4000 });
    const again = await label({ feedback: [{ id, actual: 4000 }] });
    // Assess
    expect(first.status).toBe(200);
    expect([second.status, again.status]).toEqual([409, 409]);
    expect(second.body).toMatchObject({ error: 'ConflictError', message: expect.stringContaining(id) });
    const stored = await new PredictionLog(LOG_TABLE).get(id.split('.')[0]);
    expect(stored?.feedback?.['0']?.actual).toBe(400);
  });

  it('refuses a request that labels one prediction twice, recording nothing of it', async () => {
    // Prepare
    const [a, b] = await predictIds(2);
    // Act
    const response = await label({
      feedback: [
        { id: b, actual: 1 },
        { id: a, actual: 400 },
        { id: a, actual: 4000 },
      ],
    });
    const later = await label({ id: b, actual: 400 });
    // Assess
    expect(response.status).toBe(400);
    expect(response.body.message).toContain(a);
    expect(later.status).toBe(200);
  });

  it('knows a prediction by one id only: a request naming it twice as ".1" and ".01" records nothing', async () => {
    // Prepare
    const [, b] = await predictIds(2);
    const alias = b.replace(/\.1$/, '.01');
    // Act
    const aliased = await label({
      feedback: [
        { id: b, actual: 400 },
        { id: alias, actual: 4000 },
      ],
    });
    const later = await label({ id: b, actual: 400 });
    // Assess
    expect(aliased.status).toBe(400);
    expect(aliased.body.message).toContain(alias);
    expect(later.status).toBe(200);
  });

  it('refuses a batch with an unknown or already labelled id before recording any of it', async () => {
    // Prepare
    const [labelled, fresh] = await predictIds(2);
    await label({ id: labelled, actual: 400 });
    // Act
    const withLabelled = await label({
      feedback: [
        { id: fresh, actual: 1 },
        { id: labelled, actual: 1 },
      ],
    });
    const withUnknown = await label({
      feedback: [
        { id: fresh, actual: 1 },
        { id: '00000000-0000-0000-0000-000000000000.0', actual: 1 },
      ],
    });
    const freshAfter = await label({ id: fresh, actual: 400 });
    // Assess
    expect([withLabelled.status, withUnknown.status]).toEqual([409, 404]);
    expect(freshAfter.status).toBe(200);
  });

  it('names the label at fault in a malformed request, not "body: Invalid input"', async () => {
    // Act
    const single = await label({ id: '00000000-0000-0000-0000-000000000000.0', actual: '400' });
    const batch = await label({ feedback: [{ id: '00000000-0000-0000-0000-000000000000.0' }] });
    // Assess
    expect([single.status, single.body.message]).toEqual([
      400,
      'actual: Invalid input: expected number, received string',
    ]);
    expect([batch.status, batch.body.message]).toEqual([
      400,
      'feedback.0.actual: Invalid input: expected number, received undefined',
    ]);
  });

  it('records nothing of a request answered 409 because another labelled one of its predictions meanwhile', async () => {
    // Act: a batch of 20 labels and, at the same time, a label for its last prediction (three times over:
    // which request claims the shared prediction first is up to the interleaving)
    const rounds = [];
    for (let round = 0; round < 3; round++) {
      const ids = await predictIds(20);
      const [batch, single] = await Promise.all([
        label({ feedback: ids.map((id) => ({ id, actual: 400 })) }),
        label({ id: ids[19], actual: 400 }),
      ]);
      // The batch's other predictions: recorded with it (200), or still free to label (its 409 kept none)
      const rest = await label({ feedback: ids.slice(0, 19).map((id) => ({ id, actual: 400 })) });
      rounds.push([batch.status, single.status, rest.status]);
    }
    // Assess: exactly one of the two took the shared prediction, and a 409 recorded nothing
    for (const [batch, single, rest] of rounds) {
      expect([batch, single].sort()).toEqual([200, 409]);
      expect(rest).toBe(batch === 200 ? 409 : 200);
    }
  });

  it("refuses a classifier's label that is none of its classes, recording nothing of the request", async () => {
    // Prepare: two predictions of the benign (1) / malignant (0) classifier
    const [names, row] = [breastCancer[0].split(',').slice(0, -1), breastCancer[1].split(',').map(Number)];
    const instance = Object.fromEntries(names.map((name, i) => [name, row[i]]));
    const answer = await steps.predict(
      event('predict', { instances: [instance, instance] }, 'breast-cancer'),
    );
    const [a, b] = JSON.parse(answer.body).predictions.map((prediction: { id: string }) => prediction.id);
    const labelClassifier = async (body: unknown) => {
      const response = await steps.feedback(event('feedback', body, 'breast-cancer'));
      return { status: response.statusCode, body: JSON.parse(response.body) };
    };
    // Act
    const batch = await labelClassifier({
      feedback: [
        { id: a, actual: 1 },
        { id: b, actual: 7 },
      ],
    });
    const half = await labelClassifier({ id: b, actual: 0.5 });
    const valid = await labelClassifier({ id: a, actual: 1 });
    // Assess
    expect([batch.status, batch.body.message]).toEqual([
      400,
      `prediction "${b}" was made by a classifier of classes 0, 1; the label 7 is none of them`,
    ]);
    expect(half.status).toBe(400);
    expect(valid.status).toBe(200);
    expect(valid.body.results[0]).toMatchObject({ id: a, misclassified: expect.any(Number) });
  });

  it(`bounds a batch at ${MAX_FEEDBACK} labels`, async () => {
    // Prepare
    const ids = await predictIds(MAX_FEEDBACK + 1);
    // Act
    const response = await label({ feedback: ids.map((id) => ({ id, actual: 400 })) });
    // Assess
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('BadRequestError');
  });
});
