/**
 * Every route with a body, fuzzed through the API a user reaches (the local runtime's port, the
 * template's request validation, then the handler): 2,000 generated bodies per route, near-valid ones
 * with the numbers that broke things (`1e308`, `-0`, `5e-324`, 0 as a label) and names and ids over 2 KB,
 * and arbitrary JSON. None may answer 5xx; every 4xx is `{message, error}`. Generation is seeded.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { waitForRun } from '../../bin/commands/remote.ts';
import { resolveTarget, type Target } from '../../bin/target.ts';
import { type DriftlineRuntime, startRuntime } from '../../local/runtime.ts';

const E2E_TIMEOUT_MS = 15 * 60_000;
vi.setConfig({ testTimeout: E2E_TIMEOUT_MS, hookTimeout: E2E_TIMEOUT_MS });

const BODIES_PER_ROUTE = 2000;
const repo = new URL('../../', import.meta.url).pathname;
const lines = readFileSync(join(repo, 'data/air-passengers.csv'), 'utf8').trim().split('\n');

let home: string;
let runtime: DriftlineRuntime;
let target: Target;
let ids: string[];

/** Numbers at the edges of what doubles, JSON and DynamoDB hold. */
const edgeNumber = fc.oneof(
  fc.constantFrom(1e308, -1e308, -0, 0, 5e-324, -5e-324, 2 ** 53 + 1, 1e-130, 1e125, 1, 112),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);
const longText = fc.string({ minLength: 2049, maxLength: 4096 });
const history = fc.array(edgeNumber, { minLength: 0, maxLength: 15 });

const predictBodies = () =>
  fc.oneof(
    fc.record({ instances: fc.array(fc.record({ history }), { minLength: 0, maxLength: 3 }) }),
    fc.record({
      instances: fc.array(fc.dictionary(fc.oneof(fc.string(), longText), edgeNumber), { maxLength: 2 }),
    }),
    fc.record({ instances: fc.anything() }),
    fc.anything(),
  );

const feedbackBodies = () => {
  const id = fc.oneof(fc.constantFrom(...ids), fc.string(), longText, fc.constant(`${ids[0]}9`));
  const item = fc.record({ id, actual: fc.oneof(edgeNumber, fc.anything()) });
  return fc.oneof(
    item,
    fc.record({ feedback: fc.array(item, { minLength: 0, maxLength: 4 }) }),
    fc.anything(),
  );
};

/** Every answer below 500, and every refusal names its problem as `{message, error}`. */
function expectNoServerError(answers: { status: number; body: string; sent: string }[]) {
  const serverErrors = answers.filter((answer) => answer.status >= 500);
  expect(serverErrors.slice(0, 3)).toEqual([]);
  const refusals = answers.filter((answer) => answer.status >= 400);
  const unnamed = refusals.filter((answer) => {
    try {
      const body = JSON.parse(answer.body);
      return typeof body.message !== 'string' || typeof body.error !== 'string';
    } catch {
      return true;
    }
  });
  expect(unnamed.slice(0, 3)).toEqual([]);
  expect(answers).toHaveLength(BODIES_PER_ROUTE);
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'driftline-fuzz-'));
  runtime = await startRuntime({ home, port: 0, quiet: true, retryIntervalMs: 10, schedules: false });
  target = await resolveTarget({ home });
  const spec = JSON.parse(readFileSync(join(repo, 'data/specs/air-passengers.json'), 'utf8'));
  await target.registry.putSpec('air-passengers', { ...spec, search: { strategy: 'random', trials: 2 } });
  const key = 'incoming/air-passengers/first.csv';
  await target.s3.send(
    new PutObjectCommand({
      Bucket: target.outputs.BucketName,
      Key: key,
      Body: `${lines.slice(0, 121).join('\n')}\n`,
    }),
  );
  await waitForRun(target, 'air-passengers', key, { quiet: true, timeoutMs: E2E_TIMEOUT_MS });
  const values = lines.slice(109, 121).map((line) => Number(line.split(',')[1]));
  const answer = await target.api('models/air-passengers/predict', {
    method: 'POST',
    body: { instances: Array.from({ length: 20 }, () => ({ history: values })) },
  });
  ids = ((await answer.json()) as { predictions: { id: string }[] }).predictions.map((p) => p.id);
});

afterAll(async () => {
  await runtime?.stop();
  rmSync(home, { recursive: true, force: true });
});

describe(`${BODIES_PER_ROUTE} generated bodies per route`, () => {
  it('POST /models/{name}/predict never answers 5xx', async () => {
    // Prepare
    const bodies = fc.sample(predictBodies(), { numRuns: BODIES_PER_ROUTE, seed: 13 });
    // Act
    const answers = [];
    for (const body of bodies) {
      const sent = JSON.stringify(body) ?? 'null';
      const response = await fetch(`${runtime.apiUrl}models/air-passengers/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: sent,
      });
      answers.push({ status: response.status, body: await response.text(), sent });
    }
    // Assess
    expectNoServerError(answers);
  });

  it('POST /models/{name}/feedback (signed) never answers 5xx, under names over 2 KB too', async () => {
    // Prepare
    const bodies = fc.sample(feedbackBodies(), { numRuns: BODIES_PER_ROUTE, seed: 13 });
    const names = fc.sample(fc.oneof(fc.constant('air-passengers'), longText, fc.string({ minLength: 1 })), {
      numRuns: BODIES_PER_ROUTE,
      seed: 12,
    });
    // Act
    const answers = [];
    for (const [i, body] of bodies.entries()) {
      const response = await target.api(`models/${encodeURIComponent(names[i])}/feedback`, {
        method: 'POST',
        body: body ?? null,
      });
      answers.push({ status: response.status, body: await response.text(), sent: JSON.stringify(body) });
    }
    // Assess
    expectNoServerError(answers);
  });
});
