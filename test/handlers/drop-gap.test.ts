/**
 * A forecast drop whose months leave a gap after the model's data, tested as drifted (so its run merges
 * it at once): the run fails in merge naming the missing months. Its drop is not kept for later runs (a
 * failed run's drop never is), so uploading the missing months alone never brought its months in; the
 * reason said only "upload a drop with those months", and the drop was lost to whoever followed it.
 * The same drop without drift was held back, and from then on every retrain failed in merge, not
 * naming it (a year typed 2061 for 1957 left 1,248 months missing for ever); the drift gate now
 * refuses such a drop, drifted or not, naming it and the months.
 * The state machine itself runs, its handlers in process, on the emulators; the first case's drift gate
 * is a stub that finds drift (the merge branch under test), the others' the real one.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftResult } from '../../lambdas/shared/contract.ts';
import { loadHeldBackDrops, loadTable } from '../../lambdas/shared/pipeline.ts';
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
/** The pipeline with its real drift gate. */
let gated: LocalPipeline;
/** The pipeline with a drift gate that finds no drift and checks nothing (as before the gate's month check). */
let ungated: LocalPipeline;
let spec: Record<string, unknown>;

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
  gated = await loadPipeline();
  ungated = await loadPipeline({ handlers: { drift: noDrift } });
  spec = {
    ...JSON.parse(readFileSync(`${repo}data/specs/${MODEL}.json`, 'utf8')),
    search: { strategy: 'none' },
    hyperparameters: { nTrees: 20 },
  };
  await registry.putSpec(MODEL, spec);
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

describe('a forecast drop that would leave a gap after the model data, at the real drift gate', () => {
  it('fails at the drift gate naming its key and the months, is not held back, and later drops go on', async () => {
    // Prepare: a first model on 1949-1956
    const model = 'air-gated';
    await registry.putSpec(model, { ...spec, name: model });
    const upload = async (name: string, lines: string[]) => {
      const key = `incoming/${model}/${name}`;
      return { key, execution: await gated.run(await uploadDrop(BUCKET, key, csv(lines)), name) };
    };
    const first = await upload('1949-1956.csv', months.slice(0, 96));
    expect(first.execution.status, first.execution.cause).toBe('SUCCEEDED');
    // Act: 1957 with a typo in its years (2061), and 1958 before 1957; then 1957 and 1958 in order
    const typo = await upload(
      '2061.csv',
      months.slice(96, 108).map((line) => line.replace(/^1957/, '2061')),
    );
    const early = await upload('1958-early.csv', months.slice(108, 120));
    const y1957 = await upload('1957.csv', months.slice(96, 108));
    const y1958 = await upload('1958.csv', months.slice(108, 120));
    // Assess: the two bad drops failed at drift naming their key and the months they leave missing
    for (const [{ key, execution }, missing] of [
      [typo, '1248 month(s) (1957-01, 1957-02, 1957-03, …)'],
      [early, '12 month(s) (1957-01, 1957-02, 1957-03, …)'],
    ] as const) {
      expect([execution.status, execution.error]).toEqual(['FAILED', 'InvalidDataError']);
      expect(execution.cause).toBe(
        `drift failed (InvalidDataError): ${key} leaves ${missing} missing between the model's data and its months; it is not held back, as it would fail every retrain until they came. Check its months, or upload a drop with the missing ones, then upload ${key} again`,
      );
    }
    // Assess: neither was held back; the good drops went on and the model's data reaches 1958-12
    for (const { execution } of [y1957, y1958]) expect(execution.status, execution.cause).toBe('SUCCEEDED');
    expect(await loadHeldBackDrops(registry, model)).toEqual([]);
    const baseline = await registry.getBaseline(model);
    const dataset = await loadTable(BUCKET, baseline!.datasetKey);
    const time = dataset.columns.find((column) => column.name === 'month')!.values;
    expect([time[0], time.at(-1), dataset.rowCount]).toEqual(['1949-01', '1958-12', 120]);
  }, 120_000);

  it('passes a drop that follows a held-back drop rather than the model data', async () => {
    // Prepare: a model on 1949-1958, and 1959-1960 held back without drift (as in the README's tour)
    const model = 'air-follows';
    await registry.putSpec(model, { ...spec, name: model });
    const upload = async (name: string, lines: string[]) =>
      gated.run(await uploadDrop(BUCKET, `incoming/${model}/${name}`, csv(lines)), `${model}-${name}`);
    const first = await upload('1949-1958.csv', months.slice(0, 120));
    expect(first.status, first.cause).toBe('SUCCEEDED');
    const held = await upload('1959-1960.csv', months.slice(120, 144));
    expect(held.state.registration?.outcome).toBe('no_drift');
    // Act: 1960's figures again as 1961, which adjoins the held-back drop only
    const next = await upload(
      '1961.csv',
      months.slice(132, 144).map((line) => line.replace(/^1960/, '1961')),
    );
    // Assess
    expect(next.status, next.cause).toBe('SUCCEEDED');
  }, 120_000);

  it('names a held-back drop that waits for missing months (held before the gate) when a retrain fails', async () => {
    // Prepare: a model on 1949-1956, and 1957 typed 2061 held back by a gate that did not check months
    const model = 'air-legacy';
    await registry.putSpec(model, { ...spec, name: model });
    const key = `incoming/${model}/2061.csv`;
    const first = await gated.run(
      await uploadDrop(BUCKET, `incoming/${model}/1949-1956.csv`, csv(months.slice(0, 96))),
      `${model}-1`,
    );
    expect(first.status, first.cause).toBe('SUCCEEDED');
    const typo = months.slice(96, 108).map((line) => line.replace(/^1957/, '2061'));
    const held = await ungated.run(await uploadDrop(BUCKET, key, csv(typo)), `${model}-2`);
    expect(held.state.registration?.outcome).toBe('no_drift');
    // Act
    const retrain = await gated.run({ source: 'driftline.retrain', detail: { model } }, `${model}-3`);
    // Assess
    expect([retrain.status, retrain.error]).toEqual(['FAILED', 'InvalidDataError']);
    expect(retrain.cause).toBe(
      `merge failed (InvalidDataError): the merged series misses 1188 month(s) (1962-01, 1962-02, 1962-03, …); held-back drops waiting for them: ${key}; upload a drop with those months`,
    );
  }, 120_000);
});
