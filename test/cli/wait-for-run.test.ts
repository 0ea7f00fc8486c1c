/**
 * `driftline upload` and `driftline retrain` follow their run in the registry until it ends. They looked
 * for it among the model's 20 newest runs only, so when more than 20 runs started after it (a burst of
 * uploads queued behind one another) they never saw it end and gave up after 15 minutes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForRun } from '../../bin/commands/remote.ts';
import type { Target } from '../../bin/target.ts';
import { Registry } from '../../lambdas/shared/registry.ts';
import {
  createRegistryTable,
  registryTables,
  startTestEmulators,
  type TestEmulators,
} from '../support/emulators.ts';

const MODEL = 'burst';
let emulators: TestEmulators;
let registry: Registry;

beforeAll(async () => {
  emulators = await startTestEmulators();
  await createRegistryTable('wait-registry');
  registry = new Registry(registryTables('wait-registry'));
});
afterAll(async () => emulators?.close());

describe('waitForRun', () => {
  it('finds a run that ended behind more than a page of newer runs, by drop and by run id', async () => {
    // Prepare: the run of one drop has ended; 30 runs of later drops started after it and are queued
    const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();
    const key = `incoming/${MODEL}/mine.csv`;
    const drop = (name: string) => ({ bucket: 'b', key: name, etag: 'e', size: 1 });
    await registry.startRun({
      model: MODEL,
      runId: 'mine',
      startedAt: at(0),
      trigger: 'drop',
      status: 'succeeded',
      step: 'done',
      outcome: 'no_drift',
      drop: drop(key),
    });
    for (let i = 1; i <= 30; i++)
      await registry.startRun({
        model: MODEL,
        runId: `later-${i}`,
        startedAt: at(i),
        trigger: 'drop',
        status: 'running',
        step: 'queued behind run later-1',
        drop: drop(`incoming/${MODEL}/later-${i}.csv`),
      });
    const target = { registry } as Target;
    // Act
    const byDrop = await waitForRun(target, MODEL, key, { quiet: true, timeoutMs: 5_000, since: at(0) });
    const byRunId = await waitForRun(
      target,
      MODEL,
      { runId: 'mine' },
      { quiet: true, timeoutMs: 5_000, since: at(0) },
    );
    // Assess
    expect([byDrop.runId, byDrop.status, byRunId.runId]).toEqual(['mine', 'succeeded', 'mine']);
  });
});
