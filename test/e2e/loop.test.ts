/**
 * The retrain-and-serve loop end to end, driven the way a user drives it: files uploaded to the bucket,
 * runs followed in the registry, predictions asked over HTTP. It runs on a fresh local runtime (the
 * synthesized CDK app's functions, state machine and rules on S3/DynamoDB emulators) in a temp folder.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  feedbackCommand,
  modelsCommand,
  promoteCommand,
  rollbackCommand,
  runsCommand,
  startRetrain,
  waitForRun,
} from '../../bin/commands/remote.ts';
import { resolveTarget, type Target } from '../../bin/target.ts';
import type { RunRecord } from '../../lambdas/shared/registry.ts';
import { keys } from '../../lambdas/shared/storage.ts';
import { type DriftlineRuntime, startRuntime } from '../../local/runtime.ts';

// These tests train real models: on a busy machine a run takes minutes. No deadline here is the behaviour
// under test, so each only guards against a hang.
const E2E_TIMEOUT_MS = 15 * 60_000;
vi.setConfig({ testTimeout: E2E_TIMEOUT_MS, hookTimeout: E2E_TIMEOUT_MS });

const repo = new URL('../../', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(repo, path), 'utf8');
const airLines = read('data/air-passengers.csv').trim().split('\n');

let home: string;
let runtime: DriftlineRuntime;
let target: Target;
let uploads = 0;

async function start() {
  runtime = await startRuntime({ home, port: 0, quiet: true, retryIntervalMs: 10, schedules: false });
  target = await resolveTarget({ home });
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'driftline-e2e-'));
  await start();
  for (const name of ['air-passengers', 'breast-cancer']) {
    await target.registry.putSpec(name, JSON.parse(read(`data/specs/${name}.json`)));
  }
});

afterAll(async () => {
  await runtime?.stop();
  rmSync(home, { recursive: true, force: true });
});

/** Uploads a drop as `driftline upload` does and waits for the run it starts. */
async function upload(model: string, body: string, name = 'drop.csv'): Promise<RunRecord & { key: string }> {
  const key = `incoming/${model}/${++uploads}-${name}`;
  await target.s3.send(new PutObjectCommand({ Bucket: target.outputs.BucketName, Key: key, Body: body }));
  return { ...(await waitForRun(target, model, key, { quiet: true, timeoutMs: E2E_TIMEOUT_MS })), key };
}

