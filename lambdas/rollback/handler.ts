/**
 * Returns a model to its previous good version. Triggered by a CloudWatch alarm going to ALARM (through
 * EventBridge) or by `driftline rollback` (a direct invoke).
 *
 * An alarm's metrics carry the model and the serving role, not the version, so the registry attributes
 * the alarm to the version that served in that role during its breaching periods (from the event's
 * `reasonData`): a late alarm about a version already rolled back is a recorded no-op, never a rollback
 * of the version restored after it. Each alarm state change (alarm name + state time) is acted on at most
 * once, so a duplicate delivery or a Lambda retry changes nothing. An alarm on a canary's or shadow's
 * own metrics (`role` dimension) stops that candidate; production never moves.
 */
import type { EventBridgeEvent } from 'aws-lambda';
import { z } from 'zod';
import { alarmEventKey, breachingPeriods, type ServingRole } from '#core/lifecycle.ts';
import { parseSpec, SpecError } from '#core/spec.ts';
import { notify } from '../shared/alerts.ts';
import { optionalEnv, requiredEnv } from '../shared/config.ts';
import { BadRequestError } from '../shared/errors.ts';
import { ARTIFACT_REFUSED_METRIC, logger, metrics, withObservability } from '../shared/observability.ts';
import { Registry } from '../shared/registry.ts';

const registry = new Registry({ registry: requiredEnv('REGISTRY_TABLE') });
const alertsTopic = optionalEnv('ALERTS_TOPIC_ARN');

/** The parts of a CloudWatch alarm state change this function reads. */
const alarmDetailSchema = z.looseObject({
  alarmName: z.string().min(1),
  state: z.looseObject({
    value: z.string(),
    reason: z.string().optional(),
    reasonData: z.string().optional(),
    timestamp: z.string().optional(),
  }),
  configuration: z
    .looseObject({
      metrics: z
        .array(
          z.looseObject({
            metricStat: z
              .looseObject({
                metric: z
                  .looseObject({
                    name: z.string().optional(),
                    dimensions: z.record(z.string(), z.string()).optional(),
                  })
                  .optional(),
              })
              .optional(),
          }),
        )
        .optional(),
    })
    .optional(),
});

type AlarmDetail = z.infer<typeof alarmDetailSchema>;

const manualSchema = z.object({
  action: z.literal('rollback'),
  model: z.string().min(1),
  /** The version that went bad (default: the one in production now). */
  version: z.number().int().positive().optional(),
  reason: z.string().optional(),
  actor: z.string().optional(),
});

export type ManualRollback = z.infer<typeof manualSchema>;

export type RollbackEvent = EventBridgeEvent<'CloudWatch Alarm State Change', AlarmDetail> | ManualRollback;

const ROLES: readonly ServingRole[] = ['production', 'canary', 'shadow'];

/** A dimension of the metrics an alarm watches (`model`, `role`), from the first metric that has it. */
export function dimensionOfAlarm(detail: AlarmDetail, name: string): string | undefined {
  for (const metric of detail.configuration?.metrics ?? []) {
    const value = metric.metricStat?.metric?.dimensions?.[name];
    if (value) return value;
  }
  return undefined;
}

/** The spec's `serving.fallback`; on (its default) for a spec that no longer parses. */
async function fallbackEnabled(model: string): Promise<boolean> {
  try {
    return parseSpec(await registry.getSpec(model)).serving.fallback;
  } catch (error) {
    if (error instanceof SpecError) return true;
    throw error;
  }
}

/** What an alarm event asks for, or why it asks for nothing. */
async function rollbackForAlarm(event: EventBridgeEvent<'CloudWatch Alarm State Change', unknown>) {
  const parsed = alarmDetailSchema.safeParse(event.detail);
  if (!parsed.success)
    throw new BadRequestError(`not a CloudWatch alarm state change: ${parsed.error.message}`);
  const detail = parsed.data;
  if (detail.state.value !== 'ALARM') {
    return {
      model: undefined,
      result: { rolledBack: false, message: `alarm ${detail.alarmName} is ${detail.state.value}` },
    };
  }
  const model = dimensionOfAlarm(detail, 'model');
  if (!model) throw new BadRequestError(`alarm ${detail.alarmName} has no "model" dimension`);
  const role = (dimensionOfAlarm(detail, 'role') ?? 'production') as ServingRole;
  if (!ROLES.includes(role))
    throw new BadRequestError(`alarm ${detail.alarmName} has an unknown role "${role}"`);
  const refused = detail.configuration?.metrics?.some(
    (metric) => metric.metricStat?.metric?.name === ARTIFACT_REFUSED_METRIC,
  );
  if (refused && !(await fallbackEnabled(model))) {
    // The operator chose to keep the version (and its 503s) until someone acts: say so, change nothing.
    return {
      model,
      outcome: {
        changed: false,
        message: `production's artifact was refused and serving.fallback is false: nothing falls back (alarm ${detail.alarmName})`,
      },
    };
  }
  const stateTime = detail.state.timestamp ?? event.time;
  const stateMs = Date.parse(stateTime);
  logger.appendKeys({ model, role, alarm: detail.alarmName });
  const outcome = await registry.rollbackForAlarm(model, {
    role,
    periods: breachingPeriods(detail.state.reasonData, stateMs),
    eventKey: alarmEventKey(detail.alarmName, stateTime),
    reason: `${refused ? 'fallback: its artifact was refused; ' : ''}alarm ${detail.alarmName}: ${detail.state.reason ?? 'in ALARM'}`,
    actor: `alarm ${detail.alarmName}`,
  });
  return { model, outcome };
}

export async function rollback(event: RollbackEvent) {
  let model: string | undefined;
  let outcome: Awaited<ReturnType<Registry['rollbackForAlarm']>>;
  let reason: string;
  if ('action' in event) {
    const parsed = manualSchema.safeParse(event);
    if (!parsed.success)
      throw new BadRequestError(`a manual rollback needs "model": ${parsed.error.message}`);
    const { version, actor } = parsed.data;
    model = parsed.data.model;
    reason = parsed.data.reason ?? 'manual rollback';
    logger.appendKeys({ model });
    const result = await registry.rollback(model, {
      badVersion: version,
      reason,
      actor: actor ?? 'driftline rollback',
    });
    outcome = { changed: result.rolledBack, from: result.from, to: result.to, message: result.message };
  } else {
    const alarm = await rollbackForAlarm(event);
    if (!alarm.model) return alarm.result;
    model = alarm.model;
    outcome = alarm.outcome;
    reason = outcome.message;
  }
  const result = {
    rolledBack: outcome.changed,
    from: outcome.from,
    to: outcome.to,
    message: `${model}: ${outcome.message}`,
  };
  if (outcome.duplicate) {
    logger.info('alarm state change already handled', { message: outcome.message });
    return result;
  }
  metrics.addDimension('model', model);
  metrics.addMetric(outcome.changed ? 'Rollbacks' : 'RollbacksSkipped', 'Count', 1);
  logger.warn(result.message, { reason });
  await notify(alertsTopic, `driftline: ${result.message}`, { model, reason, ...result });
  return result;
}

export const handler = withObservability(rollback);
