import { describe, expect, it } from 'vitest';
import {
  describeFate,
  dropFate,
  interruptionReason,
  orphanRunId,
  resumeRunId,
  stillRunning,
} from '#core/recovery.ts';

describe('recovery rules', () => {
  it('leaves running and redriving executions to record their own run', () => {
    // Assess
    expect(['RUNNING', 'PENDING_REDRIVE'].every((state) => stillRunning(state as never))).toBe(true);
    expect(
      ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'MISSING'].some((s) => stillRunning(s as never)),
    ).toBe(false);
  });

  it('says where the run stopped and why', () => {
    // Assess
    expect(interruptionReason('train', 'MISSING')).toBe(
      'the run stopped at train: its execution no longer exists (the runtime that ran it was stopped or killed)',
    );
    expect(interruptionReason('merge', 'ABORTED')).toMatch(/ended ABORTED without recording/);
  });

  it('keeps a drop the run already merged or held back, and resumes any other', () => {
    // Assess
    expect(dropFate({ runId: 'a' }, 'a', undefined)).toEqual({ kind: 'merged' });
    expect(dropFate({ runId: 'a' }, 'b', 7)).toEqual({ kind: 'held', seq: 7 });
    expect(dropFate({ runId: 'a' }, 'b', undefined)).toEqual({ kind: 'resume', runId: resumeRunId('a') });
    expect(describeFate({ kind: 'resume', runId: 'r' })).toBe('its drop was started again as run r');
  });

  it('names the runs it starts deterministically, within Step Functions limits', () => {
    // Act
    const names = [resumeRunId('a'), resumeRunId('a'), resumeRunId('b'), orphanRunId('f'.repeat(64))];
    // Assess: the same interrupted run is always resumed under one name, so a drop never gets two runs
    expect(names[0]).toBe(names[1]);
    expect(names[0]).not.toBe(names[2]);
    for (const name of names) expect(name).toMatch(/^[a-z]+-[0-9a-f]{1,40}$/);
    expect(Math.max(...names.map((name) => name.length))).toBeLessThanOrEqual(80);
  });
});
