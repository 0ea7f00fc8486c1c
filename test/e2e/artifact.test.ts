/**
 * A refused artifact is loud, end to end on the local runtime: bytes flipped in the production artifact
 * make predict answer 503 naming the version and the reason (never a 500, never a 200 from the tampered
 * version once refused), `/health` reports the model degraded, the `artifact-refused` alarm fires, and the
 * rollback function falls back to the previous version (the spec's `serving.fallback`, on by default) with
 * an audit record.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { startRetrain, waitForRun } from '../../bin/commands/remote.ts';
import { resolveTarget, type Target } from '../../bin/target.ts';
import { type DriftlineRuntime, startRuntime } from '../../local/runtime.ts';

// Real training on a possibly busy machine: the timeouts only guard against a hang.
const E2E_TIMEOUT_MS = 15 * 60_000;
vi.setConfig({ testTimeout: E2E_TIMEOUT_MS, hookTimeout: E2E_TIMEOUT_MS });

const MODEL = 'air-passengers';
const repo = new URL('../../', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(repo, path), 'utf8');
const [header, ...months] = read('data/air-passengers.csv').trim().split('\n');
const values = months.map((line) => Number(line.split(',')[1]));
/**
 * 60-s alarm periods last 6 s: the alarm needs one period with a refused request, which leaves seconds
 * between the first 503 and the fallback to read `/health`.
 */
const PERIOD_SCALE = 0.1;

let home: string;
let runtime: DriftlineRuntime | undefined;
let target: Target;

afterAll(async () => {
  await runtime?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

async function upload(name: string, from: number, to: number) {
  const key = `incoming/${MODEL}/${name}.csv`;
  const body = `${[header, ...months.slice(from, to)].join('\n')}\n`;
  await target.s3.send(new PutObjectCommand({ Bucket: target.outputs.BucketName, Key: key, Body: body }));
  return waitForRun(target, MODEL, key, { quiet: true, timeoutMs: E2E_TIMEOUT_MS });
}

interface Answer {
  status: number;
  version?: number;
  error?: string;
  message?: string;
}

async function predict(): Promise<Answer> {
  const response = await fetch(`${runtime!.apiUrl}models/${MODEL}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances: [{ history: values.slice(132, 144) }] }),
  });
  return { status: response.status, ...((await response.json()) as Omit<Answer, 'status'>) };
}

describe('a tampered production artifact', () => {
  it('answers 503 naming why, reports /health degraded, and falls back to the previous version', async () => {
    // Prepare: version 1 from 1949-1958, version 2 retrained with 1959-1960 (as in the guided tour)
    home = mkdtempSync(join(tmpdir(), 'driftline-artifact-'));
    runtime = await startRuntime({
      home,
      port: 0,
      quiet: true,
      retryIntervalMs: 10,
      schedules: false,
      alarmPeriodScale: PERIOD_SCALE,
    });
    target = await resolveTarget({ home });
    await target.registry.putSpec(MODEL, JSON.parse(read(`data/specs/${MODEL}.json`)));
    expect(await upload('1949-1958', 0, 120)).toMatchObject({ outcome: 'promoted', version: 1 });
    expect(await upload('1959-1960', 120, 144)).toMatchObject({ outcome: 'no_drift' });
    const runId = await startRetrain(target, MODEL);
    expect(
      await waitForRun(target, MODEL, { runId }, { quiet: true, timeoutMs: E2E_TIMEOUT_MS }),
    ).toMatchObject({ outcome: 'promoted', version: 2 });
    expect((await predict()).version).toBe(2);

    // Act: one byte of version 2's artifact flipped in the bucket, while predict is called steadily
    const { key } = (await target.registry.getVersion(MODEL, 2))!.artifact;
    const bucket = target.outputs.BucketName;
    const bytes = await (
      await target.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    ).Body!.transformToByteArray();
    bytes[bytes.length - 1] ^= 0xff;
    await target.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
    // /health hashes the production artifact itself, so it names the problem from now until the rollback.
    // Asked at once: asked at the first 503 (as before), it could come after the rollback (the predict
    // containers re-verify in the background, so the alarm may already be in ALARM by then) and say ok.
    const health = (await (await fetch(`${runtime.apiUrl}health`)).json()) as {
      status: string;
      degraded?: Record<string, { version: number; reason: string }>;
    };
    const answers: Answer[] = [];
    const deadline = Date.now() + 2 * 60_000;
    for (let streak = 0; streak < 5; ) {
      if (Date.now() > deadline) {
        const alarms = runtime.alarms.list().filter((alarm) => alarm.name.includes('artifact'));
        throw new Error(
          `no fallback after ${answers.length} answers (${answers.filter((a) => a.status === 503).length} refused); alarms: ${JSON.stringify(alarms)}; rollback: ${runtime.logs('rollback').slice(-5).join('\n')}`,
        );
      }
      const answer = await predict();
      answers.push(answer);
      streak = answer.status === 200 && answer.version === 1 ? streak + 1 : 0;
    }

    // Assess: 200s from version 2 until the containers re-verified, 503s naming why, then version 1 only
    expect(answers.filter((answer) => answer.status !== 200 && answer.status !== 503)).toEqual([]);
    const firstRefusal = answers.findIndex((answer) => answer.status === 503);
    const firstFallback = answers.findIndex((answer) => answer.version === 1);
    expect(firstRefusal).toBeGreaterThanOrEqual(0);
    expect(firstFallback).toBeGreaterThan(firstRefusal);
    expect(answers.slice(firstRefusal).filter((answer) => answer.version === 2)).toEqual([]);
    expect(answers.slice(firstFallback).every((answer) => answer.version === 1)).toBe(true);
    expect(answers[firstRefusal]).toMatchObject({
      error: 'ModelUnavailableError',
      message: expect.stringMatching(
        /version 2 is not served: its artifact was refused \(model artifact checksum mismatch/,
      ),
    });
    console.log(
      `answers: ${answers.length}; 200 from v2: ${firstRefusal}, 503: ${firstFallback - firstRefusal}, then v1`,
    );
    // Assess: /health named the model, the version and the reason while it was tampered with
    expect(health).toMatchObject({
      status: 'degraded',
      degraded: { [MODEL]: { version: 2, reason: expect.stringMatching(/checksum mismatch/) } },
    });
    // Assess: the alarm fired, and the fallback is one audited rollback 2 → 1; /health is ok again
    expect(
      runtime.alarms.history(`${runtime.stack.stackName}/rollback/${MODEL}/production/artifact-refused`),
    ).toEqual(expect.arrayContaining([expect.objectContaining({ to: 'ALARM' })]));
    const audit = (await target.registry.listAudit(MODEL)).filter((record) => record.fromVersion === 2);
    expect(audit).toEqual([
      expect.objectContaining({
        toVersion: 1,
        reason: expect.stringMatching(/^fallback: its artifact was refused/),
      }),
    ]);
    expect((await target.registry.getVersion(MODEL, 2))?.stage).toBe('rolled_back');
    expect(await (await fetch(`${runtime.apiUrl}health`)).json()).toMatchObject({ status: 'ok' });
  });
});
