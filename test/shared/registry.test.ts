import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError } from '../../lambdas/shared/errors.ts';
import { type ModelVersion, Registry } from '../../lambdas/shared/registry.ts';
import {
  createRegistryTable,
  registryTables,
  startTestEmulators,
  type TestEmulators,
} from '../support/emulators.ts';
import { versionRecord } from '../support/versions.ts';

let emulators: TestEmulators;
let registry: Registry;
let tableCount = 0;

beforeAll(async () => {
  emulators = await startTestEmulators();
});
afterAll(async () => emulators.close());

async function freshRegistry(): Promise<Registry> {
  const name = `registry-${++tableCount}`;
  await createRegistryTable(name);
  return new Registry(registryTables(name));
}

function version(model: string, n: number): ModelVersion {
  return versionRecord(model, n, 'none');
}

async function registerVersions(model: string, count: number) {
  await registry.putSpec(model, { name: model });
  for (let n = 1; n <= count; n++) await registry.createVersion(version(model, n));
}

function forRun(model: string, runId: string) {
  const { version: _number, ...record } = version(model, 0);
  return { ...record, runId };
}

describe('Registry', () => {
  beforeAll(async () => {
    registry = await freshRegistry();
  });

  it('numbers the versions of concurrent runs uniquely and consecutively', async () => {
    // Prepare
    await registry.putSpec('counter', { name: 'counter' });
    // Act
    const created = await Promise.all(
      Array.from({ length: 10 }, (_, i) => registry.createVersion(forRun('counter', `run-${i}`))),
    );
    // Assess
    expect(created.map((c) => c.version.version).sort((a, b) => a - b)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    ]);
    expect(new Set(created.map((c) => c.version.runId)).size).toBe(10);
  });

  it('gives a retried run the version it already created, also when the attempts overlap', async () => {
    // Prepare
    await registry.putSpec('retried', { name: 'retried' });
    await registry.createVersion(forRun('retried', 'other'));
    // Act
    const [first, overlapping] = await Promise.all([
      registry.createVersion(forRun('retried', 'run-a')),
      registry.createVersion(forRun('retried', 'run-a')),
    ]);
    const retry = await registry.createVersion(forRun('retried', 'run-a'));
    // Assess
    expect([first.version.version, overlapping.version.version, retry.version.version]).toEqual([2, 2, 2]);
    expect([first.created, overlapping.created].filter(Boolean)).toHaveLength(1);
    expect(retry.created).toBe(false);
    expect((await registry.listVersions('retried')).map((v) => v.version)).toEqual([2, 1]);
  });

  it('refuses a version for a model without a spec', async () => {
    await expect(registry.createVersion(forRun('unknown-model', 'r'))).rejects.toThrow(/no spec registered/);
  });

  it('keeps exactly one production version through promotions and archives the previous one', async () => {
    // Prepare
    await registerVersions('promo', 3);
    // Act
    await registry.promote('promo', 1, { expected: undefined, reason: 'first', actor: 'test' });
    await registry.promote('promo', 2, { expected: 1, reason: 'better', actor: 'test' });
    const versions = await registry.listVersions('promo');
    // Assess
    expect(versions.filter((v) => v.stage === 'production').map((v) => v.version)).toEqual([2]);
    expect(versions.find((v) => v.version === 1)?.stage).toBe('archived');
    expect((await registry.getPointer('promo', 'production'))?.history).toEqual([1]);
  });

  it('lets only one of two racing promotions win', async () => {
    // Prepare
    await registerVersions('race', 3);
    await registry.promote('race', 1, { expected: undefined, reason: 'first', actor: 'test' });
    // Act
    const results = await Promise.allSettled([
      registry.promote('race', 2, { expected: 1, reason: 'a', actor: 'a' }),
      registry.promote('race', 3, { expected: 1, reason: 'b', actor: 'b' }),
    ]);
    // Assess
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toBeInstanceOf(ConflictError);
    const production = await registry.listVersions('race');
    expect(production.filter((v) => v.stage === 'production')).toHaveLength(1);
  });

  it('rolls back to the version that served before, marks the bad one and audits both changes', async () => {
    // Prepare
    await registerVersions('rollback', 2);
    await registry.promote('rollback', 1, { expected: undefined, reason: 'first', actor: 'pipeline' });
    await registry.promote('rollback', 2, { expected: 1, reason: 'better', actor: 'pipeline' });
    // Act
    const result = await registry.rollback('rollback', {
      badVersion: 2,
      reason: 'alarm quality',
      actor: 'alarm',
    });
    // Assess
    expect(result).toMatchObject({ rolledBack: true, from: 2, to: 1 });
    expect((await registry.getPointer('rollback', 'production'))?.version).toBe(1);
    expect((await registry.getVersion('rollback', 2))?.stage).toBe('rolled_back');
    expect((await registry.getVersion('rollback', 2))?.reason).toBe('alarm quality');
    const audit = await registry.listAudit('rollback');
    expect(audit.map((a) => [a.action, a.fromVersion, a.toVersion])).toEqual([
      ['promote', undefined, 1],
      ['promote', 1, 2],
      ['rollback', 2, 1],
    ]);
  });

  it('rolls back only once when two rollbacks name the same bad version; the version before is untouched', async () => {
    // Prepare
    await registerVersions('double', 3);
    await registry.promote('double', 1, { expected: undefined, reason: 'a', actor: 't' });
    await registry.promote('double', 2, { expected: 1, reason: 'b', actor: 't' });
    await registry.promote('double', 3, { expected: 2, reason: 'c', actor: 't' });
    // Act
    const results = await Promise.all([
      registry.rollback('double', { badVersion: 3, reason: 'alarm 1', actor: 'alarm' }),
      registry.rollback('double', { badVersion: 3, reason: 'alarm 2', actor: 'alarm' }),
    ]);
    // Assess
    expect(results.filter((r) => r.rolledBack)).toHaveLength(1);
    expect((await registry.getPointer('double', 'production'))?.version).toBe(2);
    expect((await registry.getVersion('double', 2))?.stage).toBe('production');
    const audit = await registry.listAudit('double');
    expect(audit.map((a) => a.action)).toEqual(['promote', 'promote', 'promote', 'rollback']);
  });

  it('retries of a promotion are no-ops, and a stale promotion is refused without writing', async () => {
    // Prepare
    await registerVersions('retry', 2);
    await registry.promote('retry', 1, { expected: undefined, reason: 'first', actor: 't' });
    // Act
    const again = await registry.promote('retry', 1, { expected: undefined, reason: 'first', actor: 't' });
    const stale = registry.promote('retry', 2, { expected: undefined, reason: 'stale', actor: 't' });
    // Assess
    expect(again.changed).toBe(false);
    await expect(stale).rejects.toBeInstanceOf(ConflictError);
    expect((await registry.listAudit('retry')).map((a) => a.action)).toEqual(['promote']);
  });

  it('supersedes a candidate whose champion was replaced while it baked instead of promoting it', async () => {
    // Prepare
    await registerVersions('bake', 3);
    await registry.promote('bake', 1, { expected: undefined, reason: 'first', actor: 't' });
    await registry.startCandidate('bake', 3, {
      mode: 'canary',
      weight: 0.1,
      bakeUntil: '2030-01-01T00:00:00Z',
      champion: 1,
      reason: 'beats 1',
      actor: 't',
    });
    await registry.promote('bake', 2, { expected: 1, reason: 'by hand', actor: 't' });
    // Act
    const outcome = await registry.completeCandidate('bake', 3, { reason: 'baked', actor: 'bake' });
    // Assess
    expect(outcome).toMatchObject({ changed: false, superseded: true });
    expect(await registry.getPointers('bake')).toMatchObject({
      production: { version: 2 },
      canary: undefined,
    });
    expect((await registry.getVersion('bake', 3))?.stage).toBe('superseded');
  });

  it('leaves production as it is when there is no earlier version, and says so', async () => {
    // Prepare
    await registerVersions('lonely', 1);
    await registry.promote('lonely', 1, { expected: undefined, reason: 'first', actor: 't' });
    // Act
    const result = await registry.rollback('lonely', { reason: 'alarm', actor: 'alarm' });
    // Assess
    expect(result.rolledBack).toBe(false);
    expect(result.message).toMatch(/no earlier version/);
    expect((await registry.getPointer('lonely', 'production'))?.version).toBe(1);
    expect((await registry.listAudit('lonely')).at(-1)?.action).toBe('rollback_skipped');
  });

  it('supersedes candidates stranded in staging once their run ended, never a baking or running one', async () => {
    // Prepare: 1 serves; 2's run failed after creating it; 3's run still runs; 4 bakes as a canary
    await registerVersions('stranded', 1);
    for (const n of [2, 3, 4]) await registry.createVersion({ ...version('stranded', n), stage: 'staging' });
    await registry.promote('stranded', 1, { expected: undefined, reason: 'first', actor: 't' });
    await registry.startCandidate('stranded', 4, {
      mode: 'canary',
      weight: 0.1,
      bakeUntil: '2030-01-01T00:00:00Z',
      champion: 1,
      reason: 'canary',
      actor: 't',
    });
    const run = (runId: string, status: 'running' | 'failed') =>
      registry.startRun({
        model: 'stranded',
        runId,
        startedAt: `2026-01-01T00:00:0${runId.at(-1)}Z`,
        trigger: 'drop',
        status,
        step: 'register',
      });
    await run('run-2', 'failed');
    await run('run-3', 'running');
    // Act
    const superseded = await registry.supersedeStranded('stranded', 'bake schedule');
    const again = await registry.supersedeStranded('stranded', 'bake schedule');
    // Assess
    expect(superseded).toEqual([2]);
    expect(again).toEqual([]);
    const stages = Object.fromEntries(
      (await registry.listVersions('stranded')).map((v) => [v.version, v.stage]),
    );
    expect(stages).toEqual({ 1: 'production', 2: 'superseded', 3: 'staging', 4: 'staging' });
    expect((await registry.getVersion('stranded', 2))?.reason).toContain('run-2 ended (failed)');
  });

  it('records runs and lists them newest first', async () => {
    // Act
    await registry.startRun({
      model: 'runs',
      runId: 'a',
      startedAt: '2026-01-01T00:00:00Z',
      trigger: 'drop',
      status: 'running',
      step: 'validate',
    });
    await registry.startRun({
      model: 'runs',
      runId: 'b',
      startedAt: '2026-01-02T00:00:00Z',
      trigger: 'drop',
      status: 'running',
      step: 'validate',
    });
    await registry.updateRun('runs', '2026-01-01T00:00:00Z', 'a', {
      status: 'failed',
      failure: { error: 'InvalidDataError', reason: 'bad' },
    });
    const runs = await registry.listRuns('runs');
    // Assess
    expect(runs.map((r) => r.runId)).toEqual(['b', 'a']);
    expect(runs[1]).toMatchObject({ status: 'failed', failure: { reason: 'bad' } });
  });

  it("keeps each step's first start and latest end under retries, and opening the run keeps them", async () => {
    // Prepare: admit created the item; a step's times arrive before validate opens the run
    const run = { model: 'timed', runId: 't', startedAt: '2026-01-03T00:00:00.000Z' };
    await registry.updateRun(run.model, run.startedAt, run.runId, {
      ...run,
      trigger: 'drop',
      status: 'running',
      step: 'validate',
    });
    // Act: validate starts, opens the run, ends; search's three Map items and a retried attempt overlap
    await registry.recordStepTime(run, 'validate', 'start', '2026-01-03T00:00:01.000Z');
    await registry.startRun({ ...run, trigger: 'drop', status: 'running', step: 'validate' });
    await registry.recordStepTime(run, 'validate', 'end', '2026-01-03T00:00:02.500Z');
    await Promise.all(
      ['03', '04', '05'].map((second) =>
        registry.recordStepTime(run, 'search', 'start', `2026-01-03T00:00:${second}.000Z`),
      ),
    );
    await registry.recordStepTime(run, 'search', 'start', '2026-01-03T00:00:03.000Z');
    await registry.recordStepTime(run, 'search', 'end', '2026-01-03T00:00:09.000Z');
    await registry.recordStepTime(run, 'search', 'end', '2026-01-03T00:00:07.000Z'); // a late duplicate
    await registry.recordStepTime(run, 'fit', 'start', '2026-01-03T00:00:10.000Z');
    // Assess: the first start written stays (concurrent items race; one of theirs), the latest end wins
    const record = await registry.getRun(run.model, run.startedAt, run.runId);
    expect(record?.durations?.validate).toEqual({
      start: '2026-01-03T00:00:01.000Z',
      end: '2026-01-03T00:00:02.500Z',
      seconds: 1.5,
    });
    expect(['03', '04', '05'].map((s) => `2026-01-03T00:00:${s}.000Z`)).toContain(
      record?.durations?.search.start,
    );
    expect(record?.durations?.search.end).toBe('2026-01-03T00:00:09.000Z');
    expect(record?.durations?.fit).toEqual({ start: '2026-01-03T00:00:10.000Z' });
    expect(Object.keys(record?.durations ?? {})).toEqual(['validate', 'search', 'fit']);
    expect(record).not.toHaveProperty('stepStarts');
  });

  it('moves the baseline only from the baseline a run merged from, and repeats its own write', async () => {
    // Prepare
    const base = (runId: string, heldThrough = 0) => ({
      datasetKey: `d-${runId}`,
      sha256: 's',
      rows: 1,
      runId,
      updatedAt: runId,
      heldThrough,
    });
    await registry.setBaseline('base', base('r1'), undefined);
    await registry.setBaseline('base', base('r2'), 'r1');
    // Act: r3 also merged from r1 (stale), and r2's write is repeated (a retried step)
    const stale = await registry.setBaseline('base', base('r3'), 'r1').catch((error: Error) => error);
    await registry.setBaseline('base', base('r2'), 'r1');
    // Assess
    expect(stale).toBeInstanceOf(ConflictError);
    await expect(registry.setBaseline('base', base('r4'), undefined)).rejects.toThrow(ConflictError);
    expect((await registry.getBaseline('base'))?.datasetKey).toBe('d-r2');
  });

  it('gives the run lease to one run at a time, to the next once released, and to anyone once expired', async () => {
    // Act
    const first = await registry.acquireLease('lease', 'a', 1_000, 5_000);
    const again = await registry.acquireLease('lease', 'a', 1_500, 5_500);
    const blocked = await registry.acquireLease('lease', 'b', 2_000, 6_000);
    const releasedByOther = await registry.releaseLease('lease', 'b');
    const released = await registry.releaseLease('lease', 'a');
    const next = await registry.acquireLease('lease', 'b', 3_000, 7_000);
    const expired = await registry.acquireLease('lease', 'c', 7_001, 9_000);
    // Assess
    expect(first).toEqual({ acquired: true });
    expect(again).toEqual({ acquired: true });
    expect(blocked).toMatchObject({ acquired: false, holder: { holder: 'a', expiresAt: 5_500 } });
    expect([releasedByOther, released]).toEqual([false, true]);
    expect(next).toEqual({ acquired: true });
    expect(expired).toEqual({ acquired: true });
    expect((await registry.getLease('lease'))?.holder).toBe('c');
  });

  it('lets the first run that claims an S3 object own it; another version of the key is another drop', async () => {
    // Prepare
    const drop = { bucket: 'b', key: `incoming/m/${'x'.repeat(1000)}.csv`, etag: 'e1', size: 1 };
    // Act
    const owners = await Promise.all(
      ['r1', 'r2', 'r3'].map((runId) => registry.claimDrop('claims', drop, runId, 't')),
    );
    const retried = await registry.claimDrop('claims', drop, owners[0], 't');
    const changed = await registry.claimDrop('claims', { ...drop, etag: 'e2' }, 'r4', 't');
    // Assess
    expect(new Set(owners).size).toBe(1);
    expect(retried).toBe(owners[0]);
    expect(changed).toBe('r4');
  });

  it('holds drops back as numbered items, once per run, and only for the lease holder', async () => {
    // Prepare
    const run = (runId: string) => ({ model: 'held', startedAt: `2026-01-01T00:00:0${runId}Z`, runId });
    const drop = (n: string) => ({ bucket: 'b', key: `incoming/held/${n}.csv`, etag: n, size: 1 });
    for (const id of ['1', '2', '3']) {
      await registry.startRun({ ...run(id), trigger: 'drop', status: 'running', step: 'register' });
    }
    // Act
    await registry.acquireLease('held', '1', 0, 10);
    const first = await registry.holdBackDrop(run('1'), drop('1'));
    const repeated = await registry.holdBackDrop(run('1'), drop('1'));
    await registry.releaseLease('held', '1');
    await registry.acquireLease('held', '2', 0, 10);
    await registry.holdBackDrop(run('2'), drop('2'));
    const notHolder = await registry.holdBackDrop(run('3'), drop('3')).catch((error: Error) => error);
    // Assess
    expect(notHolder).toBeInstanceOf(ConflictError);
    expect([first, repeated]).toEqual([1, 1]);
    expect((await registry.listHeldBackDrops('held', 0)).map((h) => [h.seq, h.drop.key])).toEqual([
      [1, 'incoming/held/1.csv'],
      [2, 'incoming/held/2.csv'],
    ]);
    expect((await registry.listHeldBackDrops('held', 1)).map((h) => h.seq)).toEqual([2]);
  });
});
