/**
 * Alarm events through the local runtime's EventBridge to the rollback function, as AWS delivers them:
 * two alarms entering ALARM for the same bad version, and a duplicate delivery of one of them. Exactly one
 * rollback must follow, the version before the bad one must be untouched, and the audit must show one
 * transition (the later alarm, about a version that no longer serves, is a recorded no-op).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTarget, type Target } from '../../bin/target.ts';
import type { ModelVersion } from '../../lambdas/shared/registry.ts';
import { type DriftlineRuntime, startRuntime } from '../../local/runtime.ts';
import { versionRecord } from '../support/versions.ts';

const MODEL = 'air-passengers';
let home: string;
let runtime: DriftlineRuntime;
let target: Target;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'driftline-rollback-events-'));
  runtime = await startRuntime({ home, port: 0, quiet: true, schedules: false, retryIntervalMs: 10 });
  target = await resolveTarget({ home });
}, 120_000);

afterAll(async () => {
  await runtime?.stop();
  rmSync(home, { recursive: true, force: true });
});

function version(n: number): ModelVersion {
  return versionRecord(MODEL, n, 'staging');
}

/** An alarm state change as CloudWatch puts it on the bus, with breaching datapoints in [from, to). */
function alarmEvent(metric: 'latency-p99' | '5xx-rate', from: number, to: number, stateTime: number) {
  const step = (to - from) / 3;
  const datapoints = [0, 1, 2].map((i) => ({
    timestamp: new Date(from + i * step).toISOString().replace('Z', '+0000'),
    value: 10,
  }));
  return {
    source: 'aws.cloudwatch',
    'detail-type': 'CloudWatch Alarm State Change',
    detail: {
      alarmName: `Driftline/rollback/${MODEL}/production/${metric}`,
      state: {
        value: 'ALARM',
        reason: 'Threshold Crossed: 3 out of the last 5 datapoints were greater than the threshold (1.0).',
        reasonData: JSON.stringify({
          version: '1.0',
          period: 60,
          threshold: 1,
          evaluatedDatapoints: datapoints.reverse(),
        }),
        timestamp: new Date(stateTime).toISOString().replace('Z', '+0000'),
      },
      configuration: {
        metrics: [
          {
            id: 'm1',
            metricStat: {
              metric: {
                namespace: 'Driftline',
                name: metric,
                dimensions: { service: 'driftline', model: MODEL, role: 'production' },
              },
            },
          },
        ],
      },
    },
  };
}

/** Polls until `check` holds (the bus invokes the rollback function asynchronously, as AWS does). */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const actions = async () => (await target.registry.listAudit(MODEL)).map((entry) => entry.action);

describe('alarm events to the rollback function', () => {
  it('two alarms for the same bad version and a duplicate delivery roll back exactly once', async () => {
    // Prepare: versions 1, 2, 3 promoted in turn; 3 is the bad one
    await target.registry.putSpec(MODEL, { name: MODEL });
    for (const n of [1, 2, 3]) {
      await target.registry.createVersion(version(n));
      await target.registry.promote(MODEL, n, {
        expected: n === 1 ? undefined : n - 1,
        reason: 'test',
        actor: 'test',
      });
    }
    const promoted = Date.parse((await target.registry.getPointer(MODEL, 'production'))!.since);
    const measured = Date.now() + 1;
    const latency = alarmEvent('latency-p99', promoted, measured, measured);

    // Act 1: the p99 alarm, then the same state change delivered again
    await runtime.putEvent(latency);
    await until(async () => (await actions()).includes('rollback'), 'the rollback');
    await runtime.putEvent(latency);
    // Act 2: the 5xx alarm enters ALARM after the rollback, about the same breaching periods of version 3
    await runtime.putEvent(alarmEvent('5xx-rate', promoted, measured, Date.now()));
    await until(async () => (await actions()).includes('rollback_skipped'), 'the second alarm');

    // Assess
    const audit = await target.registry.listAudit(MODEL);
    expect(audit.map((entry) => entry.action)).toEqual([
      'promote',
      'promote',
      'promote',
      'rollback',
      'rollback_skipped',
    ]);
    expect(audit[3]).toMatchObject({ fromVersion: 3, toVersion: 2 });
    expect(audit[4].reason).toContain('version 3 no longer serves');
    expect((await target.registry.getPointer(MODEL, 'production'))?.version).toBe(2);
    const stages = Object.fromEntries(
      (await target.registry.listVersions(MODEL)).map((entry) => [entry.version, entry.stage]),
    );
    expect(stages).toEqual({ 1: 'archived', 2: 'production', 3: 'rolled_back' });
    // The duplicate delivery was handled (and ignored) by the function, not lost on the way.
    await until(
      async () => runtime.logs('rollback').some((line) => line.includes('already handled')),
      'the duplicate delivery',
    );
    expect((await actions()).filter((action) => action === 'rollback')).toHaveLength(1);
  }, 180_000);

  it('leaves a refused artifact serving (503) when the spec turns serving.fallback off', async () => {
    // Prepare: a model whose spec keeps a refused version; versions 1 and 2 promoted in turn
    const model = 'breast-cancer';
    const spec = JSON.parse(readFileSync(new URL(`../../data/specs/${model}.json`, import.meta.url), 'utf8'));
    await target.registry.putSpec(model, { ...spec, serving: { fallback: false } });
    for (const n of [1, 2]) {
      await target.registry.createVersion(versionRecord(model, n, 'staging'));
      await target.registry.promote(model, n, {
        expected: n === 1 ? undefined : 1,
        reason: 'test',
        actor: 'test',
      });
    }
    const alarmName = `Driftline/rollback/${model}/production/artifact-refused`;
    // Act: its artifact-refused alarm enters ALARM
    await runtime.putEvent({
      source: 'aws.cloudwatch',
      'detail-type': 'CloudWatch Alarm State Change',
      detail: {
        alarmName,
        state: { value: 'ALARM', reason: 'Threshold Crossed', timestamp: new Date().toISOString() },
        configuration: {
          metrics: [
            {
              id: 'm1',
              metricStat: {
                metric: {
                  namespace: 'Driftline',
                  name: 'ArtifactRefused',
                  dimensions: { service: 'driftline', model, role: 'production' },
                },
              },
            },
          ],
        },
      },
    });
    await until(
      async () => runtime.logs('rollback').some((line) => line.includes('serving.fallback is false')),
      'the rollback function',
    );
    // Assess: nothing fell back, nothing was audited beyond the promotions
    expect((await target.registry.getPointer(model, 'production'))?.version).toBe(2);
    expect((await target.registry.listAudit(model)).map((entry) => entry.action)).toEqual([
      'promote',
      'promote',
    ]);
  }, 180_000);
});
