/**
 * A forecast drop whose months leave a gap after the model's data, tested as drifted (so its run merges
 * it at once): the run fails in merge naming the missing months. Its drop is not kept for later runs (a
 * failed run's drop never is), so uploading the missing months alone never brought its months in; the
 * reason said only "upload a drop with those months", and the drop was lost to whoever followed it.
 * The state machine itself runs, its handlers in process, on the emulators; the drift gate is a stub
 * that finds drift (the branch under test).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftResult } from '../../lambdas/shared/contract.ts';
import type { Registry } from '../../lambdas/shared/registry.ts';
import { registryTables, startTestEmulators, type TestEmulators } from '../support/emulators.ts';
import {
  type LocalPipeline,
  loadPipeline,
  noDrift,
  prepareHandlerEnvironment,
  uploadDrop,
} from '../support/pipeline-steps.ts';

const BUCKET = 'driftline-gap-data';
const TABLE = 'driftline-gap-registry';
const MODEL = 'air-passengers';
const repo = new URL('../../', import.meta.url).pathname;
const [header, ...months] = readFileSync(`${repo}data/air-passengers.csv`, 'utf8').trim().split('\n');

let emulators: TestEmulators;
let registry: Registry;
let pipeline: LocalPipeline;

/** The drift gate finding drift in the run's drop. */
async function drifted(event: unknown): Promise<DriftResult> {
  return { ...(await noDrift(event)), status: 'drift', share: 1, summary: 'drift (stub)' };
}

beforeAll(async () => {
  emulators = await startTestEmulators();
  await prepareHandlerEnvironment({ bucket: BUCKET, table: TABLE, logTable: 'driftline-gap-log' });
  const { Registry } = await import('../../lambdas/shared/registry.ts');
  registry = new Registry(registryTables(TABLE));
  pipeline = await loadPipeline({ handlers: { drift: drifted } });
  const spec = JSON.parse(readFileSync(`${repo}data/specs/${MODEL}.json`, 'utf8'));
  await registry.putSpec(MODEL, { ...spec, search: { strategy: 'none' }, hyperparameters: { nTrees: 20 } });
}, 60_000);

afterAll(async () => emulators?.close());

const csv = (lines: string[]) => `${[header, ...lines].join('\n')}\n`;

describe('a forecast drop that leaves a gap after the model data', () => {
  it('fails its run naming the missing months and telling to upload this drop again after them', async () => {
    // Prepare: a first model on 1949-1956
    const first = await uploadDrop(BUCKET, `incoming/${MODEL}/1949-1956.csv`, csv(months.slice(0, 96)));
    const trained = await pipeline.run(first, 'exec-1');
    expect(trained.status, trained.cause).toBe('SUCCEEDED');
    // Act: 1958 arrives before 1957
    const key = `incoming/${MODEL}/1958.csv`;
    const early = await pipeline.run(await uploadDrop(BUCKET, key, csv(months.slice(108, 120))), 'exec-2');
    // Assess
    expect([early.status, early.error]).toEqual(['FAILED', 'InvalidDataError']);
    expect(early.cause).toContain('misses 12 month(s) (1957-01, 1957-02, 1957-03, …)');
    expect(early.cause).toContain(`then upload ${key} again: a failed run's drop is not kept`);
  }, 120_000);
});
