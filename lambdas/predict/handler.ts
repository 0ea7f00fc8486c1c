/**
 * `POST /models/{name}/predict`: answers from the production model cached in this container, reloading
 * it when the registry's pointers move (no redeploy). A baking canary answers its share of requests; a
 * shadow predicts on every request without answering. Every answer names the version that made it, every
 * prediction gets an id (for feedback), and every request is logged with its inputs.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { canaryDraw, canarySeed } from '#core/canary.ts';
import { type Prediction, predictInstances } from '#core/model.ts';
import { checkServingInputs } from '#core/serving-inputs.ts';
import type { MissingPolicy } from '#core/spec.ts';
import { describeZodError, type PredictRequest, predictRequestSchema } from '../shared/api-schemas.ts';
import { numberEnv, optionalEnv, requiredEnv } from '../shared/config.ts';
import { BadRequestError, ModelUnavailableError, NotFoundError } from '../shared/errors.ts';
import { errorResponse, json, jsonBody, modelName } from '../shared/http.ts';
import {
  ARTIFACT_REFUSED_METRIC,
  emitMetrics,
  logger,
  type MetricValue,
  withObservability,
} from '../shared/observability.ts';
import {
  type LoggedPrediction,
  type PredictionEntry,
  PredictionLog,
  predictionId,
  type ServingRole,
} from '../shared/prediction-log.ts';
import { Registry } from '../shared/registry.ts';
import { ModelCache, type ServingModel } from './model-cache.ts';

const cache = new ModelCache({
  registry: new Registry({ registry: requiredEnv('REGISTRY_TABLE') }),
  bucket: requiredEnv('DATA_BUCKET'),
  ttlMs: numberEnv('MODEL_CACHE_TTL_SECONDS', 2) * 1000,
});
const predictionLog = new PredictionLog(requiredEnv('PREDICTION_LOG_TABLE'));
// Each container starts the evenly spread canary sequence at its own point, seeded by its log stream name
// (unique per container, and on every line it logs), so its canary draws are reproducible (core/canary.ts).
const canary = canaryDraw(canarySeed(optionalEnv('AWS_LAMBDA_LOG_STREAM_NAME') ?? ''));

function logged(predictions: Prediction[]): LoggedPrediction[] {
  return predictions.map(({ value, label, probabilities }) => ({ value, label, probabilities }));
}

/** The shadow's answers, or undefined when it fails: a shadow must never break the real answer. */
function shadowPredictions(shadow: ServingModel, instances: unknown[], missing: MissingPolicy) {
  try {
    const checked = checkServingInputs(shadow.loaded.featurizer, instances, missing);
    return {
      version: shadow.version,
      predictions: logged(predictInstances(shadow.loaded, checked.instances)),
    };
  } catch (error) {
    logger.warn('shadow version failed to predict', { version: shadow.version, error: error as Error });
    return undefined;
  }
}

/** The metrics of one request, written as one EMF line when it ends. */
interface RequestMetrics {
  version?: number;
  values: Record<string, MetricValue>;
}

/**
 * Logs the request: one small item per request (a batch included), awaited before the answer. On Lambda
 * the container freezes once the handler returns, so a write left in flight might land minutes later or
 * never (the container may be reclaimed), and buffering writes across requests loses them the same way;
 * every id an answer gives must be one feedback can find, so the answer waits for the write. A logging
 * failure never fails the prediction: it is logged and counted on its own metric (not a 5xx, so it cannot
 * roll a healthy model back); feedback for those ids then answers 404.
 */
async function logRequest(entry: PredictionEntry, measured: RequestMetrics): Promise<void> {
  try {
    await predictionLog.put(entry);
  } catch (error) {
    logger.error('prediction log write failed; the prediction is answered', { error: error as Error });
    measured.values.PredictionLogErrors = { unit: 'Count', value: 1 };
  }
}

