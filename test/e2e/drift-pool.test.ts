/**
 * A monthly feed through the local runtime: after a first model on 1949-1958, the twelve months of 1959
 * arrive one drop at a time. Each is far below the drift guard's minimum (`drift.minRows`, 10), so drops
 * are held back and pooled until the pool passes it; the pool is then judged once, as one sample.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { waitForRun } from '../../bin/commands/remote.ts';
import { resolveTarget, type Target } from '../../bin/target.ts';
import type { RunRecord } from '../../lambdas/shared/registry.ts';
import { type DriftlineRuntime, startRuntime } from '../../local/runtime.ts';

/** Guards against a hang only: a busy machine slows these runs, it must not fail them. */
const E2E_TIMEOUT_MS = 15 * 60_000;
vi.setConfig({ testTimeout: E2E_TIMEOUT_MS, hookTimeout: E2E_TIMEOUT_MS });

const repo = new URL('../../', import.meta.url).pathname;
const [header, ...months] = readFileSync(join(repo, 'data/air-passengers.csv'), 'utf8').trim().split('\n');

let home: string;
let runtime: DriftlineRuntime;
let target: Target;
let uploads = 0;

async function upload(rows: string[]): Promise<RunRecord> {
  const key = `incoming/air-passengers/${String(++uploads).padStart(2, '0')}.csv`;
  await target.s3.send(
    new PutObjectCommand({
      Bucket: target.outputs.BucketName,
      Key: key,
      Body: `${[header, ...rows].join('\n')}\n`,
    }),
  );
  return waitForRun(target, 'air-passengers', key, { quiet: true, timeoutMs: E2E_TIMEOUT_MS });
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'driftline-e2e-pool-'));
  runtime = await startRuntime({ home, port: 0, quiet: true, retryIntervalMs: 10, schedules: false });
  target = await resolveTarget({ home });
  const spec = JSON.parse(readFileSync(join(repo, 'data/specs/air-passengers.json'), 'utf8'));
  // A small forest and no search: this test is about the drift gate, not the model.
  await target.registry.putSpec('air-passengers', {
    ...spec,
    hyperparameters: { nTrees: 40 },
    search: { strategy: 'none' },
  });
  expect(await upload(months.slice(0, 120))).toMatchObject({ outcome: 'promoted', version: 1 });
});

afterAll(async () => {
  await runtime?.stop();
  rmSync(home, { recursive: true, force: true });
});

describe('one-month drops pooled until the drift guard is passed', () => {
  it('judges twelve one-month drops with exactly one drift test, on the ten months pooled when it passes', async () => {
    // Act: 1959-01 … 1959-12, one drop each
    const runs: RunRecord[] = [];
    for (let month = 120; month < 132; month++) runs.push(await upload([months[month]]));
    // Assess
    type Drift = {
      status: string;
      pooled: { drops: string[]; rows: number };
      columns: { pValue: number | null }[];
    };
    const drift = runs.map((run) => run.drift as Drift);
    expect(runs.every((run) => run.status === 'succeeded' && run.outcome === 'no_drift')).toBe(true);
    expect(drift.map((d) => d.pooled.rows)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2]);
    expect(drift.map((d) => d.status)).toEqual([
      ...Array(9).fill('insufficient_data'),
      'no_drift',
      'insufficient_data',
      'insufficient_data',
    ]);
    // The one test: ln y[t] − ln y[t−12] of 1959-01 … 1959-10 against 1950-1958, from
    //   python3 -c "…; print(ks_2samp(s(12,120), s(120,130), method='exact'))" → D 0.3796, p 0.10813166566404593
    expect(drift[9].pooled.drops).toHaveLength(10);
    expect(drift[9].columns[0].pValue).toBeCloseTo(0.10813166566404593, 10);
    expect((await target.registry.getPointer('air-passengers', 'production'))?.version).toBe(1);
  });
});
