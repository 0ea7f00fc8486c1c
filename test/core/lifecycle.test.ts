import { describe, expect, it } from 'vitest';
import {
  attributeAlarm,
  breachingPeriods,
  EMPTY_STATE,
  followers,
  type Plan,
  type PointerState,
  plan,
  type Transition,
} from '../../lambdas/core/lifecycle.ts';

const T0 = '2026-01-01T00:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString();

/** Applies transitions in order as the registry would (followers assumed written). */
function run(transitions: [Transition, number][]): { state: PointerState; plans: Plan[] } {
  let state = EMPTY_STATE;
  const plans: Plan[] = [];
  for (const [transition, minute] of transitions) {
    const decision = plan(state, transition, at(minute));
    plans.push(decision);
    if (decision.status === 'apply') state = { ...decision.next, pending: undefined };
  }
  return { state, plans };
}

const promote = (version: number, expected: number | undefined): Transition => ({
  kind: 'promote',
  version,
  expected,
  reason: `promote ${version}`,
  actor: 'test',
});

describe('lifecycle plan', () => {
  it('promotes with one pointer write whose change lists the stage updates and one audit record', () => {
    // Act
    const { state, plans } = run([
      [promote(1, undefined), 0],
      [promote(2, 1), 1],
    ]);
    // Assess
    const last = plans[1];
    expect(last.status).toBe('apply');
    if (last.status !== 'apply') return;
    expect(state).toMatchObject({ revision: 2, production: { version: 2, history: [1] } });
    expect(followers(last.change)).toEqual([
      {
        kind: 'stage',
        revision: 2,
        update: { version: 2, stage: 'production', reason: 'promote 2', promotedAt: at(1) },
      },
      {
        kind: 'stage',
        revision: 2,
        update: { version: 1, stage: 'archived', reason: 'replaced by version 2: promote 2' },
      },
      {
        kind: 'audit',
        key: `AUDIT#${at(1)}#r0000000002`,
        record: expect.objectContaining({ action: 'promote', fromVersion: 1, toVersion: 2 }),
      },
    ]);
  });

  it('refuses a promotion whose expected production is stale, and treats a repeated one as done', () => {
    // Prepare
    const { state } = run([[promote(1, undefined), 0]]);
    // Act & Assess
    expect(plan(state, promote(2, undefined), at(1)).status).toBe('conflict');
    expect(plan(state, promote(1, undefined), at(1)).status).toBe('done');
  });

  it('records a rollback of a version that no longer serves as a no-op that moves nothing', () => {
    // Prepare
    const { state } = run([
      [promote(1, undefined), 0],
      [promote(2, 1), 1],
      [{ kind: 'rollback', version: 2, reason: 'alarm', actor: 'a' }, 2],
    ]);
    // Act
    const again = plan(state, { kind: 'rollback', version: 2, reason: 'alarm', actor: 'a' }, at(3));
    // Assess
    expect(again.status).toBe('apply');
    if (again.status !== 'apply') return;
    expect(again.next.production).toEqual(state.production);
    expect(again.change.stages).toEqual([]);
    expect(again.change.audit.action).toBe('rollback_skipped');
  });

  it('acts on an alarm state change once: the same event key is done the second time', () => {
    // Prepare
    const { state } = run([
      [promote(1, undefined), 0],
      [promote(2, 1), 1],
    ]);
    const alarm: Transition = {
      kind: 'alarm',
      role: 'production',
      periods: [{ start: Date.parse(at(2)), end: Date.parse(at(3)) }],
      reason: 'p99',
      actor: 'alarm',
      eventKey: 'p99@t',
    };
    // Act
    const first = plan(state, alarm, at(3));
    const second = first.status === 'apply' ? plan(first.next, alarm, at(3)) : first;
    // Assess
    expect(first).toMatchObject({ status: 'apply', outcome: { changed: true, from: 2, to: 1 } });
    expect(second.status).toBe('done');
  });

  it('attributes a late alarm to the version it measured, so the restored version is not rolled back', () => {
    // Prepare: 2 served minutes 1-5 and was rolled back at 5; a second alarm fires at 5.5 about minutes 3-5
    const { state } = run([
      [promote(1, undefined), 0],
      [promote(2, 1), 1],
      [{ kind: 'rollback', version: 2, reason: '5xx', actor: 'a' }, 5],
    ]);
    const periods = [3, 4].map((m) => ({ start: Date.parse(at(m)), end: Date.parse(at(m + 1)) }));
    // Act
    const decision = plan(
      state,
      { kind: 'alarm', role: 'production', periods, reason: 'p99', actor: 'a', eventKey: 'p99@5.5' },
      at(5.5),
    );
    // Assess
    expect(decision).toMatchObject({ status: 'apply', outcome: { changed: false, from: 2 } });
    if (decision.status === 'apply') expect(decision.next.production?.version).toBe(1);
  });

  it('starts a candidate only against the champion it was judged with, superseding one still baking', () => {
    // Prepare
    const start = (version: number, champion: number): Transition => ({
      kind: 'candidate_start',
      version,
      champion,
      mode: 'canary',
      weight: 0.2,
      bakeUntil: at(30),
      reason: `canary ${version}`,
      actor: 'run',
    });
    const { state } = run([
      [promote(1, undefined), 0],
      [start(2, 1), 1],
    ]);
    // Act
    const stale = plan(state, start(3, 2), at(2));
    const newer = plan(state, start(3, 1), at(2));
    // Assess
    expect(stale.status).toBe('conflict');
    expect(newer.status).toBe('apply');
    if (newer.status !== 'apply') return;
    expect(newer.next.canary).toMatchObject({ version: 3, champion: 1, weight: 0.2 });
    expect(newer.change.stages.map((s) => [s.version, s.stage])).toEqual([
      [3, 'staging'],
      [2, 'superseded'],
    ]);
  });

  it('completes a bake into production and removes the candidate in the same write', () => {
    // Prepare
    const { state } = run([
      [promote(1, undefined), 0],
      [
        {
          kind: 'candidate_start',
          version: 2,
          champion: 1,
          mode: 'shadow',
          weight: 0.5,
          bakeUntil: at(10),
          reason: 'shadow',
          actor: 'run',
        },
        1,
      ],
    ]);
    // Act
    const done = plan(
      state,
      { kind: 'candidate_complete', version: 2, reason: 'baked', actor: 'bake' },
      at(10),
    );
    // Assess
    expect(done.status).toBe('apply');
    if (done.status !== 'apply') return;
    expect(done.next.production).toMatchObject({ version: 2, history: [1] });
    expect(done.next.canary).toBeUndefined();
    expect(done.next.served.map((s) => [s.role, s.version, s.to])).toEqual([
      ['production', 1, at(10)],
      ['shadow', 2, at(10)],
      ['production', 2, undefined],
    ]);
  });
});

