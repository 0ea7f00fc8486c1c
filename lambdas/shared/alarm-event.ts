/**
 * The contract of what the `rollback` function is sent: a CloudWatch alarm state change (through
 * EventBridge) or a manual rollback (`driftline rollback`, a direct invoke), and what an alarm change asks
 * of the registry.
 *
 * An alarm's metrics carry the model and the serving role, not the version, so the registry attributes
 * the alarm to the version that served in that role during its breaching periods (from the event's
 * `reasonData`); the alarm name and state time key the change, so it is acted on at most once.
 */
import type { EventBridgeEvent } from 'aws-lambda';
import * as z from 'zod';
import { alarmEventKey, breachingPeriods, type ServingRole } from '#core/lifecycle.ts';
import { PARSE_ONCE } from '#core/parse-once.ts';
import { BadRequestError } from './errors.ts';
import { ARTIFACT_REFUSED_METRIC } from './observability.ts';

/** The parts of a CloudWatch alarm state change the rollback reads. */
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

export type AlarmDetail = z.infer<typeof alarmDetailSchema>;

const manualSchema = z.object({
  action: z.literal('rollback'),
  model: z.string().min(1),
  /** The version that went bad (default: the one in production now). */
  version: z.number().int().positive().optional(),
  reason: z.string().optional(),
  actor: z.string().optional(),
});

export type ManualRollback = z.infer<typeof manualSchema>;

export type AlarmStateChange = EventBridgeEvent<'CloudWatch Alarm State Change', AlarmDetail>;

export type RollbackEvent = AlarmStateChange | ManualRollback;

const ROLES: readonly ServingRole[] = ['production', 'canary', 'shadow'];

/** A dimension of the metrics an alarm watches (`model`, `role`), from the first metric that has it. */
export function dimensionOfAlarm(detail: AlarmDetail, name: string): string | undefined {
  for (const metric of detail.configuration?.metrics ?? []) {
    const value = metric.metricStat?.metric?.dimensions?.[name];
    if (value) return value;
  }
  return undefined;
}

/** A manual rollback's request. @throws BadRequestError when it names no model. */
export function parseManualRollback(event: unknown): ManualRollback {
  const parsed = manualSchema.safeParse(event, PARSE_ONCE);
  if (!parsed.success) throw new BadRequestError(`a manual rollback needs "model": ${parsed.error.message}`);
  return parsed.data;
}

/** What an alarm that went to ALARM asks the registry for. */
export interface AlarmRollback {
  kind: 'rollback';
  model: string;
  role: ServingRole;
  alarm: string;
  /** The alarm watches production's refused artifacts: the rollback is a fallback. */
  refused: boolean;
  periods: ReturnType<typeof breachingPeriods>;
  /** The alarm state change's key: the same change is acted on once. */
  eventKey: string;
  reason: string;
  actor: string;
}

/** An alarm change that asks for nothing (it left ALARM). */
export interface AlarmIgnored {
  kind: 'ignored';
  message: string;
}

/**
 * What an alarm state change asks for.
 * @throws BadRequestError for an event that is not an alarm state change, or an alarm with no `model`
 * dimension or an unknown `role`.
 */
export function readAlarmChange(
  event: EventBridgeEvent<'CloudWatch Alarm State Change', unknown>,
): AlarmRollback | AlarmIgnored {
  const parsed = alarmDetailSchema.safeParse(event.detail, PARSE_ONCE);
  if (!parsed.success)
    throw new BadRequestError(`not a CloudWatch alarm state change: ${parsed.error.message}`);
  const detail = parsed.data;
  const alarm = detail.alarmName;
  if (detail.state.value !== 'ALARM')
    return { kind: 'ignored', message: `alarm ${alarm} is ${detail.state.value}` };
  const model = dimensionOfAlarm(detail, 'model');
  if (!model) throw new BadRequestError(`alarm ${alarm} has no "model" dimension`);
  const role = (dimensionOfAlarm(detail, 'role') ?? 'production') as ServingRole;
  if (!ROLES.includes(role)) throw new BadRequestError(`alarm ${alarm} has an unknown role "${role}"`);
  const refused =
    detail.configuration?.metrics?.some(
      (metric) => metric.metricStat?.metric?.name === ARTIFACT_REFUSED_METRIC,
    ) ?? false;
  const stateTime = detail.state.timestamp ?? event.time;
  return {
    kind: 'rollback',
    model,
    role,
    alarm,
    refused,
    periods: breachingPeriods(detail.state.reasonData, Date.parse(stateTime)),
    eventKey: alarmEventKey(alarm, stateTime),
    reason: `${refused ? 'fallback: its artifact was refused; ' : ''}alarm ${alarm}: ${detail.state.reason ?? 'in ALARM'}`,
    actor: `alarm ${alarm}`,
  };
}