export async function predict(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const started = performance.now();
  /**
   * The metrics' model: a name becomes one only once a model of that name is found. Any caller may ask
   * for any name, and a metric per made-up name (each a custom metric, billed by the hour) would let
   * anyone add them by the million; requests for a name nothing serves count under "unknown".
   */
  let model = 'unknown';
  let role: ServingRole = 'production';
  const measured: RequestMetrics = { values: {} };
  try {
    const name = modelName(event);
    // What serves is found first, so a bad body for a model counts under that model.
    const serving = await cache.serving(name).catch((error: unknown) => {
      if (!(error instanceof NotFoundError)) model = name;
      throw error;
    });
    model = name;
    const body = jsonBody(event);
    const parsed = predictRequestSchema.safeParse(body);
    if (!parsed.success) throw new BadRequestError(describeZodError(parsed.error));
    // The instances as sent, now that their shape is checked: zod rebuilds a tabular instance key by key,
    // and assigning a "__proto__" key sets the copy's prototype instead, so the key would vanish and the
    // request be answered as if it were not there, where any other unknown key is a 400.
    const { instances } = body as PredictRequest;
    let answering = serving.production;
    const { candidate } = serving;
    if (candidate?.mode === 'canary' && canary() < candidate.weight) {
      answering = candidate.serving;
      role = 'canary';
    }
    measured.version = answering.version;
    // The stored signature decides what a request must carry (400 naming the feature, or imputed).
    const checked = checkServingInputs(answering.loaded.featurizer, instances, serving.missing);
    const predictions = predictInstances(answering.loaded, checked.instances);
    const requestId = randomUUID();
    const shadow =
      candidate?.mode === 'shadow'
        ? shadowPredictions(candidate.serving, instances, serving.missing)
        : undefined;
    if (candidate?.mode === 'shadow' && !shadow) measured.values.ShadowErrors = { unit: 'Count', value: 1 };
    await logRequest(
      {
        id: requestId,
        model,
        version: answering.version,
        role,
        at: new Date().toISOString(),
        predictions: logged(predictions),
        instances,
        instanceCount: instances.length,
        shadow,
      },
      measured,
    );
    let outOfRange = 0;
    for (const prediction of predictions) if (prediction.outOfRange) outOfRange += 1;
    measured.values.PredictLatency = { unit: 'Milliseconds', value: performance.now() - started };
    if (predictions[0]?.value !== undefined)
      measured.values.PredictionValue = { unit: 'None', value: predictions[0].value };
    measured.values.InputsOutOfRange = { unit: 'Count', value: outOfRange };
    return json(200, {
      model,
      version: answering.version,
      predictions: predictions.map((prediction, index) => ({
        id: predictionId(requestId, index),
        ...prediction,
        ...(checked.imputed[index].length > 0 ? { imputed: checked.imputed[index] } : {}),
      })),
    });
  } catch (error) {
    const response = errorResponse(error);
    // A refused artifact has its own alarm (and fallback, by the spec's serving.fallback), not the 5xx-rate
    // alarm's rollback, which would ignore the flag. Only server faults count toward the 5xx alarm; a
    // client's mistake is a 4xx.
    const counted =
      error instanceof ModelUnavailableError
        ? ARTIFACT_REFUSED_METRIC
        : response.statusCode >= 500
          ? 'Predict5xx'
          : 'Predict4xx';
    measured.values[counted] = { unit: 'Count', value: 1 };
    return response;
  } finally {
    // Alarms watch each role's own metrics (a bad canary must not roll production back); dashboards split
    // by version. Every request counts, failed ones too: the 5xx-rate alarm divides errors by requests.
    measured.values.PredictRequests = { unit: 'Count', value: 1 };
    const { version } = measured;
    emitMetrics(
      version === undefined ? { model, role } : { model, role, version: String(version) },
      version === undefined
        ? [['model', 'role']]
        : [
            ['model', 'role'],
            ['model', 'version'],
          ],
      measured.values,
    );
  }
}

export const handler = withObservability(predict, { metrics: false });
