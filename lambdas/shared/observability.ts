/**
 * Logging and metrics for every handler: Powertools' structured JSON logger and CloudWatch EMF metrics,
 * attached with middy so a handler module only wires (`export const handler = withObservability(fn)`).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';

/** Service name and metric namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE. */
export const logger = new Logger({ serviceName: 'driftline' });
export const metrics = new Metrics({ namespace: 'Driftline', serviceName: 'driftline' });

/**
 * Wraps a handler with the logger's Lambda context and, for handlers that emit metrics, metrics flushing
 * after each invocation (handlers without metrics skip it: Powertools warns on every empty flush).
 */
export function withObservability<TEvent, TResult>(
  handler: (event: TEvent, context: Context) => Promise<TResult>,
  options: { metrics?: boolean } = { metrics: true },
) {
  const wrapped = middy(handler).use(injectLambdaContext(logger, { resetKeys: true }));
  return options.metrics === false
    ? wrapped
    : wrapped.use(logMetrics(metrics, { throwOnEmptyMetrics: false }));
}
