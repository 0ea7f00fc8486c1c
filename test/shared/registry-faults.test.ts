/**
 * Fault injection: every lifecycle operation is crashed at each of its write boundaries (the registry's
 * `beforeWrite` seam throws, as a Lambda dying between two writes would), then "restarted" with a new
 * registry that retries the operation, as AWS's at-least-once delivery does. After each, the registry's
 * invariants must hold on the real emulator (no mock of DynamoDB):
 *
 * - exactly one production pointer, naming an existing version;
 * - every version's stage agrees with the pointers (production ↔ production pointer, staging ↔ candidate);
 * - one audit record per change that took effect (revisions 1..n, each exactly once), none pending;
 * - no duplicate version: version numbers unique and consecutive;
 * - the end state equals that of the same operations run without a crash.
 *
 * Covered: register (version number, version item, promotion), promote, rollback (by hand and by an
 * alarm, whose redelivery is the retry), canary start (also
 * replacing a baking canary), canary stop, canary promotion after its bake, supersede. Baseline updates
 * (`setBaseline`, held-back drops, the run lease) are the runs area's and tested there.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient as documentClientOver } from '../../lambdas/shared/document-client.ts';
import { type ModelVersion, Registry, type WriteBoundary } from '../../lambdas/shared/registry.ts';
import {
  createRegistryTable,
  registryTables,
  startTestEmulators,
  type TestEmulators,
} from '../support/emulators.ts';
import { versionRecord } from '../support/versions.ts';

const TABLE = 'registry-faults';
let emulators: TestEmulators;
let modelCount = 0;

beforeAll(async () => {
  emulators = await startTestEmulators();
  await createRegistryTable(TABLE);
});
afterAll(async () => emulators.close());

class Crash extends Error {}

const documentClient = () => documentClientOver(new DynamoDBClient({}));

/** A registry that records its write boundaries and crashes before the `crashAt`-th one (0-based). */
function faultyRegistry(crashAt: number | undefined, seen: WriteBoundary[]): Registry {
  return new Registry(registryTables(TABLE), documentClient(), {
    beforeWrite(boundary) {
      if (seen.length === crashAt) throw new Crash(`crash before ${label(boundary)}`);
      seen.push(boundary);
    },
  });
}

function label(boundary: WriteBoundary): string {
  const detail = boundary.write === 'stage' || boundary.write === 'version' ? ` v${boundary.version}` : '';
  return `${boundary.write}${detail}`;
}

function version(model: string, n: number): ModelVersion {
  return versionRecord(model, n, 'staging', '2026-01-01T00:00:00.000Z');
}

async function prepare(model: string, versions: number): Promise<Registry> {
  const registry = new Registry(registryTables(TABLE), documentClient());
  await registry.putSpec(model, { name: model });
  for (let n = 1; n <= versions; n++) await registry.createVersion(version(model, n));
  return registry;
}

const candidate = (champion: number | undefined) => ({
  mode: 'canary' as const,
  weight: 0.1,
  bakeUntil: '2030-01-01T00:00:00.000Z',
  champion,
  reason: 'canary',
  actor: 'test',
});

interface Scenario {
  name: string;
  versions: number;
  /** Brings the model to the state the operation starts from (never crashed). */
  setup: (registry: Registry, model: string) => Promise<unknown>;
  /** The operation under test, retried as is after a crash. */
  operation: (registry: Registry, model: string) => Promise<unknown>;
  /** Every write boundary of the operation, in order. */
  boundaries: string[];
}

