/**
 * Held-back drops must not grow any item or any state payload: 2,000 consecutive drops without drift, then
 * one retrain that merges them all. Every registry item stays under DynamoDB's 400 KB and every state
 * (what Step Functions holds after each step) under 256 KB; the sizes are printed.
 *
 * The first model, the last {@link THROUGH_HANDLERS} drops and the retrain run the state machine itself
 * (handlers in process; for the drops, a drift gate that answers no drift, the branch under test: about
 * 0.3 s each, mostly the report page register renders); the drops before are held with the same registry
 * write register makes, under the run lease, so the test takes a minute rather than ten. The state sizes
 * are read from the executions' histories.
 */
import { readFileSync } from 'node:fs';
import { DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ModelSpec, parseSpec } from '#core/spec.ts';
import { encodeTable } from '#core/table-file.ts';
import { validateDrop } from '#core/validate.ts';
import type { DropsManifest } from '../../lambdas/shared/lineage.ts';
import type { Registry } from '../../lambdas/shared/registry.ts';
import { STATE_PAYLOAD_LIMIT_BYTES } from '../../local/stepfunctions.ts';
import { registryTables, startTestEmulators, type TestEmulators } from '../support/emulators.ts';
import {
  type LocalPipeline,
  loadPipeline,
  noDrift,
  type PipelineExecution,
  prepareHandlerEnvironment,
} from '../support/pipeline-steps.ts';

const BUCKET = 'driftline-held-data';
const TABLE = 'driftline-held-registry';
const LOG_TABLE = 'driftline-held-predictions';
const MODEL = 'breast-cancer';
const DROPS = 2_000;
const THROUGH_HANDLERS = 25;
const ITEM_LIMIT_BYTES = 400 * 1024;
const repo = new URL('../../', import.meta.url).pathname;
const [header, ...rows] = readFileSync(`${repo}data/breast-cancer.csv`, 'utf8').trim().split('\n');

let emulators: TestEmulators;
let registry: Registry;
let pipeline: LocalPipeline;
/** The same state machine, its drift gate answering "no drift" (the branch this test is about). */
let noDriftPipeline: LocalPipeline;
let executions = 0;
let spec: ModelSpec;

beforeAll(async () => {
  emulators = await startTestEmulators();
  await prepareHandlerEnvironment({ bucket: BUCKET, table: TABLE, logTable: LOG_TABLE });
  const { Registry } = await import('../../lambdas/shared/registry.ts');
  registry = new Registry(registryTables(TABLE));
  pipeline = await loadPipeline();
  noDriftPipeline = await loadPipeline({ handlers: { drift: noDrift } });
  const stored = {
    ...JSON.parse(readFileSync(`${repo}data/specs/${MODEL}.json`, 'utf8')),
    search: { strategy: 'random', trials: 2 },
    hyperparameters: { nTrees: 20 },
  };
  await registry.putSpec(MODEL, stored);
  spec = parseSpec(stored);
}, 60_000);

afterAll(async () => emulators?.close());

const s3 = () => new S3Client({ forcePathStyle: true });

/** Uploads a drop and returns the state machine's input for it (the S3 event) and the run's id. */
async function drop(key: string, lines: string[]) {
  const body = `${[header, ...lines].join('\n')}\n`;
  const { ETag } = await s3().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  executions++;
  return {
    event: {
      source: 'aws.s3' as const,
      detail: { bucket: { name: BUCKET }, object: { key, size: body.length, etag: ETag } },
    },
    runId: `exec-${executions}`,
    startedAt: new Date(Date.UTC(2026, 0, 1) + executions * 1000).toISOString(),
  };
}

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value ?? null));

/** The size of every item of the registry table, as its DynamoDB JSON (an upper bound of its item size). */
async function itemSizes(): Promise<{ sk: string; size: number }[]> {
  const sizes: { sk: string; size: number }[] = [];
  for await (const page of paginateScan({ client: new DynamoDBClient({}) }, { TableName: TABLE })) {
    for (const item of page.Items ?? []) sizes.push({ sk: item.SK.S ?? '', size: bytes(item) });
  }
  return sizes;
}

