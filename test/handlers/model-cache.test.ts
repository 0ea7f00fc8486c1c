/**
 * The predict container's model cache keeps its promise about staleness (`MODEL_CACHE_TTL_SECONDS`): a
 * promotion serves within one TTL, and a container asked often enough never waits for the registry. Against
 * S3 and DynamoDB emulators on loopback, with an injected clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TabularFeaturizer } from '#core/features.ts';
import { getLearner } from '#core/forest/index.ts';
import { friedman1 } from '#core/forest/synthetic.ts';
import { type ModelMeta, packModel, sha256Hex } from '#core/model.ts';
import { ModelCache } from '../../lambdas/predict/model-cache.ts';
import { Registry } from '../../lambdas/shared/registry.ts';
import { putBytes } from '../../lambdas/shared/storage.ts';
import {
  createBucket,
  createRegistryTable,
  registryTables,
  startTestEmulators,
  type TestEmulators,
} from '../support/emulators.ts';
import { versionRecord } from '../support/versions.ts';

const BUCKET = 'driftline-model-cache';
const TABLE = 'driftline-model-cache-registry';
const MODEL = 'friedman';
const TTL_MS = 2000;

let emulators: TestEmulators;
let registry: Registry;

/** A small model artifact, as `register` writes it. */
async function artifact(): Promise<Uint8Array> {
  const data = friedman1(200, 5, 1, 5);
  const forest = await getLearner('fast').fit(data, { nTrees: 3 }, { seed: 1, workers: 1 });
  const featureNames = ['x0', 'x1', 'x2', 'x3', 'x4'];
  const featurizer: TabularFeaturizer = {
    kind: 'tabular',
    task: 'regression',
    target: 'y',
    numeric: featureNames.map((name) => ({ name, fill: 0.5, min: 0, max: 1 })),
    categorical: [],
    featureNames,
  };
  const meta: ModelMeta = {
    model: MODEL,
    task: 'regression',
    engine: 'fast',
    params: forest.params,
    seed: 1,
    signature: { target: 'y', features: featureNames },
    data: { rows: 200, trainRows: 200, holdoutRows: 0 },
    metrics: {},
    codeVersion: 'test',
    createdAt: '2026-12-05T00:00:00.000Z',
  };
  return packModel({ meta, featurizer, forest });
}

beforeAll(async () => {
  emulators = await startTestEmulators();
  await createBucket(BUCKET);
  await createRegistryTable(TABLE);
  registry = new Registry(registryTables(TABLE));
  await registry.putSpec(MODEL, { name: MODEL });
  const bytes = await artifact();
  for (const n of [1, 2]) {
    const record = versionRecord(MODEL, n, 'none');
    record.artifact = { key: record.artifact.key, sha256: sha256Hex(bytes), bytes: bytes.length };
    await putBytes(BUCKET, record.artifact.key, bytes, 'application/octet-stream');
    await registry.createVersion(record);
  }
  await registry.promote(MODEL, 1, { expected: undefined, reason: 'first', actor: 'test' });
});

afterAll(async () => emulators?.close());

describe('ModelCache', () => {
  it('serves a promotion within one TTL, and reads the registry early in the background', async () => {
    // Prepare: a container that loaded version 1 at t = 0, then version 2 is promoted.
    let now = 0;
    const cache = new ModelCache({ registry, bucket: BUCKET, ttlMs: TTL_MS, now: () => now });
    expect((await cache.serving(MODEL)).production.version).toBe(1);
    await registry.promote(MODEL, 2, { expected: 1, reason: 'better', actor: 'test' });
    const reads = () => emulators.dynamoOperations.length;

    // Act / Assess: younger than half the TTL, the entry answers without a registry read.
    now = TTL_MS / 2 - 1;
    const before = reads();
    expect((await cache.serving(MODEL)).production.version).toBe(1);
    expect(reads()).toBe(before);

    // From half the TTL on, a request is answered at once (the old version) while the pointers are
    // re-read behind it; the next requests get the new version as soon as that read is in.
    now = TTL_MS / 2;
    expect((await cache.serving(MODEL)).production.version).toBe(1);
    let answered = 1;
    while (answered === 1) {
      // Let the read's I/O run between requests, as requests arriving over time do.
      await new Promise((resolve) => setImmediate(resolve));
      answered = (await cache.serving(MODEL)).production.version;
    }
    expect(answered).toBe(2);
  });

  it('makes an idle container wait for the registry once its entry is a whole TTL old', async () => {
    // Prepare: version 2 serves and is loaded at t = 0; then production rolls back to version 1.
    let now = 0;
    const cache = new ModelCache({ registry, bucket: BUCKET, ttlMs: TTL_MS, now: () => now });
    expect((await cache.serving(MODEL)).production.version).toBe(2);
    await registry.rollback(MODEL, { badVersion: 2, reason: 'worse', actor: 'test' });

    // Act: the first request after a whole TTL without any.
    now = TTL_MS;
    const served = await cache.serving(MODEL);

    // Assess: it waited for the pointers and answers with the version production is now.
    expect(served.production.version).toBe(1);
  });
});
