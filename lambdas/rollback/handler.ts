/**
 * Returns a model to its previous good version. Triggered by a CloudWatch alarm going to ALARM (through
 * EventBridge) or by `driftline rollback` (a direct invoke); `shared/alarm-event.ts` reads either.
 *
 * A late alarm about a version already rolled back is a recorded no-op, never a rollback of the version
 * restored after it; a duplicate delivery or a Lambda retry of the same alarm state change changes nothing.
 * An alarm on a canary's or shadow's own metrics (`role` dimension) stops that candidate; production never
 * moves.
 */
import { parseSpec, SpecError } from '#core/spec.ts';
import {
  type AlarmRollback,
  parseManualRollback,
  type RollbackEvent,
  readAlarmChange,
} from '../shared/alarm-event.ts';
import { notify } from '../shared/alerts.ts';
import { optionalEnv, requiredEnv } from '../shared/config.ts';
import { logger, metrics, withObservability } from '../shared/observability.ts';
import { Registry } from '../shared/registry.ts';

export type { ManualRollback, RollbackEvent } from '../shared/alarm-event.ts';

const registry = new Registry({ registry: requiredEnv('REGISTRY_TABLE') });
const alertsTopic = optionalEnv('ALERTS_TOPIC_ARN');

type Outcome = Awaited<ReturnType<Registry['rollbackForAlarm']>>;

/** The spec's `serving.fallback`; on (its default) for a spec that no longer parses. */
async function fallbackEnabled(model: string): Promise<boolean> {
  try {
    return parseSpec(await registry.getSpec(model)).serving.fallback;
  } catch (error) {
    if (error instanceof SpecError) return true;
    throw error;
  }
}

/** Acts on an alarm that went to ALARM. */
async function rollbackForAlarm(change: AlarmRollback): Promise<Outcome> {
  const { model, role, alarm, refused } = change;
  logger.appendKeys({ model, role, alarm });
  if (refused && !(await fallbackEnabled(model))) {
    // The operator chose to keep the version (and its 503s) until someone acts: say so, change nothing.
    return {
      changed: false,
      message: `production's artifact was refused and serving.fallback is false: nothing falls back (alarm ${alarm})`,
    };
  }
  const { periods, eventKey, reason, actor } = change;
  return registry.rollbackForAlarm(model, { role, periods, eventKey, reason, actor });
}

/** Acts on a manual rollback. */
async function rollbackByHand(event: unknown): Promise<{ model: string; outcome: Outcome; reason: string }> {
  const { model, version, actor, ...request } = parseManualRollback(event);
  const reason = request.reason ?? 'manual rollback';
  logger.appendKeys({ model });
  const result = await registry.rollback(model, {
    badVersion: version,
    reason,
    actor: actor ?? 'driftline rollback',
  });
  return {
    model,
    reason,
    outcome: { changed: result.rolledBack, from: result.from, to: result.to, message: result.message },
  };
}

export async function rollback(event: RollbackEvent) {
  let model: string;
  let outcome: Outcome;
  let reason: string;
  if ('action' in event) {
    ({ model, outcome, reason } = await rollbackByHand(event));
  } else {
    const change = readAlarmChange(event);
    if (change.kind === 'ignored') return { rolledBack: false, message: change.message };
    model = change.model;
    outcome = await rollbackForAlarm(change);
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
