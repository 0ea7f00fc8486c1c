/**
 * The registry's lifecycle rules: which changes of what serves are allowed, and exactly which writes each
 * one makes. Pure: the registry (`lambdas/shared/registry.ts`) reads the pointer item, asks {@link plan}
 * what to do, and executes the writes this module lists.
 *
 * Why this shape: DynamoDB emulators (dynalite) have no transactions, and a Lambda can die between any two
 * writes. So every change is ONE conditional put of the model's pointer item, which carries
 *
 * - the pointers (`production`, and the baking `canary`/shadow candidate) and a `revision` counter;
 * - a write-ahead record of the change (`pending`): its audit record and the stage updates it implies;
 * - the intervals each version served in each role (`served`), to tell which version an alarm is about;
 * - the keys of the last alarm state changes it handled (`handled`), so each is acted on at most once.
 *
 * The put is conditional on the revision read, so of two racing writers one wins and the other re-reads.
 * The followers (stage updates, the audit item) are idempotent writes with deterministic keys, guarded by
 * the revision so a late writer never undoes a newer change. Anyone who later finds a `pending` change on
 * the pointer item applies its followers again ("rolls it forward") before doing anything else. Hence a
 * crash between any two writes leaves one production pointer naming an existing version, stages that agree
 * with the pointers once rolled forward, and exactly one audit record per change that took effect.
 */

/** Where a version stands. `superseded`: a candidate that lost a race or was replaced before it served. */
export type Stage =
  | 'none'
  | 'staging'
  | 'production'
  | 'archived'
  | 'rejected'
  | 'rolled_back'
  | 'superseded';

/** Who answers with a version: production, a canary taking a share, or a shadow that never answers. */
export type ServingRole = 'production' | 'canary' | 'shadow';

export interface Pointer {
  version: number;
  since: string;
  reason: string;
  /** Versions that served before, oldest first: a rollback returns to the last one. */
  history: number[];
  /** Candidate pointer only: how it serves (`canary`: a share of answers; `shadow`: predicts, never answers). */
  mode?: 'canary' | 'shadow';
  /** Candidate pointer only: share of traffic a canary answers, and when its bake ends. */
  weight?: number;
  bakeUntil?: string;
  /** Candidate pointer only: the production version it was judged against (and must still replace). */
  champion?: number;
}

export type AuditAction =
  | 'promote'
  | 'rollback'
  | 'candidate_start'
  | 'candidate_rollback'
  | 'rollback_skipped'
  | 'supersede';

export interface AuditRecord {
  at: string;
  action: AuditAction;
  fromVersion?: number;
  toVersion?: number;
  reason: string;
  actor: string;
  /** The alarm state change that caused it (`<alarm name>@<state time>`), when an alarm did. */
  eventKey?: string;
}

/** One interval a version served in a role; `to` is absent while it still serves. */
export interface ServedInterval {
  role: ServingRole;
  version: number;
  from: string;
  to?: string;
}

/** A stage a change gives a version (`promotedAt` only for versions entering production). */
export interface StageUpdate {
  version: number;
  stage: Stage;
  reason: string;
  promotedAt?: string;
}

/** A change that took effect, written ahead on the pointer item until its followers are applied. */
export interface Change {
  revision: number;
  audit: AuditRecord;
  stages: StageUpdate[];
}

/** The pointer item of one model. */
export interface PointerState {
  /** 0 before the first change. */
  revision: number;
  production?: Pointer;
  canary?: Pointer;
  served: ServedInterval[];
  handled: string[];
  pending?: Change;
}

/** A write that follows a change, as the registry must execute it. */
export type FollowerWrite =
  | { kind: 'stage'; update: StageUpdate; revision: number }
  | { kind: 'audit'; key: string; record: AuditRecord };

