/**
 * Returns a model to its previous good version. Triggered by a CloudWatch alarm going to ALARM (through
 * EventBridge) or by `driftline rollback` (a direct invoke) — both take the same path: a conditional
 * write on the production pointer, the bad version marked `rolled_back` with the reason, an audit record,
 * and a notification. With no earlier version, production stays and the skip is logged and audited.
 * An alarm on a canary's or shadow's own metrics (`role` dimension) stops that candidate instead.
 */
import type { EventBridgeEvent } from 'aws-lambda';
import { notify } from '../shared/alerts.ts';
import { optionalEnv, requiredEnv } from '../shared/config.ts';
import { BadRequestError, ConflictError } from '../shared/errors.ts';
import { logger, metrics, withObservability } from '../shared/observability.ts';
import { Registry } from '../shared/registry.ts';

const registry = new Registry(requiredEnv('REGISTRY_TABLE'));
const alertsTopic = optionalEnv('ALERTS_TOPIC_ARN');

interface AlarmDetail {
  alarmName: string;
  state: { value: string; reason?: string; timestamp?: string };
  configuration?: {
    description?: string;
    metrics?: { metricStat?: { metric?: { dimensions?: Record<string, string> } } }[];
  };
}

export interface ManualRollback {
  action: 'rollback';
  model: string;
  reason?: string;
  actor?: string;
}

export type RollbackEvent = EventBridgeEvent<'CloudWatch Alarm State Change', AlarmDetail> | ManualRollback;

/** A dimension of the metrics an alarm watches (`model`, `role`), from the first metric that has it. */
export function dimensionOfAlarm(detail: AlarmDetail, name: string): string | undefined {
  for (const metric of detail.configuration?.metrics ?? []) {
    const value = metric.metricStat?.metric?.dimensions?.[name];
    if (value) return value;
  }
  return undefined;
}

/** A canary or shadow that alarmed: its pointer goes, production never moves. */
async function rollbackCandidate(model: string, role: string, reason: string, actor: string) {
  const candidate = await registry.getPointer(model, 'canary');
  if (!candidate) return { rolledBack: false, message: `model "${model}" has no ${role} baking any more` };
  await registry.rollbackCandidate(model, candidate.version, { reason, actor });
  return {
    rolledBack: true,
    from: candidate.version,
    message: `stopped the ${role} of "${model}" (version ${candidate.version}); production is unchanged`,
  };
}

export async function rollback(event: RollbackEvent) {
  let model: string | undefined;
  let reason: string;
  let actor: string;
  let role = 'production';
  if ('action' in event) {
    if (!event.model) throw new BadRequestError('a manual rollback needs "model"');
    model = event.model;
    reason = event.reason ?? 'manual rollback';
    actor = event.actor ?? 'driftline rollback';
  } else {
    const { detail } = event;
    if (detail.state.value !== 'ALARM')
      return { rolledBack: false, message: `alarm ${detail.alarmName} is ${detail.state.value}` };
    model = dimensionOfAlarm(detail, 'model');
    if (!model) throw new BadRequestError(`alarm ${detail.alarmName} has no "model" dimension`);
    role = dimensionOfAlarm(detail, 'role') ?? 'production';
    reason = `alarm ${detail.alarmName}: ${detail.state.reason ?? 'in ALARM'}`;
    actor = `alarm ${detail.alarmName}`;
  }
  logger.appendKeys({ model, role });
  try {
    const result =
      role === 'production'
        ? await registry.rollback(model, { reason, actor })
        : await rollbackCandidate(model, role, reason, actor);
    metrics.addDimension('model', model);
    metrics.addMetric(result.rolledBack ? 'Rollbacks' : 'RollbacksSkipped', 'Count', 1);
    logger.warn(result.message, { reason });
    await notify(alertsTopic, `driftline: ${result.message}`, { model, reason, ...result });
    return result;
  } catch (error) {
    // Two alarms for the same bad version: the first rolled it back, the second finds production moved.
    if (error instanceof ConflictError) {
      logger.info('already rolled back', { reason: error.message });
      return { rolledBack: false, message: error.message };
    }
    throw error;
  }
}

export const handler = withObservability(rollback);
