/**
 * The registry, read-only, over the API: `GET /health`, `GET /models`, `GET /models/{name}` (production,
 * canary, and the first page of versions, runs and audit) and the paged listings
 * `GET /models/{name}/versions`, `/runs` and `/audit` (`?limit=&next=`). Listing models reads the
 * registry's catalog partition; nothing here scans a table. `/health` also checks that each production
 * artifact still hashes to the sha256 the registry recorded: a model whose artifact predict would refuse
 * is reported `degraded`, naming the version and the reason.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ChecksumMismatchError, sha256Hex } from '#core/model.ts';
import { modelQuerySchema, pageQuerySchema } from '../shared/api-schemas.ts';
import { requiredEnv } from '../shared/config.ts';
import { NotFoundError } from '../shared/errors.ts';
import { errorResponse, json, modelName, queryParameters } from '../shared/http.ts';
import { withObservability } from '../shared/observability.ts';
import { DEFAULT_PAGE_SIZE } from '../shared/paging.ts';
import { type PageRequest, Registry } from '../shared/registry.ts';
import { getBytes, objectEtag } from '../shared/storage.ts';

const registry = new Registry({ registry: requiredEnv('REGISTRY_TABLE'), runs: requiredEnv('RUNS_TABLE') });

const bucket = requiredEnv('DATA_BUCKET');

async function productionVersions(): Promise<Record<string, number | null>> {
  const names = await registry.listModels();
  const pointers = await Promise.all(names.map((name) => registry.getPointer(name, 'production')));
  return Object.fromEntries(names.map((name, i) => [name, pointers[i]?.version ?? null]));
}

/** Artifacts already hashed (key, ETag, expected sha256) → the refusal reason, or undefined when sound. */
const verified = new Map<string, string | undefined>();

/**
 * Why predict would refuse a version's artifact, or undefined when it would load it: the same checks and
 * words as the predict cache (`ChecksumMismatchError`). Bytes are hashed once per ETag; later calls HEAD.
 */
async function artifactProblem(model: string, version: number): Promise<string | undefined> {
  const record = await registry.getVersion(model, version);
  if (!record) return `version ${version} has no registry record`;
  const { key, sha256 } = record.artifact;
  const etag = await objectEtag(bucket, key);
  if (etag === undefined) return `its artifact ${key} does not exist`;
  const cacheKey = `${key}\n${etag}\n${sha256}`;
  if (!verified.has(cacheKey)) {
    const actual = sha256Hex(await getBytes(bucket, key));
    verified.set(cacheKey, actual === sha256 ? undefined : new ChecksumMismatchError(sha256, actual).message);
  }
  return verified.get(cacheKey);
}

/** `GET /health`: `ok`, or `degraded` with each model whose production artifact would be refused. */
async function health() {
  const models = await productionVersions();
  const degraded: Record<string, { version: number; reason: string }> = {};
  await Promise.all(
    Object.entries(models).map(async ([name, version]) => {
      if (version === null) return;
      const problem = await artifactProblem(name, version);
      if (problem) degraded[name] = { version, reason: `its artifact is refused (${problem})` };
    }),
  );
  return Object.keys(degraded).length === 0
    ? { status: 'ok' as const, models }
    : { status: 'degraded' as const, models, degraded };
}

/** The model named by the path, which must be registered. @throws NotFoundError otherwise. */
async function registeredModel(event: APIGatewayProxyEvent): Promise<{ name: string; spec: unknown }> {
  const name = modelName(event);
  const spec = await registry.getSpec(name);
  if (spec === undefined) throw new NotFoundError(`no model named "${name}"`);
  return { name, spec };
}

async function describeModel(event: APIGatewayProxyEvent) {
  const { limit = DEFAULT_PAGE_SIZE } = queryParameters(event, modelQuerySchema);
  const { name, spec } = await registeredModel(event);
  const [production, canary, versions, runs, audit] = await Promise.all([
    registry.getPointer(name, 'production'),
    registry.getPointer(name, 'canary'),
    registry.versionsPage(name, { limit }),
    registry.runsPage(name, { limit }),
    registry.auditPage(name, { limit }),
  ]);
  return {
    name,
    spec,
    production: production ?? null,
    canary: canary ?? null,
    versions: versions.items,
    runs: runs.items,
    audit: audit.items,
    next: { versions: versions.next, runs: runs.next, audit: audit.next },
  };
}

/** The page a listing route asks for (`?limit=&next=`). */
function pageOf(event: APIGatewayProxyEvent): PageRequest {
  const { limit = DEFAULT_PAGE_SIZE, next } = queryParameters(event, pageQuerySchema);
  return { limit, next };
}

export async function models(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  try {
    switch (event.resource) {
      case '/health':
        return json(200, await health());
      case '/models':
        return json(200, { models: await productionVersions() });
      case '/models/{name}':
        return json(200, await describeModel(event));
      case '/models/{name}/versions': {
        const page = pageOf(event);
        const { name } = await registeredModel(event);
        const { items, next } = await registry.versionsPage(name, page);
        return json(200, { name, versions: items, next });
      }
      case '/models/{name}/runs': {
        const page = pageOf(event);
        const { name } = await registeredModel(event);
        const { items, next } = await registry.runsPage(name, page);
        return json(200, { name, runs: items, next });
      }
      case '/models/{name}/audit': {
        const page = pageOf(event);
        const { name } = await registeredModel(event);
        const { items, next } = await registry.auditPage(name, page);
        return json(200, { name, audit: items, next });
      }
      default:
        throw new NotFoundError(`no route ${event.httpMethod} ${event.resource}`);
    }
  } catch (error) {
    return errorResponse(error);
  }
}

export const handler = withObservability(models, { metrics: false });
