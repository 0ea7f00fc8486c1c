/**
 * The registry, read-only, over the API: `GET /health`, `GET /models`, `GET /models/{name}` (production,
 * canary, and the first page of versions, runs and audit) and the paged listings
 * `GET /models/{name}/versions`, `/runs` and `/audit` (`?limit=&next=`). Listing models reads the
 * registry's catalog partition; nothing here scans a table.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { DEFAULT_PAGE_SIZE, modelQuerySchema, pageQuerySchema } from '../shared/api-schemas.ts';
import { requiredEnv } from '../shared/config.ts';
import { NotFoundError } from '../shared/errors.ts';
import { errorResponse, json, pathParameter, queryParameters } from '../shared/http.ts';
import { withObservability } from '../shared/observability.ts';
import { type PageRequest, Registry } from '../shared/registry.ts';

const registry = new Registry({ registry: requiredEnv('REGISTRY_TABLE'), runs: requiredEnv('RUNS_TABLE') });

async function productionVersions(): Promise<Record<string, number | null>> {
  const names = await registry.listModels();
  const pointers = await Promise.all(names.map((name) => registry.getPointer(name, 'production')));
  return Object.fromEntries(names.map((name, i) => [name, pointers[i]?.version ?? null]));
}

/** The model named by the path, which must be registered. @throws NotFoundError otherwise. */
async function registeredModel(event: APIGatewayProxyEvent): Promise<{ name: string; spec: unknown }> {
  const name = pathParameter(event, 'name');
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
        return json(200, { status: 'ok', models: await productionVersions() });
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
