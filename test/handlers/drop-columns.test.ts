/**
 * A later drop of a tabular model whose columns are not the model's: the validation gate cannot tell (a
 * spec without `features` takes every column), so the drift gate, which holds both tables, must. Before
 * it did, a drop with an extra column passed drift (which compares the baseline's columns) and was held
 * back, and from then on every retrain failed in merge ("cannot merge tables with different columns"),
 * not naming the drop; a drop lacking a column failed drift with a RangeError about an option.
 * The state machine itself runs, its handlers in process, on the emulators.
 */
import { readFileSync } from 'node:fs';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHeldBackDrops, loadTable } from '../../lambdas/shared/pipeline.ts';
import type { Registry } from '../../lambdas/shared/registry.ts';
import { registryTables, startTestEmulators, type TestEmulators } from '../support/emulators.ts';
import { type LocalPipeline, loadPipeline, prepareHandlerEnvironment } from '../support/pipeline-steps.ts';

const BUCKET = 'driftline-columns-data';
const TABLE = 'driftline-columns-registry';
const MODEL = 'breast-cancer';
const repo = new URL('../../', import.meta.url).pathname;
const [header, ...rows] = readFileSync(`${repo}data/breast-cancer.csv`, 'utf8').trim().split('\n');

let emulators: TestEmulators;
let registry: Registry;
let pipeline: LocalPipeline;
let executions = 0;
let spec: Record<string, unknown>;

beforeAll(async () => {
  emulators = await startTestEmulators();
  await prepareHandlerEnvironment({ bucket: BUCKET, table: TABLE, logTable: 'driftline-columns-log' });
  const { Registry } = await import('../../lambdas/shared/registry.ts');
  registry = new Registry(registryTables(TABLE));
  pipeline = await loadPipeline();
  spec = {
    ...JSON.parse(readFileSync(`${repo}data/specs/${MODEL}.json`, 'utf8')),
    search: { strategy: 'none' },
    hyperparameters: { nTrees: 20 },
  };
  await registry.putSpec(MODEL, spec);
}, 60_000);

afterAll(async () => emulators?.close());

/** Uploads `lines` under `head` and runs the state machine on its S3 event, as EventBridge starts it. */
async function runDrop(name: string, head: string, lines: string[], model = MODEL) {
  const key = `incoming/${model}/${name}`;
  const body = `${[head, ...lines].join('\n')}\n`;
  const { ETag } = await new S3Client({ forcePathStyle: true }).send(
    new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }),
  );
  const event = {
    source: 'aws.s3',
    detail: { bucket: { name: BUCKET }, object: { key, size: body.length, etag: ETag } },
  };
  return { key, execution: await pipeline.run(event, `exec-${++executions}`) };
}

/** Runs a retrain of `model` (what `driftline retrain` starts). */
const retrain = (model: string) =>
  pipeline.run({ source: 'driftline.retrain', detail: { model } }, `exec-${++executions}`);

/** The names of a stored table's columns. */
const storedColumns = async (key: string) =>
  (await loadTable(BUCKET, key)).columns.map((column) => column.name);

const features = header.split(',').slice(0, -1);
const withNotes = (lines: string[]) => lines.map((line) => `${line},seen`);

