/**
 * Every route fuzzed through the API a user reaches (the local runtime's port, the template's request
 * validation, then the handler). Routes with a body: 2,000 generated bodies each, near-valid ones with the
 * numbers that broke things (`1e308`, `-0`, `5e-324`, 0 as a label) and names and ids over 2 KB, and
 * arbitrary JSON. The GET routes (the pages too, among them the report of the model the feedback fuzz just
 * labelled, 0s included): 1,000 generated requests with path parameters over 2 KB or oddly encoded
 * (a lone `%`, `%zz`, `%00`, an encoded `/`, dot segments) and query strings (limits and cursors of every
 * shape, unknown parameters). None may answer 5xx or show a stack trace; every JSON 4xx is
 * `{message, error}`. Generation is seeded.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
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
const GET_REQUESTS = 1000;
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

/** A path segment as a client might send it: a model name, text over 2 KB, or a broken encoding. */
const pathSegment = fc.oneof(
  fc.constantFrom('air-passengers', 'no-such-model', 'Air-Passengers', '-x', 'a'.repeat(64)),
  fc.constantFrom('%', '%zz', '%00', '%2F', '%2e%2e', '..', '.', '%C0%AF', '%FF%FE', '%25', '%E2%80%AE', '~'),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  longText.map(encodeURIComponent),
  fc.string({ unit: 'binary', maxLength: 20 }).map(encodeURIComponent),
);

/** A query value: numbers as text, cursors (made up, of other listings, 2 KB), broken encodings. */
const queryValue = fc.oneof(
  fc.constantFrom('', '0', '1', '100', '101', '-1', '1e3', '2.5', '0x10', 'NaN', 'Infinity', '%205'),
  fc.constantFrom('%', '%zz', '%00', '+', '%2B'),
  fc
    .constantFrom('POINTERS', 'LEASE', 'VERSION#0000000001', 'RUN#x#y', 'AUDIT#x#r1')
    .map((key) => Buffer.from(key).toString('base64url')),
  fc.string({ maxLength: 60 }).map(encodeURIComponent),
  longText.map(encodeURIComponent),
);

const getPaths = () =>
  fc
    .tuple(
      fc.constantFrom(
        '/models/{name}',
        '/models/{name}/versions',
        '/models/{name}/runs',
        '/models/{name}/audit',
        '/models/{name}/report',
        '/models',
        '/health',
        '/docs/{name}',
        '/openapi.json',
        '/',
      ),
      pathSegment,
      fc.array(
        fc.tuple(
          fc.constantFrom('limit', 'next', 'limit', 'next', 'offset', '%', 'x'.repeat(3000)),
          queryValue,
        ),
        {
          maxLength: 3,
        },
      ),
    )
    .map(([route, name, query]) => {
      const search = query.map(([key, value]) => `${key}=${value}`).join('&');
      return `${route.replace('{name}', name)}${search ? `?${search}` : ''}`;
    });

/** A GET of `path` exactly as given (fetch would normalise dot segments and encodings away). */
function rawGet(apiUrl: string, path: string): Promise<{ status: number; body: string; sent: string }> {
  const url = new URL(apiUrl);
  return new Promise((resolve, reject) => {
    const call = request(
      {
        host: url.hostname,
        port: url.port,
        path: `${url.pathname.replace(/\/$/, '')}${path}`,
        method: 'GET',
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            sent: path,
          }),
        );
        response.on('error', reject);
      },
    );
    call.on('error', reject);
    call.end();
  });
}

/** Every answer below 500, and every refusal names its problem as `{message, error}`. */
function expectNoServerError(
  answers: { status: number; body: string; sent: string }[],
  count = BODIES_PER_ROUTE,
) {
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
  expect(answers).toHaveLength(count);
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

describe(`${GET_REQUESTS} generated GET requests`, () => {
  it('never answer 5xx or show internals, and every JSON refusal is {message, error}', async () => {
    // Prepare
    const paths = fc.sample(getPaths(), { numRuns: GET_REQUESTS, seed: 14 });
    // Act
    const answers: { status: number; body: string; sent: string }[] = [];
    for (const path of paths) answers.push(await rawGet(runtime.apiUrl, path));
    // Assess: pages answer HTML (their errors too); every other refusal is the API's JSON error
    const pages = /^\/(docs\/|models\/[^/?]*\/report(\?|$)|\?|$)/;
    const json = answers.filter((answer) => !pages.test(answer.sent));
    expectNoServerError(json, json.length);
    expect(answers.filter((answer) => answer.status >= 500).slice(0, 3)).toEqual([]);
    expect(
      answers
        .filter((answer) => /\bat .+\.(ts|js|mjs):\d+|node_modules|\/work\/|file:\/\//.test(answer.body))
        .slice(0, 3),
    ).toEqual([]);
    // The sample reaches every kind of answer: pages and views served, refusals of both kinds.
    expect([200, 400, 404].every((status) => answers.some((answer) => answer.status === status))).toBe(true);
    // The report of the model the feedback fuzz labelled (0s among the labels) is among them, rendered.
    expect(
      answers
        .filter((answer) => /^\/models\/air-passengers\/report\b/.test(answer.sent))
        .map((a) => a.status),
    ).toContain(200);
  });
});