export type Transition =
  | { kind: 'promote'; version: number; expected: number | undefined; reason: string; actor: string }
  | { kind: 'rollback'; version?: number; reason: string; actor: string; eventKey?: string }
  | {
      kind: 'candidate_start';
      version: number;
      /** The production version the candidate was judged against (undefined: none). */
      champion: number | undefined;
      mode: 'canary' | 'shadow';
      weight: number;
      bakeUntil: string;
      reason: string;
      actor: string;
    }
  | { kind: 'candidate_stop'; version: number; reason: string; actor: string; eventKey?: string }
  | { kind: 'candidate_complete'; version: number; reason: string; actor: string }
  | { kind: 'supersede'; version: number; reason: string; actor: string }
  | {
      /** An alarm on `role` entered ALARM: roll back (or stop) the version its breaching periods measured. */
      kind: 'alarm';
      role: ServingRole;
      /** The breaching periods as [start, end) epoch milliseconds. */
      periods: { start: number; end: number }[];
      reason: string;
      actor: string;
      eventKey: string;
    };

/** What a transition did, for callers and their logs. */
export interface Outcome {
  /** Whether what serves changed. */
  changed: boolean;
  from?: number;
  to?: number;
  /** The candidate ended `superseded` instead of doing what was asked. */
  superseded?: boolean;
  /** The alarm state change was already handled: nothing was done or recorded this time. */
  duplicate?: boolean;
  message: string;
}

/**
 * The decision for one transition:
 * - `apply`: put `next` (conditional on `state.revision`), then execute `followers(next.pending)`;
 * - `done`: already in effect (a retry, or a duplicate alarm event): nothing to write;
 * - `conflict`: refused, nothing written (the caller's view is stale).
 */
export type Plan =
  | { status: 'apply'; next: PointerState; change: Change; outcome: Outcome }
  | { status: 'done'; outcome: Outcome }
  | { status: 'conflict'; message: string };

/** Intervals kept per model on the pointer item (enough to cover any alarm's evaluation window). */
export const SERVED_LIMIT = 40;
/** Alarm state changes remembered per model (duplicates arrive within minutes). */
export const HANDLED_LIMIT = 100;
/** Earlier production versions kept for rollback. */
export const HISTORY_LIMIT = 20;

/** The state of a model with no pointer item yet. */
export const EMPTY_STATE: PointerState = { revision: 0, served: [], handled: [] };

/** The sort key of a change's audit item: time first (the trail lists in order), revision for uniqueness. */
export function auditSortKey(change: Change): string {
  return `AUDIT#${change.audit.at}#r${String(change.revision).padStart(10, '0')}`;
}

/** The writes that complete a change once its pointer item is written; each is safe to repeat. */
export function followers(change: Change): FollowerWrite[] {
  return [
    ...change.stages.map((update) => ({ kind: 'stage' as const, update, revision: change.revision })),
    { kind: 'audit', key: auditSortKey(change), record: change.audit },
  ];
}

/** The key under which an alarm state change is remembered as handled. */
export function alarmEventKey(alarmName: string, stateTimestamp: string): string {
  return `${alarmName}@${stateTimestamp}`;
}

function roleOf(pointer: Pointer): ServingRole {
  return pointer.mode ?? 'canary';
}

/** Closes the open interval of `role` at `at` and, when `opened` is given, opens one for it. */
function moveServed(
  served: ServedInterval[],
  roles: ServingRole[],
  at: string,
  opened?: { role: ServingRole; version: number },
): ServedInterval[] {
  const closed = served.map((interval) =>
    roles.includes(interval.role) && interval.to === undefined ? { ...interval, to: at } : interval,
  );
  const next = opened ? [...closed, { ...opened, from: at }] : closed;
  return next.slice(-SERVED_LIMIT);
}

function withHandled(handled: string[], eventKey: string | undefined): string[] {
  return eventKey === undefined ? handled : [...handled, eventKey].slice(-HANDLED_LIMIT);
}

interface Draft {
  production?: Pointer;
  canary?: Pointer;
  served?: ServedInterval[];
  audit: Omit<AuditRecord, 'at'>;
  stages: Omit<StageUpdate, 'promotedAt'>[];
  /** A version entering production gets `promotedAt`. */
  promoted?: number;
  eventKey?: string;
  outcome: Outcome;
}