const SCENARIOS: Scenario[] = [
  {
    name: 'register (the run creates its version, then promotes it)',
    versions: 1,
    setup: (r, m) => r.promote(m, 1, { expected: undefined, reason: 'first', actor: 'test' }),
    operation: async (r, m) => {
      const { version: created } = await r.createVersion({ ...version(m, 0), runId: 'run-new' });
      await r.promote(m, created.version, { expected: 1, reason: 'better', actor: 'pipeline run run-new' });
    },
    boundaries: ['reserve', 'version v2', 'pointer', 'stage v2', 'stage v1', 'audit', 'settle'],
  },
  {
    name: 'first promotion',
    versions: 1,
    setup: async () => {},
    operation: (r, m) => r.promote(m, 1, { expected: undefined, reason: 'first', actor: 'test' }),
    boundaries: ['pointer', 'stage v1', 'audit', 'settle'],
  },
  {
    name: 'promotion over a champion',
    versions: 2,
    setup: (r, m) => r.promote(m, 1, { expected: undefined, reason: 'first', actor: 'test' }),
    operation: (r, m) => r.promote(m, 2, { expected: 1, reason: 'better', actor: 'test' }),
    boundaries: ['pointer', 'stage v2', 'stage v1', 'audit', 'settle'],
  },
  {
    name: 'rollback',
    versions: 2,
    setup: async (r, m) => {
      await r.promote(m, 1, { expected: undefined, reason: 'first', actor: 'test' });
      await r.promote(m, 2, { expected: 1, reason: 'better', actor: 'test' });
    },
    operation: (r, m) => r.rollback(m, { badVersion: 2, reason: 'alarm', actor: 'test' }),
    boundaries: ['pointer', 'stage v1', 'stage v2', 'audit', 'settle'],
  },
  {
    name: 'alarm-driven rollback (a redelivery of the same alarm state change is the retry)',
    versions: 2,
    setup: async (r, m) => {
      await r.promote(m, 1, { expected: undefined, reason: 'first', actor: 'test' });
      await r.promote(m, 2, { expected: 1, reason: 'better', actor: 'test' });
    },
    operation: async (r, m) => {
      // Breaching periods from just after version 2 started serving until now: the alarm is about 2.
      const since = Date.parse((await r.getPointer(m, 'production'))!.since);
      return r.rollbackForAlarm(m, {
        role: 'production',
        periods: [{ start: since, end: since + 1 }],
        eventKey: `p99@${m}`,
        reason: 'alarm p99',
        actor: 'alarm p99',
      });
    },
    boundaries: ['pointer', 'stage v1', 'stage v2', 'audit', 'settle'],
  },
  {
    name: 'canary start replacing a baking canary',
    versions: 3,
    setup: async (r, m) => {
      await r.promote(m, 1, { expected: undefined, reason: 'first', actor: 'test' });
      await r.startCandidate(m, 2, candidate(1));
    },
    operation: (r, m) => r.startCandidate(m, 3, candidate(1)),
    boundaries: ['pointer', 'stage v3', 'stage v2', 'audit', 'settle'],
  },
  {
    name: 'canary stop',
    versions: 2,
    setup: async (r, m) => {
      await r.promote(m, 1, { expected: undefined, reason: 'first', actor: 'test' });
      await r.startCandidate(m, 2, candidate(1));
    },
    operation: (r, m) => r.rollbackCandidate(m, 2, { reason: 'canary alarm', actor: 'test' }),
    boundaries: ['pointer', 'stage v2', 'audit', 'settle'],
  },
  {
    name: 'canary promotion after its bake',
    versions: 2,
    setup: async (r, m) => {
      await r.promote(m, 1, { expected: undefined, reason: 'first', actor: 'test' });
      await r.startCandidate(m, 2, candidate(1));
    },
    operation: (r, m) => r.completeCandidate(m, 2, { reason: 'baked', actor: 'test' }),
    boundaries: ['pointer', 'stage v2', 'stage v1', 'audit', 'settle'],
  },
  {
    name: 'supersede a stranded candidate',
    versions: 2,
    setup: (r, m) => r.promote(m, 1, { expected: undefined, reason: 'first', actor: 'test' }),
    operation: (r, m) => r.supersede(m, 2, { reason: 'production moved', actor: 'test' }),
    boundaries: ['pointer', 'stage v2', 'audit', 'settle'],
  },
];

