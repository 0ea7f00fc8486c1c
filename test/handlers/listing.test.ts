/**
 * Listing without scans, and paging: the models, pages and promote handlers and the registry (the CLI's
 * path) against dynalite, counting the DynamoDB operations each public or scheduled path issues.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Registry } from '../../lambdas/shared/registry.ts';
import { registryTables, startTestEmulators, type TestEmulators } from '../support/emulators.ts';
import { lambda, prepareHandlerEnvironment } from '../support/pipeline-steps.ts';
import { versionRecord } from '../support/versions.ts';

const TABLE = 'driftline-listing-registry';
const MODEL = 'air-passengers';
const VERSIONS = 7;
const repo = new URL('../../', import.meta.url).pathname;

type Api = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

let emulators: TestEmulators;
let registry: Registry;
let models: Api;
let pages: Api;
let bake: (event: { action: 'bake' }) => Promise<unknown>;

/** An API Gateway proxy event for `resource`, with `{name}` and query parameters as given. */
function get(resource: string, query?: Record<string, string>, name = MODEL): APIGatewayProxyEvent {
  return {
    resource,
    path: resource.replace('{name}', name),
    httpMethod: 'GET',
    pathParameters: resource.includes('{name}') ? { name } : null,
    queryStringParameters: query ?? null,
    body: null,
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEvent;
}

async function getJson(event: APIGatewayProxyEvent) {
  const response = await models(event);
  return { status: response.statusCode, body: JSON.parse(response.body) };
}

/** Every item of a paged listing, following `next` until the last page. */
async function walk(listing: 'versions' | 'runs' | 'audit', limit: number) {
  const items: Record<string, unknown>[] = [];
  let next: string | undefined;
  let pages = 0;
  do {
    const { status, body } = await getJson(
      get(`/models/{name}/${listing}`, { limit: String(limit), ...(next ? { next } : {}) }),
    );
    expect(status).toBe(200);
    expect(body[listing].length).toBeLessThanOrEqual(limit);
    items.push(...body[listing]);
    next = body.next;
    pages += 1;
  } while (next !== undefined);
  return { items, pages };
}

beforeAll(async () => {
  emulators = await startTestEmulators();
  await prepareHandlerEnvironment({
    bucket: 'driftline-listing-data',
    table: TABLE,
    logTable: 'driftline-listing-log',
  });
  const { Registry } = await import('../../lambdas/shared/registry.ts');
  registry = new Registry(registryTables(TABLE));
  const spec = JSON.parse(readFileSync(`${repo}data/specs/air-passengers.json`, 'utf8'));
  for (const name of [MODEL, 'air-copy', 'zz-last']) await registry.putSpec(name, { ...spec, name });
  // Registering again keeps one catalog entry.
  await registry.putSpec(MODEL, spec);
  for (let n = 1; n <= VERSIONS; n++) {
    const { version: _n, ...record } = versionRecord(MODEL, n, 'staging');
    await registry.createVersion(record);
    await registry.promote(MODEL, n, {
      expected: n === 1 ? undefined : n - 1,
      reason: `test ${n}`,
      actor: 'test',
    });
    await registry.startRun({
      model: MODEL,
      runId: `run-${n}`,
      startedAt: new Date(Date.UTC(2026, 0, n)).toISOString(),
      trigger: 'drop',
      status: 'succeeded',
      step: 'register',
    });
  }
  models = lambda(await import('../../lambdas/models/handler.ts'));
  pages = lambda(await import('../../lambdas/pages/handler.ts'));
  bake = lambda(await import('../../lambdas/promote/handler.ts'));
});

afterAll(async () => emulators?.close());

describe('listing models', () => {
  it('serves /health, /models, the pages index, the bake schedule and the CLI listing without a scan', async () => {
    // Prepare
    emulators.dynamoOperations.length = 0;
    // Act
    const health = await getJson(get('/health'));
    const listed = await getJson(get('/models'));
    const index = await pages(get('/'));
    await bake({ action: 'bake' });
    const names = await registry.listModels();
    // Assess
    expect(health.body.models).toEqual({ [MODEL]: VERSIONS, 'air-copy': null, 'zz-last': null });
    expect(Object.keys(listed.body.models)).toEqual(['air-copy', MODEL, 'zz-last']);
    expect(index.statusCode).toBe(200);
    expect(names).toEqual(['air-copy', MODEL, 'zz-last']);
    expect(emulators.dynamoOperations).toContain('Query');
    expect(emulators.dynamoOperations.filter((operation) => operation === 'Scan')).toEqual([]);
  });
});

describe('paging versions, runs and audit', () => {
  it.each([
    ['versions', 'version', Array.from({ length: VERSIONS }, (_, i) => VERSIONS - i)],
    ['runs', 'runId', Array.from({ length: VERSIONS }, (_, i) => `run-${VERSIONS - i}`)],
    ['audit', 'toVersion', Array.from({ length: VERSIONS }, (_, i) => VERSIONS - i)],
  ] as const)('walks every %s, newest first, a page of 3 at a time', async (listing, field, expected) => {
    // Act
    const { items, pages: count } = await walk(listing, 3);
    // Assess
    expect(items.map((item) => item[field])).toEqual(expected);
    expect(count).toBe(Math.ceil(VERSIONS / 3));
  });

  it('gives no cursor on a page that ends its listing, also when the page is exactly full', async () => {
    // Act
    const full = await Promise.all(
      ['versions', 'runs', 'audit'].map((listing) =>
        getJson(get(`/models/{name}/${listing}`, { limit: String(VERSIONS) })),
      ),
    );
    const view = await getJson(get('/models/{name}', { limit: String(VERSIONS) }));
    const short = await getJson(get('/models/{name}/versions', { limit: String(VERSIONS - 1) }));
    // Assess
    expect(full.map(({ status, body }) => [status, body.next])).toEqual([
      [200, undefined],
      [200, undefined],
      [200, undefined],
    ]);
    expect(view.body.next).toEqual({});
    expect(short.body.versions).toHaveLength(VERSIONS - 1);
    expect(short.body.next).toEqual(expect.any(String));
  });

  it('shows the first page of each listing on the model, with cursors that continue on its sub-routes', async () => {
    // Act
    const { status, body } = await getJson(get('/models/{name}', { limit: '2' }));
    const more = await getJson(get('/models/{name}/versions', { limit: '2', next: body.next.versions }));
    // Assess
    expect(status).toBe(200);
    expect(body.versions.map((v: { version: number }) => v.version)).toEqual([7, 6]);
    expect(body.runs).toHaveLength(2);
    expect(body.audit.map((a: { toVersion: number }) => a.toVersion)).toEqual([7, 6]);
    expect(more.body.versions.map((v: { version: number }) => v.version)).toEqual([5, 4]);
  });

  it.each([
    ['a limit of 0', '/models/{name}/versions', { limit: '0' }],
    ['a limit over 100', '/models/{name}/runs', { limit: '101' }],
    ['a limit that is not a number', '/models/{name}/audit', { limit: 'ten' }],
    ['a fractional limit', '/models/{name}', { limit: '2.5' }],
    ['a cursor with characters a cursor never has', '/models/{name}/versions', { next: 'a+b/c==' }],
    [
      'a cursor of another listing',
      '/models/{name}/versions',
      { next: Buffer.from('RUN#x#y').toString('base64url') },
    ],
    [
      'a cursor naming another kind of item',
      '/models/{name}/runs',
      { next: Buffer.from('LEASE').toString('base64url') },
    ],
    ['a cursor of 2 KB', '/models/{name}/audit', { next: 'A'.repeat(2048) }],
    ['a cursor on the model view', '/models/{name}', { next: 'AAAA' }],
    ['an unknown parameter', '/models/{name}/runs', { offset: '10' }],
  ])('answers %s with a 400 {message, error}', async (_case, resource, query) => {
    // Act
    const { status, body } = await getJson(get(resource, query));
    // Assess
    expect(status).toBe(400);
    expect(body).toEqual({ message: expect.any(String), error: expect.stringMatching(/Error$/) });
    expect(body.message.length).toBeLessThan(300);
  });

  it.each([
    ['over 2 KB', 'a'.repeat(2100)],
    ['with capitals', 'Air-Passengers'],
    ['with an encoded slash', 'air%2Fpassengers'],
  ])('answers a name %s with a 400 before it reaches the registry', async (_case, name) => {
    // Act
    const answers = await Promise.all(
      ['/models/{name}', '/models/{name}/versions', '/models/{name}/runs', '/models/{name}/audit'].map(
        (resource) => getJson(get(resource, undefined, name)),
      ),
    );
    // Assess
    expect(answers.map((answer) => [answer.status, answer.body.error])).toEqual(
      Array(4).fill([400, 'BadRequestError']),
    );
  });

  it('answers a listing of an unknown model with a 404', async () => {
    // Act
    const { status, body } = await getJson(get('/models/{name}/versions', undefined, 'no-such-model'));
    // Assess
    expect(status).toBe(404);
    expect(body.error).toBe('NotFoundError');
  });
});

describe('the CLI', () => {
  /** Runs a CLI command in process against the emulators (a runtime.json naming them) and parses its JSON. */
  async function cli(run: (home: string) => Promise<void>) {
    const home = mkdtempSync(join(tmpdir(), 'driftline-listing-home-'));
    const { registry: RegistryTableName, runs: RunsTableName } = registryTables(TABLE);
    const unused = 'http://127.0.0.1:9';
    writeFileSync(
      join(home, 'runtime.json'),
      JSON.stringify({
        apiUrl: `${unused}/`,
        region: 'us-east-1',
        endpoints: {
          s3: emulators.s3.endpoint,
          dynamodb: emulators.dynamo.endpoint,
          lambda: unused,
          states: unused,
        },
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        outputs: {
          BucketName: 'b',
          RegistryTableName,
          RunsTableName,
          ApiUrl: `${unused}/`,
          RollbackFunctionName: 'r',
          PromoteFunctionName: 'p',
        },
      }),
    );
    const printed: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
    try {
      await run(home);
    } finally {
      log.mockRestore();
    }
    return JSON.parse(printed.join('\n'));
  }

  it('pages runs and versions with --limit and --next, and refuses a forged cursor', async () => {
    // Prepare
    const { runsCommand, modelsCommand } = await import('../../bin/commands/remote.ts');
    // Act
    const first = await cli((home) => runsCommand(MODEL, { home, json: true, limit: '4' }));
    const second = await cli((home) =>
      runsCommand(MODEL, { home, json: true, limit: '4', next: first.next }),
    );
    const model = await cli((home) => modelsCommand(MODEL, { home, json: true, limit: '5' }));
    const forged = cli((home) =>
      modelsCommand(MODEL, { home, json: true, next: Buffer.from('POINTERS').toString('base64url') }),
    );
    // Assess
    expect([...first.runs, ...second.runs].map((run: { runId: string }) => run.runId)).toEqual(
      Array.from({ length: VERSIONS }, (_, i) => `run-${VERSIONS - i}`),
    );
    expect(second.next).toBeUndefined();
    expect(model.versions.map((v: { version: number }) => v.version)).toEqual([7, 6, 5, 4, 3]);
    expect(model.next.versions).toEqual(expect.any(String));
    await expect(forged).rejects.toMatchObject({
      name: 'CliError',
      message: expect.stringContaining('cursor'),
    });
  });
});