/** Builds the `apply` plan for a draft: bumps the revision and writes the change ahead. */
function apply(state: PointerState, draft: Draft, at: string): Plan {
  const revision = state.revision + 1;
  const change: Change = {
    revision,
    audit: { ...draft.audit, at, ...(draft.eventKey === undefined ? {} : { eventKey: draft.eventKey }) },
    stages: draft.stages.map((update) =>
      update.version === draft.promoted ? { ...update, promotedAt: at } : update,
    ),
  };
  const next: PointerState = {
    revision,
    ...(draft.production ? { production: draft.production } : {}),
    ...(draft.canary ? { canary: draft.canary } : {}),
    served: draft.served ?? state.served,
    handled: withHandled(state.handled, draft.eventKey),
    pending: change,
  };
  return { status: 'apply', next, change, outcome: draft.outcome };
}

/** Production moves to `version`; the version it replaces is archived and kept for rollback. */
function promotionDraft(
  state: PointerState,
  version: number,
  reason: string,
  actor: string,
  at: string,
): Draft {
  const current = state.production;
  const canary = state.canary?.version === version ? undefined : state.canary;
  const roles: ServingRole[] =
    state.canary && !canary ? ['production', roleOf(state.canary)] : ['production'];
  return {
    production: {
      version,
      since: at,
      reason,
      history: current
        ? [...current.history.filter((v) => v !== version), current.version].slice(-HISTORY_LIMIT)
        : [],
    },
    canary,
    served: moveServed(state.served, roles, at, { role: 'production', version }),
    audit: { action: 'promote', fromVersion: current?.version, toVersion: version, reason, actor },
    stages: [
      { version, stage: 'production', reason },
      ...(current
        ? [
            {
              version: current.version,
              stage: 'archived' as const,
              reason: `replaced by version ${version}: ${reason}`,
            },
          ]
        : []),
    ],
    promoted: version,
    outcome: {
      changed: true,
      from: current?.version,
      to: version,
      message: `promoted version ${version}${current ? ` (replacing ${current.version})` : ''}`,
    },
  };
}

/** A candidate that can no longer be promoted ends `superseded`, its pointer (if any) removed. */
function supersedeDraft(
  state: PointerState,
  version: number,
  reason: string,
  actor: string,
  at: string,
): Draft {
  const baking = state.canary?.version === version ? state.canary : undefined;
  return {
    production: state.production,
    canary: baking ? undefined : state.canary,
    served: baking ? moveServed(state.served, [roleOf(baking)], at) : undefined,
    audit: { action: 'supersede', fromVersion: version, reason, actor },
    stages: [{ version, stage: 'superseded', reason }],
    outcome: {
      changed: false,
      superseded: true,
      from: version,
      message: `version ${version} superseded: ${reason}`,
    },
  };
}

/**
 * Decides a transition on the current pointer state.
 *
 * | transition           | allowed when                                   | pointer change                       | stages                                   |
 * |----------------------|------------------------------------------------|--------------------------------------|------------------------------------------|
 * | `promote`            | production is `expected`                       | production → version (old to history) | version production, old archived         |
 * | `rollback`           | the bad version still serves in production     | production → last of history         | restored production, bad rolled_back     |
 * | `candidate_start`    | production is still the candidate's champion   | canary → version (replaces a baking one) | version staging, replaced one superseded |
 * | `candidate_stop`     | the candidate is still `version`               | canary removed                       | version rolled_back                      |
 * | `candidate_complete` | the candidate is `version`, production its champion | production → version, canary removed | as `promote`                          |
 * | `supersede`          | the version is not in production               | its candidate pointer removed, if any | version superseded                      |
 * | `alarm`              | always (attributes the alarm to a version)     | as `rollback` or `candidate_stop`    | as those                                 |
 *
 * A rollback or candidate stop for a version that no longer serves is a recorded no-op (an audit record,
 * no pointer move); so is a rollback with no earlier version to return to. A candidate whose champion was
 * replaced while it baked ends `superseded` instead of being promoted: it was never judged against the
 * production it would replace. Each alarm state change (`eventKey`) is acted on at most once.
 *
 * @param stage the stage of the version the transition names, read after the pointer item: a retry of a
 *   rollback, stop or supersede that already took effect is `done`, not recorded twice.
 */