/** The registry's invariants, and a summary of its state to compare with an uncrashed run. */
async function checkInvariants(registry: Registry, model: string) {
  // A reader first settles what a crash left pending, as every writer does.
  const state = await registry.settle(model);
  const versions = await registry.listVersions(model);
  const audit = await registry.listAudit(model);
  const { production, canary } = state;
  expect(production, 'one production pointer').toBeDefined();
  expect(
    versions.map((v) => v.version),
    'it names an existing version',
  ).toContain(production?.version);
  for (const v of versions) {
    if (v.version === production?.version) expect(v.stage, `v${v.version}`).toBe('production');
    else if (v.version === canary?.version) expect(v.stage, `v${v.version}`).toBe('staging');
    else expect(['production'], `v${v.version} is ${v.stage}`).not.toContain(v.stage);
  }
  expect(audit, 'one audit record per change').toHaveLength(state.revision);
  const numbers = versions.map((v) => v.version).sort((a, b) => a - b);
  expect(numbers, 'versions unique and consecutive').toEqual(numbers.map((_, i) => i + 1));
  return {
    production: production?.version,
    history: production?.history,
    canary: canary?.version ?? null,
    stages: Object.fromEntries(versions.map((v) => [v.version, v.stage])),
    audit: audit.map((a) => `${a.action} ${a.fromVersion ?? '-'}→${a.toVersion ?? '-'}`),
  };
}

describe('registry fault injection', () => {
  for (const scenario of SCENARIOS) {
    it(`${scenario.name}: a crash at any write boundary, then a retry, leaves the invariants and the same end state`, async () => {
      // Prepare: the uncrashed run, which also lists the boundaries
      const cleanModel = `faults-${++modelCount}`;
      await scenario.setup(await prepare(cleanModel, scenario.versions), cleanModel);
      const seen: WriteBoundary[] = [];
      await scenario.operation(faultyRegistry(undefined, seen), cleanModel);
      expect(seen.map(label)).toEqual(scenario.boundaries);
      const expected = await checkInvariants(
        new Registry(registryTables(TABLE), documentClient()),
        cleanModel,
      );
      for (let crashAt = 0; crashAt < scenario.boundaries.length; crashAt++) {
        const model = `faults-${++modelCount}`;
        await scenario.setup(await prepare(model, scenario.versions), model);
        // Act: crash before boundary `crashAt`, then restart and retry
        await expect(scenario.operation(faultyRegistry(crashAt, []), model)).rejects.toBeInstanceOf(Crash);
        const restarted = new Registry(registryTables(TABLE), documentClient());
        await scenario.operation(restarted, model);
        // Assess
        const state = await checkInvariants(restarted, model);
        expect(state, `crash before ${scenario.boundaries[crashAt]}`).toEqual(expected);
      }
    });
  }

  it('a crash after the pointer write is rolled forward by the next, different change', async () => {
    // Prepare: promote 2 crashes right after its pointer write
    const model = `faults-${++modelCount}`;
    await prepare(model, 3);
    await new Registry(registryTables(TABLE), documentClient()).promote(model, 1, {
      expected: undefined,
      reason: 'first',
      actor: 'test',
    });
    await expect(
      faultyRegistry(1, []).promote(model, 2, { expected: 1, reason: 'better', actor: 'test' }),
    ).rejects.toBeInstanceOf(Crash);
    // Act: someone else promotes 3 over 2
    const other = new Registry(registryTables(TABLE), documentClient());
    await other.promote(model, 3, { expected: 2, reason: 'better still', actor: 'other' });
    // Assess
    const state = await checkInvariants(other, model);
    expect(state.stages).toEqual({ 1: 'archived', 2: 'archived', 3: 'production' });
    expect(state.audit).toEqual(['promote -→1', 'promote 1→2', 'promote 2→3']);
  });
});
