/**
 * `POST /models/{name}/feedback`: labels that arrive after the prediction (`{ id, actual }` or a batch).
 * Each label is stored on the logged prediction and turned into the live error of the version that made it
 * (and of a shadow that predicted alongside), emitted as metrics the quality alarm watches.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { liveQuality } from '#core/live-quality.ts';
import { describeZodError, feedbackRequestSchema } from '../shared/api-schemas.ts';
import { requiredEnv } from '../shared/config.ts';
import { BadRequestError, NotFoundError } from '../shared/errors.ts';
import { errorResponse, json, jsonBody, pathParameter } from '../shared/http.ts';
import { metrics, withObservability } from '../shared/observability.ts';
import {
  addLiveObservation,
  PredictionLog,
  parsePredictionId,
  type ServingRole,
} from '../shared/prediction-log.ts';
import { Registry } from '../shared/registry.ts';

const registry = new Registry(requiredEnv('REGISTRY_TABLE'));
const predictionLog = new PredictionLog(requiredEnv('PREDICTION_LOG_TABLE'));

/** Holdout metrics per version, kept for the container's life (a version's metrics never change). */
const holdoutMetrics = new Map<string, Promise<Record<string, number>>>();

function metricsOf(model: string, version: number): Promise<Record<string, number>> {
  const key = `${model}#${version}`;
  let cached = holdoutMetrics.get(key);
  if (!cached) {
    cached = registry.getVersion(model, version).then((record) => {
      if (!record) throw new NotFoundError(`model "${model}" has no version ${version}`);
      return record.metrics;
    });
    holdoutMetrics.set(key, cached);
    cached.catch(() => holdoutMetrics.delete(key));
  }
  return cached;
}

/** One EMF record per labelled prediction: its role and version differ from item to item. */
function emit(model: string, version: number, role: ServingRole, error: number, ratio: number) {
  const single = metrics.singleMetric();
  single.addDimensions({ model, role });
  single.addDimensions({ model, version: String(version) });
  single.addMetric('LiveError', 'None', error);
  const ratioMetric = metrics.singleMetric();
  ratioMetric.addDimensions({ model, role });
  ratioMetric.addDimensions({ model, version: String(version) });
  ratioMetric.addMetric('LiveQualityRatio', 'None', ratio);
}

async function recordOne(model: string, id: string, actual: number) {
  const parsed = parsePredictionId(id);
  if (!parsed) throw new BadRequestError(`"${id}" is not a prediction id (they look like <request>.<index>)`);
  const record = await predictionLog.get(parsed.requestId);
  if (!record) throw new NotFoundError(`no logged prediction "${id}" (ids expire after 30 days)`);
  if (record.model !== model)
    throw new BadRequestError(`prediction "${id}" was made by model "${record.model}", not "${model}"`);
  const prediction = record.predictions[parsed.index];
  if (!prediction) throw new NotFoundError(`request ${parsed.requestId} has no prediction ${parsed.index}`);
  const quality = liveQuality(prediction, actual, await metricsOf(model, record.version));
  emit(model, record.version, record.role, quality.error, quality.ratio);
  await addLiveObservation(predictionLog, model, record.version, quality);
  const shadowPrediction = record.shadow?.predictions[parsed.index];
  if (record.shadow && shadowPrediction) {
    const shadow = liveQuality(shadowPrediction, actual, await metricsOf(model, record.shadow.version));
    emit(model, record.shadow.version, 'shadow', shadow.error, shadow.ratio);
    await addLiveObservation(predictionLog, model, record.shadow.version, shadow);
  }
  await predictionLog.recordFeedback(parsed.requestId, parsed.index, actual);
  return {
    id,
    version: record.version,
    role: record.role,
    [quality.measure]: quality.error,
    ratio: quality.ratio,
  };
}

export async function feedback(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  try {
    const model = pathParameter(event, 'name');
    const parsed = feedbackRequestSchema.safeParse(jsonBody(event));
    if (!parsed.success) throw new BadRequestError(describeZodError(parsed.error));
    const items = 'feedback' in parsed.data ? parsed.data.feedback : [parsed.data];
    const results = [];
    for (const item of items) results.push(await recordOne(model, item.id, item.actual));
    return json(200, { model, recorded: results.length, results });
  } catch (error) {
    return errorResponse(error);
  }
}

export const handler = withObservability(feedback, { metrics: false });