export function plan(state: PointerState, transition: Transition, at: string, stage?: Stage): Plan {
  const { production, canary } = state;
  if ('eventKey' in transition && transition.eventKey && state.handled.includes(transition.eventKey)) {
    return {
      status: 'done',
      outcome: {
        changed: false,
        duplicate: true,
        message: `alarm state change ${transition.eventKey} was already handled`,
      },
    };
  }
  switch (transition.kind) {
    case 'alarm': {
      const { role, periods, reason, actor, eventKey } = transition;
      const version = attributeAlarm(state.served, role, periods, Date.parse(at));
      if (version === undefined) {
        return apply(
          state,
          {
            production,
            canary,
            audit: {
              action: 'rollback_skipped',
              reason: `${reason}; no version served as ${role} during the breaching periods`,
              actor,
            },
            stages: [],
            eventKey,
            outcome: {
              changed: false,
              message: `no version served as ${role} when the alarm's datapoints breached`,
            },
          },
          at,
        );
      }
      return role === 'production'
        ? plan(state, { kind: 'rollback', version, reason, actor, eventKey }, at, stage)
        : plan(state, { kind: 'candidate_stop', version, reason, actor, eventKey }, at, stage);
    }
    case 'promote': {
      const { version, expected, reason, actor } = transition;
      if (production?.version === version) {
        return {
          status: 'done',
          outcome: { changed: false, to: version, message: `version ${version} is already in production` },
        };
      }
      if (production?.version !== expected) {
        return {
          status: 'conflict',
          message: `production is ${production?.version ?? 'unset'}, not ${expected ?? 'unset'} as expected`,
        };
      }
      return apply(state, promotionDraft(state, version, reason, actor, at), at);
    }
    case 'rollback': {
      const { reason, actor, eventKey } = transition;
      if (!production) {
        return { status: 'done', outcome: { changed: false, message: 'no production version to roll back' } };
      }
      const bad = transition.version ?? production.version;
      const skipped = (why: string): Plan =>
        apply(
          state,
          {
            production,
            canary,
            audit: { action: 'rollback_skipped', fromVersion: bad, reason: `${reason}; ${why}`, actor },
            stages: [],
            eventKey,
            outcome: { changed: false, from: bad, message: why },
          },
          at,
        );
      if (bad !== production.version) {
        if (stage === 'rolled_back' && eventKey === undefined) {
          return {
            status: 'done',
            outcome: { changed: false, from: bad, message: `version ${bad} was already rolled back` },
          };
        }
        return skipped(
          `version ${bad} no longer serves (production is version ${production.version}); nothing rolled back`,
        );
      }
      const target = production.history.at(-1);
      if (target === undefined)
        return skipped(`no earlier version to roll back to; version ${bad} keeps serving`);
      return apply(
        state,
        {
          production: { version: target, since: at, reason, history: production.history.slice(0, -1) },
          canary,
          served: moveServed(state.served, ['production'], at, { role: 'production', version: target }),
          audit: { action: 'rollback', fromVersion: bad, toVersion: target, reason, actor },
          stages: [
            { version: target, stage: 'production', reason: `restored: ${reason}` },
            { version: bad, stage: 'rolled_back', reason },
          ],
          promoted: target,
          eventKey,
          outcome: {
            changed: true,
            from: bad,
            to: target,
            message: `rolled back from version ${bad} to ${target}`,
          },
        },
        at,
      );
    }
    case 'candidate_start': {
      const { version, champion, mode, weight, bakeUntil, reason, actor } = transition;
      if (canary?.version === version) {
        return {
          status: 'done',
          outcome: { changed: false, to: version, message: `version ${version} is already baking` },
        };
      }
      if (production?.version === version) {
        return { status: 'conflict', message: `version ${version} is already in production` };
      }
      if (production?.version !== champion) {
        return {
          status: 'conflict',
          message: `production is ${production?.version ?? 'unset'}, not ${champion ?? 'unset'} as it was when version ${version} was judged`,
        };
      }
      const replaced = canary
        ? [
            {
              version: canary.version,
              stage: 'superseded' as const,
              reason: `superseded by version ${version} before its bake ended`,
            },
          ]
        : [];
      const roles: ServingRole[] = canary ? [roleOf(canary)] : [];
      return apply(
        state,
        {
          production,
          canary: {
            version,
            since: at,
            reason,
            history: [],
            mode,
            weight: mode === 'canary' ? weight : 0,
            bakeUntil,
            ...(champion === undefined ? {} : { champion }),
          },
          served: moveServed(state.served, roles, at, { role: mode, version }),
          audit: {
            action: 'candidate_start',
            fromVersion: production?.version,
            toVersion: version,
            reason: canary ? `${reason}; replaces version ${canary.version}, superseded` : reason,
            actor,
          },
          stages: [{ version, stage: 'staging', reason }, ...replaced],
          outcome: { changed: true, to: version, message: `version ${version} started as a ${mode}` },
        },
        at,
      );
    }
    case 'candidate_stop': {
      const { version, reason, actor, eventKey } = transition;
      if (canary?.version !== version) {
        if (stage === 'rolled_back' && eventKey === undefined) {
          return {
            status: 'done',
            outcome: { changed: false, from: version, message: `version ${version} was already stopped` },
          };
        }
        return apply(
          state,
          {
            production,
            canary,
            audit: {
              action: 'rollback_skipped',
              fromVersion: version,
              reason: `${reason}; version ${version} is no longer the candidate`,
              actor,
            },
            stages: [],
            eventKey,
            outcome: {
              changed: false,
              from: version,
              message: `version ${version} is no longer the candidate; nothing stopped`,
            },
          },
          at,
        );
      }
      return apply(
        state,
        {
          production,
          served: moveServed(state.served, [roleOf(canary)], at),
          audit: { action: 'candidate_rollback', fromVersion: version, reason, actor },
          stages: [{ version, stage: 'rolled_back', reason }],
          eventKey,
          outcome: {
            changed: true,
            from: version,
            message: `stopped the ${roleOf(canary)} (version ${version}); production is unchanged`,
          },
        },
        at,
      );
    }
    case 'candidate_complete': {
      const { version, reason, actor } = transition;
      if (canary?.version !== version) {
        if (production?.version === version) {
          return {
            status: 'done',
            outcome: { changed: false, to: version, message: `version ${version} is already in production` },
          };
        }
        return {
          status: 'conflict',
          message: `the candidate is ${canary?.version ?? 'unset'}, not version ${version}`,
        };
      }
      if (production?.version !== canary.champion) {
        const why = `production moved from ${canary.champion ?? 'unset'} to ${production?.version ?? 'unset'} while it baked; it was never judged against version ${production?.version ?? 'unset'}`;
        return apply(state, supersedeDraft(state, version, why, actor, at), at);
      }
      return apply(state, promotionDraft(state, version, reason, actor, at), at);
    }
    case 'supersede': {
      const { version, reason, actor } = transition;
      if (production?.version === version) {
        return { status: 'conflict', message: `version ${version} is in production` };
      }
      if (stage === 'superseded' && canary?.version !== version) {
        return {
          status: 'done',
          outcome: {
            changed: false,
            superseded: true,
            from: version,
            message: `version ${version} is already superseded`,
          },
        };
      }
      return apply(state, supersedeDraft(state, version, reason, actor, at), at);
    }
  }
}

