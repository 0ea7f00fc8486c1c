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

/** The metric namespace and the `service` dimension every driftline metric carries (the alarms match it). */
export const METRICS_NAMESPACE = 'Driftline';
export const METRICS_SERVICE = 'driftline';

/**
 * Counted by `predict` for each request production's refused artifact answered 503; its alarm (the
 * `artifact-refused` rollback alarm) makes the rollback function fall back to the previous good version.
 */
export const ARTIFACT_REFUSED_METRIC = 'ArtifactRefused';

export const logger = new Logger({ serviceName: METRICS_SERVICE });
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE });

/** Powertools' switch for metrics, honoured by {@link emitMetrics} too (tests silence EMF with it). */
const metricsDisabled = ['1', 'true'].includes((process.env.POWERTOOLS_METRICS_DISABLED ?? '').toLowerCase());

/** One metric of an {@link emitMetrics} document. */
export interface MetricValue {
  unit: 'Count' | 'Milliseconds' | 'None';
  value: number;
}

/**
 * Writes one CloudWatch EMF document with several dimension sets over shared dimension values (e.g.
 * `[model, role]` for the alarms and `[model, version]` for the dashboards), each set also carrying
 * `service`. Powertools warns on every such document ("EMF key … defined as both a dimension set and
 * dimension set"), although it is valid EMF; handlers on a hot path emit through this instead, one line per
 * invocation. Non-finite values are left out (EMF rejects them). Honours POWERTOOLS_METRICS_DISABLED.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
export function emitMetrics(
  dimensions: Record<string, string>,
  dimensionSets: readonly (readonly string[])[],
  values: Record<string, MetricValue>,
): void {
  if (metricsDisabled) return;
  const definitions: { Name: string; Unit: string }[] = [];
  const document: Record<string, unknown> = { service: METRICS_SERVICE, ...dimensions };
  for (const [name, { unit, value }] of Object.entries(values)) {
    if (!Number.isFinite(value)) continue;
    definitions.push({ Name: name, Unit: unit });
    document[name] = value;
  }
  if (definitions.length === 0) return;
  document._aws = {
    Timestamp: Date.now(),
    CloudWatchMetrics: [
      {
        Namespace: METRICS_NAMESPACE,
        Dimensions: dimensionSets.map((set) => ['service', ...set]),
        Metrics: definitions,
      },
    ],
  };
  // Straight to stdout, as Powertools does: Lambda's console.log would prefix the line and hide the JSON.
  process.stdout.write(`${JSON.stringify(document)}\n`);
}

/**
 * Wraps a handler with the logger's Lambda context and, for handlers that emit metrics, metrics flushing
 * after each invocation (handlers without metrics skip it: Powertools warns on every empty flush).
 */
export function withObservability<TEvent, TResult, TContext extends Context = Context>(
  handler: (event: TEvent, context: TContext) => Promise<TResult>,
  options: { metrics?: boolean } = { metrics: true },
) {
  const wrapped = middy<TEvent, TResult, Error, TContext>(handler).use(
    injectLambdaContext(logger, { resetKeys: true }),
  );
  return options.metrics === false
    ? wrapped
    : wrapped.use(logMetrics(metrics, { throwOnEmptyMetrics: false }));
}
