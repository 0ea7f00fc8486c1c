/**
 * Monitoring that acts, end to end on the local runtime: labels that a version gets badly wrong raise its
 * live-quality alarm, EventBridge takes the alarm's state change to the rollback function, and the
 * previous version serves again — under a steady request load that never sees a failed request. And the
 * canary path: a share of answers from the new version, an alarm on the canary stopping it, a clean bake
 * promoting it.
 *
 * Alarm periods are shortened by configuration (`alarmPeriodScale`), not by different code: the alarms
 * are the synthesized template's, with the shipped specs' thresholds (60 s periods, 3 of 5 breaching,
 * at least 5 labels, live error twice the holdout error).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startRetrain, waitForRun } from '../../bin/commands/remote.ts';
import { resolveTarget, type Target } from '../../bin/target.ts';
import { type DriftlineRuntime, startRuntime } from '../../local/runtime.ts';

// These tests train real models: on a busy machine a run takes minutes. No deadline here is the behaviour
// under test, so each only guards against a hang.
const E2E_TIMEOUT_MS = 15 * 60_000;
vi.setConfig({ testTimeout: E2E_TIMEOUT_MS, hookTimeout: E2E_TIMEOUT_MS });

const repo = new URL('../../', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(repo, path), 'utf8');
const [header, ...months] = read('data/air-passengers.csv').trim().split('\n');
const values = months.map((line) => Number(line.split(',')[1]));
const airSpec = JSON.parse(read('data/specs/air-passengers.json'));
/** 60-s alarm periods last 0.9 s. */
const PERIOD_SCALE = 0.015;

let home: string;
let runtime: DriftlineRuntime | undefined;
let target: Target;
let uploads = 0;

async function start(spec: unknown) {
  home = mkdtempSync(join(tmpdir(), 'driftline-monitoring-'));
  runtime = await startRuntime({
    home,
    port: 0,
    quiet: true,
    retryIntervalMs: 10,
    schedules: false,
    alarmPeriodScale: PERIOD_SCALE,
  });
  target = await resolveTarget({ home });
  await target.registry.putSpec('air-passengers', spec);
}

afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
  rmSync(home, { recursive: true, force: true });
});

async function upload(from: number, to: number) {
  const key = `incoming/air-passengers/${++uploads}.csv`;
  const body = `${[header, ...months.slice(from, to)].join('\n')}\n`;
  await target.s3.send(new PutObjectCommand({ Bucket: target.outputs.BucketName, Key: key, Body: body }));
  return waitForRun(target, 'air-passengers', key, { quiet: true, timeoutMs: E2E_TIMEOUT_MS });
}

interface Answer {
  status: number;
  version?: number;
  predictions?: { id: string; value: number }[];
}

