/**
 * A file uploaded again under the same key, as the failure of a drop for a model without a spec tells the
 * user to do ("register one …, then upload the file again"). Its bytes are the same, so its ETag is; on a
 * bucket that keeps no versions (the local runtime's) nothing else told it from the first upload, and its
 * run ended at once as a duplicate delivery of the first upload's event: nothing ran, nothing was
 * recorded. The event's `sequencer` (S3 gives each write of a key its own) now tells them apart, and a
 * duplicate delivery of either event still starts no second run. The state machine itself runs, its
 * handlers in process, on the emulators.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from '../../lambdas/shared/registry.ts';
import { registryTables, startTestEmulators, type TestEmulators } from '../support/emulators.ts';
import { type LocalPipeline, loadPipeline, prepareHandlerEnvironment } from '../support/pipeline-steps.ts';

const BUCKET = 'driftline-again-data';
const TABLE = 'driftline-again-registry';
const MODEL = 'breast-cancer';
const KEY = `incoming/${MODEL}/data.csv`;
const repo = new URL('../../', import.meta.url).pathname;
const [header, ...rows] = readFileSync(`${repo}data/breast-cancer.csv`, 'utf8').trim().split('\n');
const body = `${[header, ...rows.slice(0, 300)].join('\n')}\n`;

let emulators: TestEmulators;
let registry: Registry;
let pipeline: LocalPipeline;

beforeAll(async () => {
  emulators = await startTestEmulators();
  await prepareHandlerEnvironment({ bucket: BUCKET, table: TABLE, logTable: 'driftline-again-log' });
  const { Registry } = await import('../../lambdas/shared/registry.ts');
  registry = new Registry(registryTables(TABLE));
  pipeline = await loadPipeline();
}, 60_000);

afterAll(async () => emulators?.close());

/** Writes `content` under `key`; returns the Object Created event S3 sends for that write. */
async function upload(sequencer: string, content = body, key = KEY) {
  const { ETag } = await new S3Client({ forcePathStyle: true }).send(
    new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: content }),
  );
  return {
    source: 'aws.s3',
    'detail-type': 'Object Created',
    detail: {
      bucket: { name: BUCKET },
      object: { key, size: content.length, etag: ETag!.replaceAll('"', ''), sequencer },
    },
  };
}

describe('the same file uploaded again under the same key', () => {
  it('is a new drop with its own run; a duplicate delivery of its event starts none', async () => {
    // Prepare: the first upload, before the model has a spec, fails its run saying what to do
    const first = await upload('0061F2A3B4C5D6E7F0');
    const refused = await pipeline.run(first, 'exec-1');
    expect(refused.cause).toMatch(/no spec is registered for model "breast-cancer".*upload the file again/);
    const spec = JSON.parse(readFileSync(`${repo}data/specs/${MODEL}.json`, 'utf8'));
    await registry.putSpec(MODEL, { ...spec, search: { strategy: 'none' }, hyperparameters: { nTrees: 20 } });

    // Act: the same bytes again (the same ETag; S3's next sequencer), and that event delivered twice
    const again = await upload('0061F2A3B4C5D6E800');
    expect(again.detail.object.etag).toBe(first.detail.object.etag);
    const ran = await pipeline.run(again, 'exec-2');
    const duplicate = await pipeline.run(again, 'exec-3');
    const firstAgain = await pipeline.run(first, 'exec-4');

    // Assess: the second upload trained the first model; the duplicates ran nothing
    expect(ran.status, ran.cause).toBe('SUCCEEDED');
    expect(ran.state.registration?.outcome).toBe('promoted');
    for (const execution of [duplicate, firstAgain]) {
      expect(execution.status).toBe('SUCCEEDED');
      expect(execution.history.some((e) => 'state' in e && e.state.name === 'Validate')).toBe(false);
    }
    const runs = await registry.listRuns(MODEL, 10);
    expect(runs.map((run) => [run.runId, run.status]).sort()).toEqual([
      ['exec-1', 'failed'],
      ['exec-2', 'succeeded'],
    ]);
  }, 120_000);

  it('reads the bytes its event named: a drop overwritten before its run read it fails saying so', async () => {
    // Prepare: two uploads under one key, the second before the first's run began (queued, say)
    const key = `incoming/${MODEL}/overwritten.csv`;
    const older = await upload(
      '0061F2A3B4C5D6E900',
      `${[header, ...rows.slice(300, 400)].join('\n')}\n`,
      key,
    );
    const newerBody = `${[header, ...rows.slice(400, 500)].join('\n')}\n`;
    const newer = await upload('0061F2A3B4C5D6EA00', newerBody, key);
    // Act
    const olderRun = await pipeline.run(older, 'exec-5');
    const newerRun = await pipeline.run(newer, 'exec-6');
    // Assess: the older upload's run read nothing of the newer bytes; the newer one's run read them
    expect([olderRun.status, olderRun.error]).toEqual(['FAILED', 'InvalidDataError']);
    expect(olderRun.cause).toContain(`${key} was replaced by a newer upload before this run read it`);
    expect(newerRun.status, newerRun.cause).toBe('SUCCEEDED');
    const newerRecord = (await registry.listRuns(MODEL, 10)).find((run) => run.runId === 'exec-6');
    expect(newerRecord?.drop?.sha256).toBe(createHash('sha256').update(newerBody).digest('hex'));
  }, 120_000);
});
