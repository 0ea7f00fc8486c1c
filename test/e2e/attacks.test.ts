/**
 * The attacks demonstrated on the local runtime (issue 13), replayed as tests, each failing to change what
 * serves: version 2 stays in production, no rollback is audited, no rollback alarm fires.
 *
 * 1. Anonymous predict requests with `1e308` in the history, which once each answered 500 and together
 *    drove the 5xx alarm.
 * 2. One feedback request labelling one prediction 1,000 times, and a stream of absurd labels on
 *    version 1's old predictions after version 2 serves (labels of a version once counted against
 *    whatever served in its role).
 * 3. A cross-site `text/plain` POST from `Origin: https://evil.example` to the local Lambda `Invoke`
 *    endpoint promoting version 1 with a forged audit actor; a rebinding `Host`; an unsigned listing of
 *    the S3 emulator's buckets.
 *
 * Alarm periods are shortened (60 s last 0.9 s), so the labels are spread over more periods than an alarm
 * needs to breach (3 of 5).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startRetrain, waitForRun } from '../../bin/commands/remote.ts';
import { resolveTarget, type Target } from '../../bin/target.ts';
import { type DriftlineRuntime, startRuntime } from '../../local/runtime.ts';

// Real models are trained: on a busy machine that takes minutes; the deadline only guards against a hang.
const E2E_TIMEOUT_MS = 15 * 60_000;
vi.setConfig({ testTimeout: E2E_TIMEOUT_MS, hookTimeout: E2E_TIMEOUT_MS });

const repo = new URL('../../', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(repo, path), 'utf8');
const [header, ...months] = read('data/air-passengers.csv').trim().split('\n');
const values = months.map((line) => Number(line.split(',')[1]));
const PERIOD_SCALE = 0.015;
const ROLLBACK_ALARMS = /^Driftline\/rollback\/air-passengers\//;

let home: string;
let runtime: DriftlineRuntime;
let target: Target;
/** Predictions version 1 made while it served, labelled only after version 2 took over. */
let oldIds: string[];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const production = async () => (await target.registry.getPointer('air-passengers', 'production'))?.version;

