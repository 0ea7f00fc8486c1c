/**
 * The register step called the way Step Functions calls it, retries included, against the emulators:
 * a retried register reuses its run's version and reports what the first attempt decided; a candidate
 * that lost a promotion race ends `superseded`, never left in `staging`.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PairedComparison } from '#core/paired-bootstrap.ts';
import type { Evaluation, RegisterInput, SpecRef } from '../../lambdas/shared/contract.ts';
import type { Registry } from '../../lambdas/shared/registry.ts';
import { registryTables, startTestEmulators, type TestEmulators } from '../support/emulators.ts';
import { lambda, prepareHandlerEnvironment } from '../support/pipeline-steps.ts';

const TABLE = 'register-test-registry';
const MODEL = 'air-passengers';
const repo = new URL('../../', import.meta.url).pathname;

let emulators: TestEmulators;
let registry: Registry;
let register: (input: RegisterInput) => Promise<{ outcome: string; version?: number; decision: string }>;
let runs = 0;
/** The spec every run here started with. */
let spec: SpecRef;
/** The run whose dataset is the baseline: each run here merges from the one before it. */
let baselineRunId: string | undefined;

beforeAll(async () => {
  emulators = await startTestEmulators();
  await prepareHandlerEnvironment({ bucket: 'register-test', table: TABLE, logTable: 'register-test-log' });
  const { Registry } = await import('../../lambdas/shared/registry.ts');
  registry = new Registry(registryTables(TABLE));
  register = lambda(await import('../../lambdas/register/handler.ts'));
  await registry.putSpec(MODEL, JSON.parse(readFileSync(`${repo}data/specs/air-passengers.json`, 'utf8')));
  const { pinSpec } = await import('../../lambdas/shared/pipeline.ts');
  spec = (await pinSpec(registry, 'register-test', MODEL, 'spec-run')).ref;
});

afterAll(async () => emulators?.close());

/** The paired bootstrap evaluate hands on with a champion. */
const comparison = {
  metric: 'mape',
  difference: -1,
  interval: [-1.6, -0.4],
  confidence: 0.95,
  resamples: 2000,
  seed: 42,
  rows: 20,
} satisfies PairedComparison;

/** The input register gets for a run whose candidate beat `champion` (undefined: the first model). */
function promoteInput(champion: number | undefined): RegisterInput {
  const runId = `exec-${++runs}`;
  const evaluation: Evaluation = {
    promote: true,
    reason: champion === undefined ? 'first model' : `beats version ${champion}`,
    metric: 'mape',
    candidate: {
      metrics: { mape: 3 },
      params: {},
      engine: 'fast',
      seed: 42,
      artifact: { key: `models/${MODEL}/${runId}/model.bin`, sha256: 'x', bytes: 1 },
      featurizer: {},
      refitRows: 120,
    },
    ...(champion === undefined ? {} : { champion: { version: champion, metrics: { mape: 4 }, comparison } }),
    rows: { train: 100, holdout: 20 },
    holdoutKey: 'holdout',
    holdout: {
      rule: 'the last 20 periods',
      rows: 20,
      excludedSeenByChampion: 0,
      digest: 'd',
      championOverlap: 0,
    },
  };
  const merge = {
    datasetKey: `datasets/${runId}.csv`,
    sha256: 's',
    rows: 120,
    drops: { key: `datasets/${runId}.drops.json`, count: 1 },
    baselineRunId,
    heldThrough: 0,
    inputs: 1,
    overlapping: 0,
    duplicatesRemoved: 0,
    history: { window: { months: 1200 }, rowsMerged: 120, outOfWindow: 0, totalDrops: 2 },
  };
  baselineRunId = runId;
  return {
    outcome: 'promote',
    run: {
      model: MODEL,
      runId,
      startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, runs)).toISOString(),
      bucket: 'register-test',
      trigger: 'drop',
      spec,
    },
    merge,
    evaluation,
    trials: [],
  };
}

describe('register', () => {
  it('reuses the version of its run when retried, and reports the promotion that took effect', async () => {
    // Prepare
    const input = promoteInput(undefined);
    // Act
    const first = await register(input);
    const retried = await register(input);
    // Assess
    expect(first).toMatchObject({ outcome: 'promoted', version: 1 });
    expect(retried).toMatchObject({ outcome: 'promoted', version: 1 });
    expect((await registry.listVersions(MODEL)).map((v) => v.version)).toEqual([1]);
    expect((await registry.listAudit(MODEL)).map((a) => a.action)).toEqual(['promote']);
  });

  it('reports the promotion of a retried run even after production moved on', async () => {
    // Prepare: run A promotes version 2, then a person rolls it back, then A's register is retried
    const input = promoteInput(1);
    await register(input);
    await registry.rollback(MODEL, { badVersion: 2, reason: 'by hand', actor: 'test' });
    // Act
    const retried = await register(input);
    // Assess
    expect(retried).toMatchObject({ outcome: 'promoted', version: 2 });
    expect((await registry.getVersion(MODEL, 2))?.stage).toBe('rolled_back');
    // The paired difference and its interval are on the version and on the run record.
    expect((await registry.getVersion(MODEL, 2))?.comparison).toEqual(comparison);
    const run = await registry.getRun(MODEL, input.run.startedAt, input.run.runId);
    expect(run?.comparison).toEqual(comparison);
    expect((await registry.listVersions(MODEL)).map((v) => v.version)).toEqual([2, 1]);
  });

  it('supersedes a candidate judged against a champion that no longer serves', async () => {
    // Prepare: a run is judged against version 1; while it finishes, a person promotes version 2 again
    const input = promoteInput(1);
    await registry.promote(MODEL, 2, { expected: 1, reason: 'by hand', actor: 'test' });
    // Act
    const registered = await register(input);
    // Assess
    expect(registered).toMatchObject({ outcome: 'superseded', version: 3 });
    const stages = Object.fromEntries((await registry.listVersions(MODEL)).map((v) => [v.version, v.stage]));
    expect(stages).toEqual({ 1: 'archived', 2: 'production', 3: 'superseded' });
    expect((await registry.getVersion(MODEL, 3))?.reason).toMatch(/production is 2, not 1/);
    expect((await registry.listAudit(MODEL)).at(-1)).toMatchObject({ action: 'supersede', fromVersion: 3 });
  });

  it("records each trial's scores on the run, without the per-month losses select chose by", async () => {
    // Prepare: a forecast trial as the search Map returns it
    const trial = {
      id: 'c0',
      variant: 'holt-winters-log',
      params: { nTrees: 10 },
      origin: 'spec',
      score: 2.5,
      metrics: { mape: 2.5 },
      seconds: 0.1,
      losses: [2, 3],
    };
    const input = { ...promoteInput(undefined), trials: [trial] };
    // Act
    await register(input);
    // Assess
    const run = await registry.getRun(MODEL, input.run.startedAt, input.run.runId);
    const { losses: _, ...recorded } = trial;
    expect(run?.trials).toEqual([recorded]);
  });
});