describe('2,000 drops held back without drift', () => {
  it('keeps every item under 400 KB and every state payload under 256 KB, and the retrain merges them all', async () => {
    // Prepare: the first model
    const first = await drop(`incoming/${MODEL}/first.csv`, rows.slice(0, 400));
    const payloads: { step: string; size: number }[] = [];
    const run = async (on: LocalPipeline, input: { event: unknown; runId: string }) => {
      const execution = await on.run(input.event, input.runId);
      expect(execution.status, execution.cause).toBe('SUCCEEDED');
      payloads.push(...stateSizes(execution));
      return execution;
    };
    await run(pipeline, first);

    // Act: 2,000 drops of one benign and one malignant row (a classifier's drop needs both classes), each
    // recorded as no drift (the branch the drift gate takes)
    const later = rows.slice(400);
    const ofClass = (label: string) => later.filter((line) => line.endsWith(`,${label}`));
    const [malignant, benign] = [ofClass('0'), ofClass('1')];
    const linesOf = (i: number) => [malignant[i % malignant.length], benign[i % benign.length]];
    const bulk = Array.from({ length: DROPS - THROUGH_HANDLERS }, (_, i) => i);
    // The files first, 16 uploads at a time (the order of the runs is what matters, not of the uploads).
    const inputs = await inBatches(bulk, 16, async (i) => {
      const input = await drop(`incoming/${MODEL}/held-${i}.csv`, linesOf(i));
      await storeTableAsValidateDoes(input, linesOf(i));
      return input;
    });
    for (const input of inputs) await holdBackAsRegisterDoes(input);
    for (let i = DROPS - THROUGH_HANDLERS; i < DROPS; i++) {
      const held = await run(noDriftPipeline, await drop(`incoming/${MODEL}/held-${i}.csv`, linesOf(i)));
      expect(held.state.registration?.outcome).toBe('no_drift');
    }
    // Act: a scheduled retrain merges the baseline and every held-back drop
    const schedule = {
      event: { source: 'driftline.schedule', detail: { model: MODEL } },
      runId: 'exec-schedule',
    };
    const retrain = await run(pipeline, schedule);
    const merged = retrain.state.merge!;

    // Assess: sizes, printed
    const items = await itemSizes();
    const largestItem = items.reduce((a, b) => (b.size > a.size ? b : a));
    const largestPayload = payloads.reduce((a, b) => (b.size > a.size ? b : a));
    console.log(
      `${items.length} registry items, largest ${largestItem.size} B (${largestItem.sk}); ` +
        `${payloads.length} states, largest ${largestPayload.size} B (after ${largestPayload.step}); ` +
        `merge of ${DROPS} held-back drops returned ${bytes(merged)} B in ${stateMs(retrain, 'Merge')} ms`,
    );
    expect(largestItem.size).toBeLessThan(ITEM_LIMIT_BYTES);
    expect(largestPayload.size).toBeLessThan(STATE_PAYLOAD_LIMIT_BYTES);
    // Assess: every held-back drop is in the retrain's lineage, and none is held any longer
    const object = await s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: merged.drops.key }));
    const manifest = JSON.parse(await object.Body!.transformToString()) as DropsManifest;
    expect(manifest.drops).toHaveLength(DROPS);
    expect(merged.drops.count).toBe(DROPS);
    const { loadHeldBackDrops } = await import('../../lambdas/shared/pipeline.ts');
    expect(await loadHeldBackDrops(registry, MODEL)).toEqual([]);
    expect((await registry.getBaseline(MODEL))?.heldThrough).toBe(DROPS);
  }, 900_000);
});

/** Where validate stores a drop's validated table (as `keys.dropTable` names it). */
const tableKey = (runId: string) => `tables/${MODEL}/${runId}.table`;

/** What validate stores for a drop that passes: its validated table. */
async function storeTableAsValidateDoes(input: Awaited<ReturnType<typeof drop>>, lines: string[]) {
  const report = await validateDrop(`${[header, ...lines].join('\n')}\n`, spec, { laterDrop: true });
  await s3().send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: tableKey(input.runId),
      Body: encodeTable({ table: report.table! }),
    }),
  );
}

/** What admit and register write for a drop without drift: a run record, and the drop held back under the lease. */
async function holdBackAsRegisterDoes(input: Awaited<ReturnType<typeof drop>>) {
  const { runId, startedAt } = input;
  const { key, size, etag } = input.event.detail.object;
  const dropRef = {
    bucket: BUCKET,
    key,
    size,
    etag: (etag ?? '').replaceAll('"', ''),
    table: tableKey(runId),
  };
  const run = { model: MODEL, runId, startedAt };
  expect(await registry.acquireLease(MODEL, runId, Date.now(), Date.now() + 60_000)).toEqual({
    acquired: true,
  });
  await registry.holdBackDrop(run, dropRef);
  await registry.releaseLease(MODEL, runId);
}

/** `task` of every item, `size` at a time, results in item order. */
async function inBatches<T, R>(items: T[], size: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    results.push(...(await Promise.all(items.slice(i, i + size).map(task))));
  }
  return results;
}

/** The size of the state after each top-level state of an execution, as Step Functions holds it. */
function stateSizes(execution: PipelineExecution): { step: string; size: number }[] {
  return execution.history.flatMap((event) =>
    event.type === 'StateExited' && event.index === undefined
      ? [{ step: event.state.name, size: bytes(event.state.output) }]
      : [],
  );
}

/** How long a top-level state of an execution took, in ms. */
function stateMs(execution: PipelineExecution, name: string): number {
  const at = (type: string) =>
    execution.history.find((event) => event.type === type && 'state' in event && event.state.name === name)
      ?.timestamp ?? Number.NaN;
  return at('StateExited') - at('StateEntered');
}