describe('attributeAlarm', () => {
  const served = [
    { role: 'production' as const, version: 1, from: at(0), to: at(10) },
    { role: 'production' as const, version: 2, from: at(10) },
    { role: 'canary' as const, version: 3, from: at(5) },
  ];
  const period = (from: number, to: number) => ({ start: Date.parse(at(from)), end: Date.parse(at(to)) });

  it('names the version that served most of the breaching periods in the role', () => {
    expect(
      attributeAlarm(served, 'production', [period(8, 9), period(9, 10), period(10, 11)], Date.parse(at(12))),
    ).toBe(1);
    expect(
      attributeAlarm(served, 'production', [period(9.5, 10.5), period(10.5, 11.5)], Date.parse(at(12))),
    ).toBe(2);
    expect(attributeAlarm(served, 'canary', [period(9, 10)], Date.parse(at(12)))).toBe(3);
  });

  it('names a version first promoted during the first breaching period, however little of it it served', () => {
    // Prepare: version 5 promoted 0.8 into a breaching period (a corrupt artifact refused at once)
    const promotedLate = [
      { role: 'production' as const, version: 4, from: at(0), to: at(10.8) },
      { role: 'production' as const, version: 5, from: at(10.8) },
    ];
    // Act, Assess: the breach began with version 5 (the share alone named 4, no longer serving)
    expect(attributeAlarm(promotedLate, 'production', [period(10, 11)], Date.parse(at(11)))).toBe(5);
    // ... also once it was rolled back (a late second alarm on the same breach is a no-op for it)
    const rolledBack = [
      { ...promotedLate[0], to: at(10.8) },
      { ...promotedLate[1], to: at(11.5) },
      { role: 'production' as const, version: 4, from: at(11.5) },
    ];
    expect(
      attributeAlarm(rolledBack, 'production', [period(10, 11), period(11, 12)], Date.parse(at(12))),
    ).toBe(5);
  });

  it('does not treat a version restored by a rollback as new: the share decides', () => {
    // Prepare: 2 served, 3 replaced it, 3 was rolled back to 2 at 10.8
    const restored = [
      { role: 'production' as const, version: 2, from: at(0), to: at(5) },
      { role: 'production' as const, version: 3, from: at(5), to: at(10.8) },
      { role: 'production' as const, version: 2, from: at(10.8) },
    ];
    // Act, Assess: a late alarm on 3's breach names 3, not the restored 2
    expect(attributeAlarm(restored, 'production', [period(10, 11)], Date.parse(at(12)))).toBe(3);
  });

  it('names no version when none served in the role then', () => {
    expect(attributeAlarm(served, 'shadow', [period(9, 10)], Date.parse(at(12)))).toBeUndefined();
    expect(attributeAlarm(served, 'canary', [period(1, 2)], Date.parse(at(12)))).toBeUndefined();
  });
});

describe('breachingPeriods', () => {
  // reasonData as the local runtime and CloudWatch write it: newest datapoint first, "+0000" times.
  const time = (ms: number) => new Date(ms).toISOString().replace('Z', '+0000');
  const base = Date.parse(T0);

  it('keeps the datapoints above the threshold, each as long as the spacing of the datapoints', () => {
    // Prepare: 0.9-s periods (a shortened 60-s period), the middle one below the threshold
    const reasonData = JSON.stringify({
      period: 60,
      threshold: 2,
      evaluatedDatapoints: [
        { timestamp: time(base + 1800), value: 3 },
        { timestamp: time(base + 900), value: 1 },
        { timestamp: time(base), value: 5 },
      ],
    });
    // Act & Assess
    expect(breachingPeriods(reasonData, base + 2000)).toEqual([
      { start: base, end: base + 900 },
      { start: base + 1800, end: base + 2000 },
    ]);
  });

  it('falls back to the period in seconds for a single datapoint, and to nothing without reasonData', () => {
    const single = JSON.stringify({
      period: 60,
      threshold: 2,
      evaluatedDatapoints: [{ timestamp: time(base), value: 3 }],
    });
    expect(breachingPeriods(single, base + 120_000)).toEqual([{ start: base, end: base + 60_000 }]);
    expect(breachingPeriods(undefined, base)).toEqual([]);
    expect(breachingPeriods('not json', base)).toEqual([]);
  });
});
