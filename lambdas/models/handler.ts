/**
 * The registry, read-only, over the API: `GET /health`, `GET /models`, `GET /models/{name}` (production,
 * canary, versions, recent runs, audit) and `GET /models/{name}/runs`.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { requiredEnv } from '../shared/config.ts';
import { NotFoundError } from '../shared/errors.ts';
import { errorResponse, json, pathParameter } from '../shared/http.ts';
import { withObservability } from '../shared/observability.ts';
import { Registry } from '../shared/registry.ts';

const registry = new Registry({ registry: requiredEnv('REGISTRY_TABLE'), runs: requiredEnv('RUNS_TABLE') });

async function productionVersions(): Promise<Record<string, number | null>> {
  const names = await registry.listModels();
  const pointers = await Promise.all(names.map((name) => registry.getPointer(name, 'production')));
  return Object.fromEntries(names.map((name, i) => [name, pointers[i]?.version ?? null]));
}

async function describeModel(name: string) {
  const spec = await registry.getSpec(name);
  if (spec === undefined) throw new NotFoundError(`no model named "${name}"`);
  const [production, canary, versions, runs, audit] = await Promise.all([
    registry.getPointer(name, 'production'),
    registry.getPointer(name, 'canary'),
    registry.listVersions(name),
    registry.listRuns(name, 10),
    registry.listAudit(name),
  ]);
  return { name, spec, production: production ?? null, canary: canary ?? null, versions, runs, audit };
}

export async function models(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  try {
    switch (event.resource) {
      case '/health':
        return json(200, { status: 'ok', models: await productionVersions() });
      case '/models':
        return json(200, { models: await productionVersions() });
      case '/models/{name}':
        return json(200, await describeModel(pathParameter(event, 'name')));
      case '/models/{name}/runs': {
        const name = pathParameter(event, 'name');
        if ((await registry.getSpec(name)) === undefined) throw new NotFoundError(`no model named "${name}"`);
        const limit = Math.min(100, Math.max(1, Number(event.queryStringParameters?.limit ?? 20) || 20));
        return json(200, { name, runs: await registry.listRuns(name, limit) });
      }
      default:
        throw new NotFoundError(`no route ${event.httpMethod} ${event.resource}`);
    }
  } catch (error) {
    return errorResponse(error);
  }
}

export const handler = withObservability(models, { metrics: false });
