/**
 * `POST /models/{name}/predict`: answers from the production model cached in this container, reloading
 * it when the registry's pointer moves (no redeploy). Every answer names the version that made it.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { predictInstances } from '#core/model.ts';
import { describeZodError, predictRequestSchema } from '../shared/api-schemas.ts';
import { numberEnv, requiredEnv } from '../shared/config.ts';
import { BadRequestError } from '../shared/errors.ts';
import { errorResponse, json, jsonBody, pathParameter } from '../shared/http.ts';
import { metrics, withObservability } from '../shared/observability.ts';
import { Registry } from '../shared/registry.ts';
import { ModelCache } from './model-cache.ts';

const cache = new ModelCache({
  registry: new Registry(requiredEnv('REGISTRY_TABLE')),
  bucket: requiredEnv('DATA_BUCKET'),
  ttlMs: numberEnv('MODEL_CACHE_TTL_SECONDS', 10) * 1000,
});

export async function predict(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const started = performance.now();
  let model = 'unknown';
  try {
    model = pathParameter(event, 'name');
    const parsed = predictRequestSchema.safeParse(jsonBody(event));
    if (!parsed.success) throw new BadRequestError(describeZodError(parsed.error));
    const serving = await cache.production(model);
    const predictions = predictInstances(serving.loaded, parsed.data.instances);
    // Two dimension sets: per model (what the alarms watch) and per model and version (the dashboard).
    metrics.addDimension('model', model);
    metrics.addDimensions({ model, version: String(serving.version) });
    metrics.addMetric('PredictLatency', 'Milliseconds', performance.now() - started);
    return json(200, { model, version: serving.version, predictions });
  } catch (error) {
    const response = errorResponse(error);
    metrics.addDimension('model', model);
    metrics.addMetric(response.statusCode >= 500 ? 'Predict5xx' : 'Predict4xx', 'Count', 1);
    return response;
  } finally {
    // Every request counts, failed ones too: the 5xx-rate alarm divides errors by requests.
    metrics.addMetric('PredictRequests', 'Count', 1);
  }
}

export const handler = withObservability(predict);