async function predict(t: number): Promise<Answer> {
  const response = await fetch(`${runtime!.apiUrl}models/air-passengers/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances: [{ history: values.slice(t - 12, t) }] }),
  });
  const body = (await response.json()) as { version?: number; predictions?: { id: string; value: number }[] };
  return { status: response.status, ...body };
}

async function feedback(id: string, actual: number) {
  // Signed with the install's keys, as the CLI sends labels.
  const response = await target.api('models/air-passengers/feedback', {
    method: 'POST',
    body: { id, actual },
  });
  expect(response.status).toBe(200);
}

/** Labels the answers of `version` three times their forecast until `done()` (each label: 200% error). */
async function labelBadly(version: number, done: () => Promise<boolean>, timeoutMs = E2E_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error('the alarm never acted');
    const answer = await predict(144);
    if (answer.version === version)
      await feedback(answer.predictions![0].id, answer.predictions![0].value * 3);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('alarm-driven rollback', () => {
  it('rolls version 2 back when its live labels go bad, without a failed request, and audits why', async () => {
    // Prepare: version 1 from 1949-1958, version 2 from the 1959-1960 drop (held back without drift on
    // the transformed target, then trained in by `driftline retrain`)
    await start(airSpec);
    expect(await upload(0, 120)).toMatchObject({ outcome: 'promoted', version: 1 });
    expect(await upload(120, 144)).toMatchObject({ outcome: 'no_drift' });
    const runId = await startRetrain(target, 'air-passengers');
    expect(
      await waitForRun(target, 'air-passengers', { runId }, { quiet: true, timeoutMs: E2E_TIMEOUT_MS }),
    ).toMatchObject({ outcome: 'promoted', version: 2 });
    const answers: Answer[] = [];
    let rolledBack = false;
    // The load runs until the predict containers have learned of the rollback (within their pointer TTL):
    // 5 answers in a row from version 1 after it.
    const load = (async () => {
      let streak = 0;
      while (!rolledBack || streak < 5) {
        const answer = await predict(140);
        answers.push(answer);
        streak = rolledBack && answer.version === 1 ? streak + 1 : 0;
        await sleep(10);
      }
    })();

    // Act: labels that version 2 gets badly wrong
    await labelBadly(
      2,
      async () => (await target.registry.getPointer('air-passengers', 'production'))?.version === 1,
    );
    rolledBack = true;
    await load;

    // Assess: what serves, and the record of why
    const alarmName = 'Driftline/rollback/air-passengers/production/live-quality';
    const transitions = runtime!.alarms.history(alarmName);
    expect(transitions.some((transition) => transition.to === 'ALARM')).toBe(true);
    const version2 = await target.registry.getVersion('air-passengers', 2);
    expect(version2?.stage).toBe('rolled_back');
    expect(version2?.reason).toContain(alarmName);
    const audit = await target.registry.listAudit('air-passengers');
    expect(audit.map((entry) => [entry.action, entry.fromVersion, entry.toVersion])).toEqual([
      ['promote', undefined, 1],
      ['promote', 1, 2],
      ['rollback', 2, 1],
    ]);
    expect(audit[2].actor).toContain(alarmName);
    // Under load during the switch: no request failed, every answer named version 1 or 2, the last ones 1.
    expect(answers.length).toBeGreaterThan(20);
    expect(answers.filter((answer) => answer.status !== 200)).toEqual([]);
    expect(new Set(answers.map((answer) => answer.version))).toEqual(new Set([1, 2]));
    expect(answers.at(-1)?.version).toBe(1);
    expect(runtime!.notifications.some((notification) => notification.message.includes('rolled back'))).toBe(
      true,
    );
  });
});

describe('canary rollout', () => {
  const canarySpec = { ...airSpec, rollout: { mode: 'canary', canaryWeight: 0.2, bakeMinutes: 60 } };

  it('answers about 20% from the canary, stops it on its own alarm, and promotes a canary that bakes cleanly', async () => {
    // Prepare: version 1 from 1949-1954; version 2 from 1955-1957 starts as a 20% canary
    await start(canarySpec);
    expect(await upload(0, 72)).toMatchObject({ outcome: 'promoted', version: 1 });
    expect(await upload(72, 108)).toMatchObject({ outcome: 'canary', version: 2 });

    // Act 1: the share of answers from the canary
    const answers: Answer[] = [];
    for (let i = 0; i < 400; i++) answers.push(await predict(120));
    const fromCanary = answers.filter((answer) => answer.version === 2).length;

    // Assess 1: each predict container answers its 20% to within 3 requests (core/canary.ts), and at most
    // 4 containers served: 80 ± 12 of 400, whatever the seeds and however the requests were spread.
    expect(answers.every((answer) => answer.status === 200 && [1, 2].includes(answer.version!))).toBe(true);
    expect(Math.abs(fromCanary - 80)).toBeLessThanOrEqual(12);

    // Act 2: labels the canary gets badly wrong
    await labelBadly(
      2,
      async () => (await target.registry.getPointer('air-passengers', 'canary')) === undefined,
    );

    // Assess 2: the canary is stopped by its own alarm; production never moved
    expect((await target.registry.getVersion('air-passengers', 2))?.stage).toBe('rolled_back');
    expect((await target.registry.getVersion('air-passengers', 2))?.reason).toContain(
      'Driftline/rollback/air-passengers/canary/live-quality',
    );
    expect((await target.registry.getPointer('air-passengers', 'production'))?.version).toBe(1);

    // Act 3: version 3 from 1958-1960, a canary whose bake ends without an alarm; the bake schedule runs
    await target.registry.putSpec('air-passengers', {
      ...canarySpec,
      rollout: { ...canarySpec.rollout, bakeMinutes: 0 },
    });
    expect(await upload(108, 144)).toMatchObject({ outcome: 'canary', version: 3 });
    const bakeRule = runtime!.stack.rules.find((rule) =>
      rule.logicalId?.startsWith('MonitoringBakeCandidates'),
    );
    await runtime!.fireSchedule(bakeRule!.logicalId!);
    // The schedule invokes the promote function asynchronously, as EventBridge does: wait for it to finish.
    const deadline = Date.now() + E2E_TIMEOUT_MS;
    const baked = async () =>
      (await target.registry.getPointer('air-passengers', 'production'))?.version === 3 &&
      (await target.registry.getPointer('air-passengers', 'canary')) === undefined;
    while (!(await baked()) && Date.now() < deadline) await sleep(100);

    // Assess 3
    expect((await target.registry.getPointer('air-passengers', 'production'))?.version).toBe(3);
    expect(await target.registry.getPointer('air-passengers', 'canary')).toBeUndefined();
    const audit = await target.registry.listAudit('air-passengers');
    expect(audit.map((entry) => entry.action)).toEqual([
      'promote',
      'candidate_start',
      'candidate_rollback',
      'candidate_start',
      'promote',
    ]);
  });
});
