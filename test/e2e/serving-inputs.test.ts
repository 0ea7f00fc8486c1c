/**
 * Strict serving inputs end to end: the breast-cancer classifier trained through the local runtime the
 * way a user trains it (spec registered, file uploaded), then asked over HTTP with requests that do not
 * match its stored signature.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { waitForRun } from '../../bin/commands/remote.ts';
import { resolveTarget, type Target } from '../../bin/target.ts';
import { type DriftlineRuntime, startRuntime } from '../../local/runtime.ts';

/** Guards against a hang only: a busy machine slows these runs, it must not fail them. */
const E2E_TIMEOUT_MS = 15 * 60_000;
vi.setConfig({ testTimeout: E2E_TIMEOUT_MS, hookTimeout: E2E_TIMEOUT_MS });

const repo = new URL('../../', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(repo, path), 'utf8');
const [header, firstRow] = read('data/breast-cancer.csv').split('\n');
const featureNames = header.split(',').slice(0, -1);
/** The first tumour of the data set, every feature by its exact name. */
const complete = Object.fromEntries(featureNames.map((name, i) => [name, Number(firstRow.split(',')[i])]));
/** The shipped spec with a small forest and no search, so the run is quick; serving rules are the spec's. */
const spec = {
  ...JSON.parse(read('data/specs/breast-cancer.json')),
  hyperparameters: { nTrees: 40 },
  search: { strategy: 'none' },
};

let home: string;
let runtime: DriftlineRuntime;
let target: Target;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'driftline-e2e-inputs-'));
  runtime = await startRuntime({ home, port: 0, quiet: true, retryIntervalMs: 10, schedules: false });
  target = await resolveTarget({ home });
  await target.registry.putSpec('breast-cancer', spec);
  const key = 'incoming/breast-cancer/breast-cancer.csv';
  await target.s3.send(
    new PutObjectCommand({
      Bucket: target.outputs.BucketName,
      Key: key,
      Body: read('data/breast-cancer.csv'),
    }),
  );
  const run = await waitForRun(target, 'breast-cancer', key, { quiet: true, timeoutMs: E2E_TIMEOUT_MS });
  expect(run).toMatchObject({ status: 'succeeded', version: 1 });
});

afterAll(async () => {
  await runtime?.stop();
  rmSync(home, { recursive: true, force: true });
});

async function predict(instance: unknown) {
  const response = await fetch(`${runtime.apiUrl}models/breast-cancer/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances: [instance] }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('POST /models/breast-cancer/predict checks inputs against the stored signature', () => {
  it('answers a complete instance', async () => {
    // Act
    const answer = await predict(complete);
    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body.predictions).toEqual([expect.not.objectContaining({ imputed: expect.anything() })]);
  });

  it('refuses {} with a 400 naming the missing features', async () => {
    // Act
    const answer = await predict({});
    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('ServingInputError');
    expect(answer.body.message).toContain(
      `missing ${featureNames.length} features "mean_radius", "mean_texture"`,
    );
    expect(answer.body.message).toContain('"worst_fractal_dimension"');
  });

  it('refuses a mis-cased feature with a 400 naming it and the stored spelling', async () => {
    // Prepare
    const { mean_radius, ...rest } = complete;
    // Act
    const answer = await predict({ ...rest, Mean_Radius: mean_radius });
    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.message).toBe(
      'instances[0]: missing feature "mean_radius" (null counts as missing; this model\'s spec sets serving.missing to "reject"); unknown feature "Mean_Radius" (did you mean "mean_radius"?)',
    );
  });

  it('refuses "abc" for a number with a 400 naming the feature', async () => {
    // Act
    const answer = await predict({ ...complete, mean_area: 'abc' });
    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.message).toBe('instances[0]: feature "mean_area" must be a number, got "abc"');
  });

  it('refuses null and unknown keys the same way', async () => {
    // Act
    const withNull = await predict({ ...complete, mean_area: null });
    const withExtra = await predict({ ...complete, patient: 'x' });
    // Assess
    expect(withNull.status).toBe(400);
    expect(withNull.body.message).toContain('missing feature "mean_area"');
    expect(withExtra.status).toBe(400);
    expect(withExtra.body.message).toBe('instances[0]: unknown feature "patient"');
  });

  it('refuses a "__proto__" key as any unknown key, not answering as if it were not there', async () => {
    // Prepare: JSON.parse makes "__proto__" an own key, as the request's JSON has it (a literal would set
    // the prototype instead).
    const withProto = { ...complete, ...JSON.parse('{"__proto__": 1}') };
    // Act
    const answer = await predict(withProto);
    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.message).toBe('instances[0]: unknown feature "__proto__"');
  });

  it('imputes and reports what it filled once the spec declares serving.missing: "impute"', async () => {
    // Act: the policy is read from the registered spec, without a new version or a restart.
    await target.registry.putSpec('breast-cancer', {
      ...spec,
      serving: { missing: 'impute' },
    });
    const { mean_area: _left, ...rest } = complete;
    let answer = await predict({ ...rest, mean_smoothness: null });
    const deadline = Date.now() + E2E_TIMEOUT_MS;
    while (answer.status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      answer = await predict({ ...rest, mean_smoothness: null });
    }
    // Assess
    expect(answer.status).toBe(200);
    const [prediction] = answer.body.predictions as { imputed?: string[]; outOfRange?: string[] }[];
    expect(prediction.imputed).toEqual(['mean_area', 'mean_smoothness']);
    expect(prediction.outOfRange).toBeUndefined();
  });
});
