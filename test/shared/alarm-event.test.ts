import { describe, expect, it } from 'vitest';
import { parseManualRollback, readAlarmChange } from '../../lambdas/shared/alarm-event.ts';
import { BadRequestError } from '../../lambdas/shared/errors.ts';

/** An alarm state change as EventBridge delivers it, with the metric dimensions our alarms carry. */
function alarmChange(
  state: string,
  dimensions: Record<string, string>,
  options: { metric?: string; reasonData?: string } = {},
) {
  return {
    version: '0',
    id: 'event-1',
    'detail-type': 'CloudWatch Alarm State Change' as const,
    source: 'aws.cloudwatch',
    account: '000000000000',
    time: '2026-12-04T10:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: {
      alarmName: 'driftline-air-passengers-5xx',
      state: {
        value: state,
        reason: 'Threshold Crossed',
        reasonData: options.reasonData,
        timestamp: '2026-12-04T10:00:05.000+0000',
      },
      configuration: {
        metrics: [{ metricStat: { metric: { name: options.metric ?? 'Errors5xx', dimensions } } }],
      },
    },
  };
}

describe('readAlarmChange', () => {
  it('asks for nothing when the alarm leaves ALARM', () => {
    expect(readAlarmChange(alarmChange('OK', { model: 'm' }))).toEqual({
      kind: 'ignored',
      message: 'alarm driftline-air-passengers-5xx is OK',
    });
  });

  it("reads the model, the role (production by default), the breaching periods and the change's key", () => {
    const reasonData = JSON.stringify({
      threshold: 1,
      period: 60,
      evaluatedDatapoints: [
        { timestamp: '2026-12-04T09:59:00.000+0000', value: 5 },
        { timestamp: '2026-12-04T09:58:00.000+0000', value: 0 },
      ],
    });
    const change = readAlarmChange(alarmChange('ALARM', { model: 'air-passengers' }, { reasonData }));
    expect(change).toMatchObject({
      kind: 'rollback',
      model: 'air-passengers',
      role: 'production',
      refused: false,
      actor: 'alarm driftline-air-passengers-5xx',
      reason: 'alarm driftline-air-passengers-5xx: Threshold Crossed',
      periods: [{ start: Date.parse('2026-12-04T09:59:00Z'), end: Date.parse('2026-12-04T10:00:00Z') }],
    });
    // The same state change delivered twice has the same key: the registry acts on it once.
    const again = readAlarmChange(alarmChange('ALARM', { model: 'air-passengers' }, { reasonData }));
    expect(
      change.kind === 'rollback' && again.kind === 'rollback' && again.eventKey === change.eventKey,
    ).toBe(true);
  });

  it('marks an alarm on refused artifacts as a fallback', () => {
    const change = readAlarmChange(
      alarmChange('ALARM', { model: 'm', role: 'canary' }, { metric: 'ArtifactRefused' }),
    );
    expect(change).toMatchObject({ kind: 'rollback', role: 'canary', refused: true });
    expect(
      change.kind === 'rollback' && change.reason.startsWith('fallback: its artifact was refused; '),
    ).toBe(true);
  });

  it('refuses an alarm without a model dimension, with an unknown role, or an event that is not an alarm', () => {
    expect(() => readAlarmChange(alarmChange('ALARM', {}))).toThrow(BadRequestError);
    expect(() => readAlarmChange(alarmChange('ALARM', { model: 'm', role: 'staging' }))).toThrow(
      /unknown role "staging"/,
    );
    expect(() => readAlarmChange({ ...alarmChange('ALARM', { model: 'm' }), detail: { state: 1 } })).toThrow(
      /not a CloudWatch alarm state change/,
    );
  });
});

describe('parseManualRollback', () => {
  it('needs a model; version, reason and actor are optional', () => {
    expect(parseManualRollback({ action: 'rollback', model: 'm', version: 3 })).toEqual({
      action: 'rollback',
      model: 'm',
      version: 3,
    });
    expect(() => parseManualRollback({ action: 'rollback' })).toThrow(BadRequestError);
    expect(() => parseManualRollback({ action: 'rollback', model: 'm', version: 0 })).toThrow(
      BadRequestError,
    );
  });
});