async function predict(model: string, instances: unknown[]) {
  const response = await fetch(`${runtime.apiUrl}models/${model}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances }),
  });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown> & { version: number },
  };
}

const history = (from: number, to: number) =>
  airLines.slice(from, to).map((line) => Number(line.split(',')[1]));

describe('the retrain-and-serve loop on the local runtime', () => {
  it('trains version 1 from a first drop and serves it', async () => {
    // Act: 1949-01 … 1958-12
    const run = await upload('air-passengers', `${airLines.slice(0, 121).join('\n')}\n`);
    const answer = await predict('air-passengers', [{ history: history(109, 121) }]);
    // Assess
    expect(run).toMatchObject({
      status: 'succeeded',
      outcome: 'promoted',
      version: 1,
      trigger: 'first_model',
    });
    expect(answer.status).toBe(200);
    expect(answer.body.version).toBe(1);
    // Register renders the report page after recording the run, with its own role's grants (it lists the
    // model's runs): a missing grant leaves no page.
    await vi.waitFor(
      async () => {
        const page = await target.s3.send(
          new HeadObjectCommand({ Bucket: target.outputs.BucketName, Key: keys.report('air-passengers') }),
        );
        expect(page.ContentType).toMatch(/^text\/html/);
      },
      { timeout: 30_000, interval: 100 },
    );
  });

  it('judges the 1959-1960 drop on the transformed target and holds it back; `driftline retrain` trains version 2 on it, served without a restart', async () => {
    // Act
    const run = await upload('air-passengers', read('data/drops/air-passengers-1959-1960.csv'));
    const retrain = await waitForRun(
      target,
      'air-passengers',
      { runId: await startRetrain(target, 'air-passengers') },
      {
        quiet: true,
        timeoutMs: E2E_TIMEOUT_MS,
      },
    );
    // The predict container re-reads the production pointer at most every MODEL_CACHE_TTL_SECONDS.
    let answer = await predict('air-passengers', [{ history: history(121, 133) }]);
    const deadline = Date.now() + E2E_TIMEOUT_MS;
    while (answer.body.version !== 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      answer = await predict('air-passengers', [{ history: history(121, 133) }]);
    }
    // Assess: KS on ln y[t] − ln y[t−12] of 1959-1960 against 1950-1958 gives p = 0.0585 (SciPy
    // ks_2samp, see test/core/drift-frames.test.ts): growth did not change, only its level, so no drift.
    expect(run).toMatchObject({ status: 'succeeded', outcome: 'no_drift' });
    expect(run.drift).toMatchObject({
      status: 'no_drift',
      columns: [{ column: 'value (seasonal-log-ratio)', test: 'ks', verdict: 'no_drift' }],
    });
    expect((run.drift as { columns: { pValue: number }[] }).columns[0].pValue).toBeCloseTo(0.0585, 4);
    expect(retrain).toMatchObject({
      status: 'succeeded',
      trigger: 'manual',
      outcome: 'promoted',
      version: 2,
    });
    expect(answer.body.version).toBe(2);
    const version = await target.registry.getVersion('air-passengers', 2);
    expect(version?.lineage.dataset.rows).toBe(144);
    // Over spec seeds 1-10 the 1959-1960 holdout MAPE is 2.535 ± 0.064% (mean ± sd; `npx driftline backtest
    // data/air-passengers.csv --spec <the spec with "seed": N> --json`): at most 4 sd above the mean.
    expect(version?.metrics.mape).toBeLessThan(2.535 + 4 * 0.064);
    // The decision's paired difference and interval: in the run record, on the version, in the CLI.
    expect(retrain.comparison).toMatchObject({ metric: 'mape', rows: 24, confidence: 0.95 });
    expect(version?.comparison).toEqual(retrain.comparison);
    expect(retrain.decision).toContain('95% interval');
    const printed: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => printed.push(line));
    try {
      await modelsCommand('air-passengers', { home });
      await runsCommand('air-passengers', { home });
    } finally {
      log.mockRestore();
    }
    const [low, high] = retrain.comparison!.interval;
    const shown = printed.filter(
      (line) =>
        line.includes('difference [interval]') || line.includes(`, ${Number(high.toPrecision(4))}] 95%`),
    );
    expect(shown.length).toBeGreaterThanOrEqual(4);
    expect(printed.join('\n')).toContain(
      `[${Number(low.toPrecision(4))}, ${Number(high.toPrecision(4))}] 95%`,
    );
  });

  it('records a drop without drift and makes no new version', async () => {
    // Act: 1951-01 … 1958-12 again, a stretch shaped like the whole series
    const run = await upload('air-passengers', `${[airLines[0], ...airLines.slice(25, 121)].join('\n')}\n`);
    // Assess
    expect(run).toMatchObject({ status: 'succeeded', outcome: 'no_drift' });
    expect(run.version).toBeUndefined();
    expect((await target.registry.getPointer('air-passengers', 'production'))?.version).toBe(2);
  });

  it('fails a malformed drop with a reason naming the problem, keeps production and keeps the file', async () => {
    // Act
    const run = await upload(
      'air-passengers',
      'month,value\n1961-01,420\n1961-02,four hundred\n',
      'typo.csv',
    );
    const answer = await predict('air-passengers', [{ history: history(133, 145) }]);
    const kept = await target.s3.send(
      new HeadObjectCommand({ Bucket: target.outputs.BucketName, Key: run.key }),
    );
    // Assess
    expect(run.status).toBe('failed');
    expect(run.failure?.reason).toMatch(/line 3/);
    expect(run.failure?.reason).toMatch(/four hundred/);
    expect(answer.body.version).toBe(2);
    expect(kept.ContentLength).toBeGreaterThan(0);
  });

  it('runs the breast-cancer classifier through the same loop', async () => {
    // Act
    const run = await upload('breast-cancer', read('data/breast-cancer.csv'));
    const [header, first] = read('data/breast-cancer.csv').split('\n');
    const columns = header.split(',');
    const instance = Object.fromEntries(
      columns.slice(0, -1).map((name, i) => [name, Number(first.split(',')[i])]),
    );
    const answer = await predict('breast-cancer', [instance]);
    // Assess
    expect(run).toMatchObject({ status: 'succeeded', outcome: 'promoted', version: 1 });
    const version = await target.registry.getVersion('breast-cancer', 1);
    // Over spec seeds 1-10 the holdout AUC is 0.9870 ± 0.0016 (mean ± sd, 0.9852-0.9899; `npx driftline
    // backtest data/breast-cancer.csv --spec <the spec with "seed": N> --json`, 145 holdout rows drawn by
    // the value-bits row identity since 476671e; 0.9964 ± 0.0016 on the sha256 identity's rows): at most
    // 4 sd below the mean.
    expect(version?.metrics.auc).toBeGreaterThan(0.987 - 4 * 0.0016);
    expect(answer.body.version).toBe(1);
    // The first row of the data set is a malignant tumour (benign = 0).
    expect((answer.body.predictions as { label: number }[])[0].label).toBe(0);
  });

  it('serves the documented pages on the API port, at the root and under the stage prefix', async () => {
    // Act
    const paths = ['', 'models/air-passengers/report', 'openapi.json', 'docs', 'docs/swagger-ui.css'];
    const statuses = await Promise.all(
      ['', 'prod/'].flatMap((prefix) =>
        paths.map(
          async (path) => `${prefix}${path} ${(await fetch(`${runtime.apiUrl}${prefix}${path}`)).status}`,
        ),
      ),
    );
    // Assess
    expect(statuses).toEqual(['', 'prod/'].flatMap((prefix) => paths.map((path) => `${prefix}${path} 200`)));
  });

  it("refuses feedback, rollback, promote and spec writes without the install's credentials; the CLI is let through", async () => {
    // Prepare
    const production = async () =>
      (await target.registry.getPointer('air-passengers', 'production'))?.version;
    const before = await production();
    const answer = await predict('air-passengers', [{ history: history(121, 133) }]);
    const id = (answer.body.predictions as { id: string }[])[0].id;
    const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const invocations = (name: string) =>
      `${runtime.info.endpoints.lambda}/2015-03-31/functions/${encodeURIComponent(name)}/invocations`;

    // Act: anonymous, as any local process or web page could
    const feedback = await post(`${runtime.apiUrl}models/air-passengers/feedback`, { id, actual: 1e6 });
    const rollback = await post(invocations(target.outputs.RollbackFunctionName), {
      action: 'rollback',
      model: 'air-passengers',
    });
    const promote = await post(
      invocations(target.outputs.PromoteFunctionName),
      { model: 'air-passengers', version: 1, actor: 'alarm forged' },
      { 'content-type': 'text/plain', origin: 'https://evil.example' },
    );
    const spec = await post(
      runtime.info.endpoints.dynamodb,
      { TableName: target.outputs.RegistryTableName, Item: { PK: { S: 'MODEL#x' }, SK: { S: 'SPEC' } } },
      { 'x-amz-target': 'DynamoDB_20120810.PutItem', 'content-type': 'application/x-amz-json-1.0' },
    );
    const after = await production();
    // Act: the CLI's commands, which sign with the install's keys from runtime.json
    const printed: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => printed.push(line));
    let rolledBack: number | undefined;
    try {
      await feedbackCommand({ home, model: 'air-passengers', id, actual: '446' });
      await rollbackCommand('air-passengers', { home, reason: 'test', json: true });
      rolledBack = await production();
      await promoteCommand('air-passengers', String(before), { home, reason: 'test' });
    } finally {
      log.mockRestore();
    }

    // Assess: anonymous requests refused, nothing changed
    expect(feedback.status).toBe(403);
    expect(await feedback.json()).toMatchObject({ message: expect.any(String), error: expect.any(String) });
    expect([rollback.status, promote.status, spec.status]).toEqual([403, 403, 403]);
    expect(after).toBe(before);
    expect(await target.registry.getSpec('x')).toBeUndefined();
    // Assess: the CLI's label recorded, its rollback and promote done
    expect(printed.join('\n')).toContain(id);
    expect(JSON.parse(printed[printed.length - 2])).toMatchObject({ rolledBack: true });
    expect(rolledBack).not.toBe(before);
    expect(printed.at(-1)).toBe(`air-passengers: version ${before} is in production`);
    expect(await production()).toBe(before);
  });

  it('keeps data, registry and models across a restart', async () => {
    // Act
    await runtime.stop();
    await start();
    const answer = await predict('air-passengers', [{ history: history(133, 145) }]);
    // Assess
    expect((await target.registry.listVersions('air-passengers')).map((v) => v.version)).toEqual([2, 1]);
    expect(answer.status).toBe(200);
    expect(answer.body.version).toBe(2);
  });
});
