/**
 * The history window through the real state machine (handlers in process, S3 and DynamoDB emulators on
 * loopback): a tabular model whose spec keeps 300 rows merges past its window. The baseline keeps the
 * newest 300 rows, the lineage still lists every drop with what the window left out, a repeated merge
 * writes the same dataset, and drift compares the next drop with the window, not the whole history.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MergeResult, RunInput } from '../../lambdas/shared/contract.ts';
import type { DropsManifest } from '../../lambdas/shared/lineage.ts';
import type { Registry } from '../../lambdas/shared/registry.ts';
import { registryTables, startTestEmulators, type TestEmulators } from '../support/emulators.ts';
import {
  type LocalPipeline,
  loadPipeline,
  loadSteps,
  noDrift,
  prepareHandlerEnvironment,
  retrainEvent,
  type Steps,
  uploadDrop,
} from '../support/pipeline-steps.ts';

const BUCKET = 'driftline-window-data';
const TABLE = 'driftline-window-registry';
const LOG_TABLE = 'driftline-window-predictions';
const MODEL = 'breast-cancer';
const WINDOW = 300;
const repo = new URL('../../', import.meta.url).pathname;
const [header, ...rows] = readFileSync(`${repo}data/breast-cancer.csv`, 'utf8').trim().split('\n');
/** The shipped spec, trained small (the window, not the forest, is under test). */
const stored = {
  ...JSON.parse(readFileSync(`${repo}data/specs/${MODEL}.json`, 'utf8')),
  search: { strategy: 'none' },
  hyperparameters: { nTrees: 10 },
  history: { rows: WINDOW },
};

let emulators: TestEmulators;
let registry: Registry;
let steps: Steps;
let pipeline: LocalPipeline;
/** The same state machine, its drift gate answering "no drift", so the second drop is held back. */
let noDriftPipeline: LocalPipeline;
/** What a second attempt of the merge step returned, when a test asks for one. */
let mergeRetry: MergeResult | undefined;
let retryMerge = false;
let executions = 0;

beforeAll(async () => {
  emulators = await startTestEmulators();
  await prepareHandlerEnvironment({ bucket: BUCKET, table: TABLE, logTable: LOG_TABLE });
  const { Registry } = await import('../../lambdas/shared/registry.ts');
  registry = new Registry(registryTables(TABLE));
  steps = await loadSteps();
  // At-least-once delivery: the merge step runs again, after it succeeded, before featurize reads its result.
  pipeline = await loadPipeline({
    beforeInvoke: async (key, event) => {
      if (key !== 'featurize' || !retryMerge) return;
      const { run } = event as { run: RunInput['run'] };
      mergeRetry = await steps.merge({ run });
    },
  });
  noDriftPipeline = await loadPipeline({ handlers: { drift: noDrift } });
  await registry.putSpec(MODEL, stored);
}, 60_000);

afterAll(async () => emulators?.close());

/** Uploads `lines` as a drop and runs the state machine on its event. */
async function runDrop(on: LocalPipeline, name: string, lines: string[]) {
  const event = await uploadDrop(
    BUCKET,
    `incoming/${MODEL}/${name}.csv`,
    `${[header, ...lines].join('\n')}\n`,
  );
  const execution = await on.run(event, `exec-${++executions}`);
  expect(execution.status, execution.cause).toBe('SUCCEEDED');
  return execution;
}

async function manifestOf(key: string): Promise<DropsManifest> {
  const { getJson } = await import('../../lambdas/shared/storage.ts');
  return getJson<DropsManifest>(BUCKET, key);
}