async function predictAnonymously(instances: unknown[]) {
  const response = await fetch(`${runtime.apiUrl}models/air-passengers/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Whatever the attacks did, what serves is unchanged and no rollback alarm went off. */
async function expectNothingChanged() {
  // Several alarm periods pass and every alarm is evaluated on what the attack left.
  for (let i = 0; i < 6; i++) {
    await sleep(1000 * 60 * PERIOD_SCALE);
    await runtime.alarms.evaluateNow();
  }
  expect(await production()).toBe(2);
  const audit = await target.registry.listAudit('air-passengers');
  expect(audit.filter((entry) => entry.action !== 'promote')).toEqual([]);
  const fired = runtime.alarms
    .list()
    .filter((alarm) => ROLLBACK_ALARMS.test(alarm.name))
    .filter((alarm) => runtime.alarms.history(alarm.name).some((transition) => transition.to === 'ALARM'));
  expect(fired.map((alarm) => alarm.name)).toEqual([]);
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'driftline-attacks-'));
  runtime = await startRuntime({
    home,
    port: 0,
    quiet: true,
    retryIntervalMs: 10,
    schedules: false,
    alarmPeriodScale: PERIOD_SCALE,
  });
  target = await resolveTarget({ home });
  await target.registry.putSpec('air-passengers', JSON.parse(read('data/specs/air-passengers.json')));
  const upload = async (from: number, to: number, name: string) => {
    const key = `incoming/air-passengers/${name}.csv`;
    const body = `${[header, ...months.slice(from, to)].join('\n')}\n`;
    await target.s3.send(new PutObjectCommand({ Bucket: target.outputs.BucketName, Key: key, Body: body }));
    return waitForRun(target, 'air-passengers', key, { quiet: true, timeoutMs: E2E_TIMEOUT_MS });
  };
  expect(await upload(0, 120, 'first')).toMatchObject({ outcome: 'promoted', version: 1 });
  const old = await predictAnonymously(
    Array.from({ length: 100 }, () => ({ history: values.slice(108, 120) })),
  );
  oldIds = (old.body.predictions as { id: string }[]).map((prediction) => prediction.id);
  await upload(120, 144, 'second');
  const runId = await startRetrain(target, 'air-passengers');
  expect(
    await waitForRun(target, 'air-passengers', { runId }, { quiet: true, timeoutMs: E2E_TIMEOUT_MS }),
  ).toMatchObject({ outcome: 'promoted', version: 2 });
  // The predict containers learn of version 2 within their pointer TTL.
  while ((await predictAnonymously([{ history: values.slice(120, 132) }])).body.version !== 2)
    await sleep(100);
});

afterAll(async () => {
  await runtime?.stop();
  rmSync(home, { recursive: true, force: true });
});

describe('the demonstrated attacks, replayed', () => {
  it('1: predict requests with 1e308 in the history answer 4xx or 200, never 5xx, and roll nothing back', async () => {
    // Act
    const statuses: number[] = [];
    for (let i = 0; i < 80; i++) {
      const history = values.slice(120, 132);
      history[i % 12] = 1e308;
      statuses.push((await predictAnonymously([{ history }])).status);
    }
    // Assess
    expect(statuses.filter((status) => status >= 500)).toEqual([]);
    await expectNothingChanged();
  });

  it('2: one prediction labelled 1,000 times is refused; labels of version 1 never count against version 2', async () => {
    // Prepare: a fresh prediction of version 2
    const fresh = await predictAnonymously([{ history: values.slice(120, 132) }]);
    const [{ id }] = fresh.body.predictions as { id: string }[];
    // Act: as an authorized client (the worst case; anonymous labels are refused outright)
    const repeated = await target.api('models/air-passengers/feedback', {
      method: 'POST',
      body: { feedback: Array.from({ length: 1000 }, () => ({ id, actual: 1e6 })) },
    });
    const repeatedSmall = await target.api('models/air-passengers/feedback', {
      method: 'POST',
      body: { feedback: Array.from({ length: 10 }, () => ({ id, actual: 1e6 })) },
    });
    const anonymous = await fetch(`${runtime.apiUrl}models/air-passengers/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id, actual: 1e6 }),
    });
    // Absurd labels on version 1's old predictions, 10 at a time over more periods than an alarm needs.
    const statuses: number[] = [];
    for (let i = 0; i < oldIds.length; i += 10) {
      const batch = oldIds.slice(i, i + 10).map((old) => ({ id: old, actual: 1e6 }));
      statuses.push(
        (await target.api('models/air-passengers/feedback', { method: 'POST', body: { feedback: batch } }))
          .status,
      );
      await sleep(1000 * 60 * PERIOD_SCALE * 0.5);
    }
    // Assess
    expect([repeated.status, repeatedSmall.status, anonymous.status]).toEqual([400, 400, 403]);
    expect(statuses.every((status) => status === 200)).toBe(true);
    await expectNothingChanged();
  });

  it('3: a cross-site promote with a forged actor, a rebinding Host and an unsigned bucket listing are refused', async () => {
    // Prepare
    const invoke = `${runtime.info.endpoints.lambda}/2015-03-31/functions/${encodeURIComponent(target.outputs.PromoteFunctionName)}/invocations`;
    const before = await target.registry.listAudit('air-passengers');
    // Act
    const crossSite = await fetch(invoke, {
      method: 'POST',
      headers: {
        'content-type': 'text/plain',
        origin: 'https://evil.example',
        'sec-fetch-site': 'cross-site',
      },
      body: JSON.stringify({ model: 'air-passengers', version: 1, actor: 'alarm Driftline/rollback/forged' }),
    });
    const rebinding = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${runtime.apiUrl}models`);
      request(url, { headers: { host: `evil.example:${url.port}` } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    const listing = await fetch(`${runtime.info.endpoints.s3}/`);
    const listingBody = await listing.text();
    const crossSiteBody = await crossSite.text();
    // Assess
    expect([crossSite.status, rebinding, listing.status]).toEqual([403, 403, 403]);
    expect(listingBody).not.toContain(target.outputs.BucketName);
    expect(crossSiteBody).not.toMatch(/\/work\/|node_modules|\.ts:\d+|at /);
    expect(await target.registry.listAudit('air-passengers')).toEqual(before);
    await expectNothingChanged();
  });
});