/**
 * Which version an alarm is about. Metrics carry the role, not the version, so it is read from who served
 * when the datapoints breached:
 *
 * 1. A version that first entered `role` during the first breaching period (a promotion or a canary
 *    start, not a version restored by a rollback: it had served in `role` before): the breach began with
 *    it. Without this, a version bad from the moment it was promoted late in a period was outweighed by
 *    the version it replaced, the rollback was a no-op on a version no longer serving, and the alarm,
 *    still in ALARM, never fired again (seen with a corrupt artifact refused right after its promotion).
 * 2. Otherwise the one that served in `role` for the largest share of the breaching periods, so a late
 *    alarm on a version already rolled back is attributed to it (and becomes a no-op) instead of to the
 *    version restored after it.
 *
 * @param periods the breaching periods as [start, end) epoch milliseconds
 * @returns the version, or undefined when no version served in `role` during any of them
 */
export function attributeAlarm(
  served: readonly ServedInterval[],
  role: ServingRole,
  periods: readonly { start: number; end: number }[],
  now: number,
): number | undefined {
  const first = periods.reduce<{ start: number; end: number } | undefined>(
    (earliest, period) => (earliest === undefined || period.start < earliest.start ? period : earliest),
    undefined,
  );
  const inRole = served.filter((interval) => interval.role === role);
  const newcomer = inRole
    .filter((interval) => {
      const from = Date.parse(interval.from);
      return (
        first !== undefined &&
        from >= first.start &&
        from < first.end &&
        !inRole.some((other) => other.version === interval.version && Date.parse(other.from) < from)
      );
    })
    .sort((a, b) => Date.parse(b.from) - Date.parse(a.from))[0];
  if (newcomer) return newcomer.version;
  const share = new Map<number, { ms: number; latest: number }>();
  for (const interval of inRole) {
    const from = Date.parse(interval.from);
    const to = interval.to === undefined ? now : Date.parse(interval.to);
    for (const period of periods) {
      const overlap = Math.min(to, period.end) - Math.max(from, period.start);
      if (overlap <= 0) continue;
      const entry = share.get(interval.version) ?? { ms: 0, latest: 0 };
      share.set(interval.version, { ms: entry.ms + overlap, latest: Math.max(entry.latest, from) });
    }
  }
  let best: { version: number; ms: number; latest: number } | undefined;
  for (const [version, { ms, latest }] of share) {
    // Ties go to the version that started serving later: the freshest evidence.
    if (!best || ms > best.ms || (ms === best.ms && latest > best.latest)) best = { version, ms, latest };
  }
  return best?.version;
}