describe('a history window of 300 rows', () => {
  it('keeps the newest 300 rows as the baseline, lists every drop in the lineage, and merges the same again on a retry', async () => {
    // Prepare: a first model on 250 rows, then 250 more rows held back without drift
    const first = await runDrop(pipeline, 'first', rows.slice(0, 250));
    const held = await runDrop(noDriftPipeline, 'second', rows.slice(250, 500));
    expect(held.state.registration?.outcome).toBe('no_drift');

    // Act: a retrain merges 250 + 250 rows past the window; its merge runs twice
    retryMerge = true;
    const retrain = await pipeline.run(retrainEvent(MODEL), `exec-${++executions}`);
    retryMerge = false;

    // Assess: the first dataset was within the window
    expect(first.state.merge).toMatchObject({
      rows: 250,
      history: { window: { rows: WINDOW }, rowsMerged: 250, outOfWindow: 0, totalDrops: 1 },
    });
    // Assess: the retrain's dataset is the newest 300 rows, and says what the window left out
    expect(retrain.status, retrain.cause).toBe('SUCCEEDED');
    const merged = retrain.state.merge!;
    expect(merged).toMatchObject({
      rows: WINDOW,
      drops: { count: 1 },
      history: { window: { rows: WINDOW }, rowsMerged: 500, outOfWindow: 200, totalDrops: 2 },
    });
    const baseline = await registry.getBaseline(MODEL);
    expect(baseline).toMatchObject({ rows: WINDOW, datasetKey: merged.datasetKey });
    const { loadTable } = await import('../../lambdas/shared/pipeline.ts');
    const dataset = await loadTable(BUCKET, merged.datasetKey);
    const radius = (table: typeof dataset) => Array.from(table.columns[0].values as Float64Array);
    const newest = rows.slice(200, 500).map((line) => Number(line.split(',')[0]));
    expect(radius(dataset)).toEqual(newest);
    // Assess: the retried merge wrote the same dataset and the same lineage
    expect(mergeRetry).toEqual(merged);
    // Assess: the lineage lists every drop: this run's manifest, and through its baseline link the first's
    const manifest = await manifestOf(merged.drops.key);
    expect(manifest.drops.map((drop) => drop.key)).toEqual([`incoming/${MODEL}/second.csv`]);
    expect(manifest.history).toEqual(merged.history);
    const previous = await manifestOf(first.state.merge!.drops.key);
    expect(manifest.baseline?.runId).toBe(previous.runId);
    expect(previous.drops.map((drop) => drop.key)).toEqual([`incoming/${MODEL}/first.csv`]);
    // Assess: `driftline lineage` walks that chain back from the baseline and lists both drops
    const { lineageFrom } = await import('../../lambdas/shared/lineage.ts');
    const { getJson } = await import('../../lambdas/shared/storage.ts');
    const walked: DropsManifest[] = [];
    for await (const entry of lineageFrom(MODEL, baseline?.runId, (key) => getJson(BUCKET, key)))
      walked.push(entry);
    expect(walked).toEqual([manifest, previous]);
    const { describeLineage } = await import('../../bin/commands/remote.ts');
    const described = describeLineage(walked);
    expect(described.rows.map((row) => [row.run, row.drop, row.rows])).toEqual([
      [retrain.name, `incoming/${MODEL}/second.csv`, '250'],
      [first.name, `incoming/${MODEL}/first.csv`, '250'],
    ]);
    expect(described.summary).toBe(
      `2 drops merged by 2 runs; the latest dataset (run ${retrain.name}) keeps 300 rows, its 300-row window leaving out the 200 older of 500`,
    );
    // Assess: the version and the run record carry the same history
    const version = await registry.getVersion(MODEL, retrain.state.registration!.version!);
    expect(version?.lineage.history).toEqual(merged.history);
    const run = await registry.getRun(MODEL, retrain.state.run!.startedAt, retrain.name);
    expect(run?.dataset).toEqual({
      key: merged.datasetKey,
      rows: WINDOW,
      drops: merged.drops,
      history: merged.history,
    });
    const { formatDataset } = await import('#core/report/format.ts');
    expect(formatDataset(run?.dataset)).toBe(
      '300 rows, 200 older left out by the 300-row window · 1 drop merged, 2 in all',
    );
  }, 120_000);

  it('drifts against the window the spec says now, though the stored baseline is longer', async () => {
    // Prepare: the window lowered to 280 rows after the 300-row baseline was merged
    await registry.putSpec(MODEL, { ...stored, history: { rows: 280 } });
    // Act
    const execution = await runDrop(pipeline, 'third', rows.slice(500));
    // Assess: every column was compared with the newest 280 baseline rows
    const drift = execution.state.drift!;
    expect(drift.columns.length).toBeGreaterThan(0);
    expect(new Set(drift.columns.map((column) => column.referenceRows))).toEqual(new Set([280]));
    const { getJson } = await import('../../lambdas/shared/storage.ts');
    const report = await getJson<{ referenceRows: number; referenceWindow: unknown }>(
      BUCKET,
      drift.reportKey,
    );
    expect(report).toMatchObject({ referenceRows: 280, referenceWindow: { rows: 280 } });
  }, 120_000);
});
