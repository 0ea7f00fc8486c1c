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
import { loadHeldBackDrops } from '../../lambdas/shared/pipeline.ts';
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

beforeAll(async () => {
  emulators = await startTestEmulators();
  await prepareHandlerEnvironment({ bucket: BUCKET, table: TABLE, logTable: 'driftline-columns-log' });
  const { Registry } = await import('../../lambdas/shared/registry.ts');
  registry = new Registry(registryTables(TABLE));
  pipeline = await loadPipeline();
  const spec = JSON.parse(readFileSync(`${repo}data/specs/${MODEL}.json`, 'utf8'));
  await registry.putSpec(MODEL, { ...spec, search: { strategy: 'none' }, hyperparameters: { nTrees: 20 } });
}, 60_000);

afterAll(async () => emulators?.close());

/** Uploads `lines` under `head` and runs the state machine on its S3 event, as EventBridge starts it. */
async function runDrop(name: string, head: string, lines: string[]) {
  const key = `incoming/${MODEL}/${name}`;
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