/**
 * The breaching periods of an alarm's state change, from CloudWatch's `reasonData` (its
 * `evaluatedDatapoints`, newest first, each the start of one period). Our rollback alarms all compare
 * with GreaterThanThreshold, so a datapoint breaches when its value is above `threshold`. The period's
 * length is the spacing of the datapoints (the local runtime shortens periods), else `period` seconds.
 *
 * @param stateTime when the alarm entered the state (epoch ms): no period extends past it
 * @returns [start, end) epoch milliseconds; empty when `reasonData` is absent or has no datapoints
 */
export function breachingPeriods(
  reasonData: string | undefined,
  stateTime: number,
): { start: number; end: number }[] {
  let data: {
    period?: unknown;
    threshold?: unknown;
    evaluatedDatapoints?: { timestamp?: unknown; value?: unknown }[];
  };
  try {
    data = JSON.parse(reasonData ?? '{}');
  } catch {
    return [];
  }
  const threshold = typeof data.threshold === 'number' ? data.threshold : undefined;
  const points = (Array.isArray(data.evaluatedDatapoints) ? data.evaluatedDatapoints : [])
    .map((point) => ({ start: Date.parse(String(point.timestamp)), value: point.value }))
    .filter((point) => Number.isFinite(point.start))
    .sort((a, b) => a.start - b.start);
  const spacings = points
    .slice(1)
    .map((point, i) => point.start - points[i].start)
    .filter((d) => d > 0);
  const periodMs =
    spacings.length > 0
      ? Math.min(...spacings)
      : typeof data.period === 'number'
        ? data.period * 1000
        : 60_000;
  return points
    .filter(
      (point) => typeof point.value === 'number' && (threshold === undefined || point.value > threshold),
    )
    .map((point) => ({ start: point.start, end: Math.min(point.start + periodMs, stateTime) }))
    .filter((period) => period.end > period.start);
}