describe('a later drop with other columns than the model', () => {
  it('fails its run at the drift gate naming the columns, is not held back, and leaves retrains working', async () => {
    // Prepare: a first model, and a drop of new rows like its own (no drift) that the next retrain merges
    const first = await runDrop('first.csv', header, rows.slice(0, 400));
    expect(first.execution.status, first.execution.cause).toBe('SUCCEEDED');
    const good = await runDrop('good.csv', header, rows.slice(400, 460));
    expect(good.execution.state.registration?.outcome).toBe('no_drift');

    // Act: the same rows with a column added, and with the first column left out
    const added = await runDrop(
      'added.csv',
      `${header},notes`,
      rows.slice(460, 520).map((line) => `${line},seen`),
    );
    const cut = (line: string) => line.slice(line.indexOf(',') + 1);
    const lacking = await runDrop('lacking.csv', cut(header), rows.slice(460, 520).map(cut));

    // Assess: each run failed at drift with InvalidDataError naming its key and the column
    const firstColumn = header.split(',')[0];
    for (const [{ key, execution }, column] of [
      [added, 'notes'],
      [lacking, firstColumn],
    ] as const) {
      expect({ key, status: execution.status, error: execution.error }).toEqual({
        key,
        status: 'FAILED',
        error: 'InvalidDataError',
      });
      expect(execution.cause).toMatch(/^drift failed \(InvalidDataError\): /);
      expect(execution.cause).toContain(key);
      expect(execution.cause).toContain(`"${column}"`);
    }
    // Assess: only the good drop is held back, and a retrain merges it
    expect((await loadHeldBackDrops(registry, MODEL)).map(({ drop }) => drop.key)).toEqual([good.key]);
    const retrain = await pipeline.run(
      { source: 'driftline.retrain', detail: { model: MODEL } },
      'exec-retrain',
    );
    expect(retrain.status, retrain.cause).toBe('SUCCEEDED');
    expect(retrain.state.merge?.drops.count).toBe(1);
  }, 120_000);
});

describe('a spec listing its features, and a drop with a column it does not list', () => {
  it('ignores the column as validation warns: the drop is stored without it, held back and merged', async () => {
    // Prepare: a model whose spec lists its features, first trained on a file with an extra column
    const model = 'listed';
    await registry.putSpec(model, { ...spec, name: model, features });
    const first = await runDrop('first.csv', `${header},notes`, withNotes(rows.slice(0, 400)), model);
    expect(first.execution.status, first.execution.cause).toBe('SUCCEEDED');
    // Act: a drop with the extra column, then one without it
    const extra = await runDrop('extra.csv', `${header},notes`, withNotes(rows.slice(400, 460)), model);
    const plain = await runDrop('plain.csv', header, rows.slice(460, 520), model);
    const held = await loadHeldBackDrops(registry, model);
    const run = await retrain(model);
    // Assess: both drops held back (not refused), stored and merged without the column
    for (const { execution } of [extra, plain]) {
      expect(execution.status, execution.cause).toBe('SUCCEEDED');
      expect(execution.state.registration?.outcome).toBe('no_drift');
    }
    expect(extra.execution.state.validation?.warnings).toEqual([
      'column "notes" is not the target, the time or a listed feature; it will be ignored (add it to spec.features to use it)',
    ]);
    expect(held.map(({ drop }) => drop.key)).toEqual([extra.key, plain.key]);
    expect(await storedColumns(held[0].drop.table!)).not.toContain('notes');
    expect(run.status, run.cause).toBe('SUCCEEDED');
    expect(run.state.merge?.drops.count).toBe(2);
    expect(await storedColumns(run.state.merge!.datasetKey)).toEqual(header.split(','));
  }, 120_000);

  it('merges a drop without a column a dataset stored before keeps, once the spec lists its features', async () => {
    // Prepare: a model first trained with every column a feature, on a file with an extra column, so its
    // dataset keeps it; then its spec lists the features without that column
    const model = 'legacy';
    await registry.putSpec(model, { ...spec, name: model });
    const first = await runDrop('first.csv', `${header},notes`, withNotes(rows.slice(0, 400)), model);
    expect(first.execution.status, first.execution.cause).toBe('SUCCEEDED');
    const baseline = first.execution.state.merge!.datasetKey;
    expect(await storedColumns(baseline)).toContain('notes');
    await registry.putSpec(model, { ...spec, name: model, features });
    // Act: a drop without the column, then a retrain
    const plain = await runDrop('plain.csv', header, rows.slice(400, 460), model);
    const run = await retrain(model);
    // Assess: the drop is held back (its columns are the ones the spec uses) and merged
    expect(plain.execution.status, plain.execution.cause).toBe('SUCCEEDED');
    expect(plain.execution.state.registration?.outcome).toBe('no_drift');
    expect(run.status, run.cause).toBe('SUCCEEDED');
    expect(run.state.merge?.drops.count).toBe(1);
    expect(await storedColumns(run.state.merge!.datasetKey)).toEqual(header.split(','));
  }, 120_000);
});
