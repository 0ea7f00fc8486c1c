import { describe, expect, it } from 'vitest';
import type { AslDefinition } from '../../infra/retrain-definition.ts';
import { worstCaseSeconds } from '../../infra/retrain-pipeline.ts';

const task = (next: Record<string, unknown>, retry: unknown[] = []) => ({
  Type: 'Task',
  TimeoutSeconds: 100,
  Retry: retry,
  ...next,
});

describe('worstCaseSeconds', () => {
  it('counts every attempt at its timeout, the retry delays, throttled attempts as their delay only', () => {
    // Prepare: 3 attempts of 100 s, delays 2 + 4 (capped at 5 → 2 + 4); throttling 3 retries of 1, 2, 2 s
    const definition: AslDefinition = {
      StartAt: 'A',
      States: {
        A: task({ End: true }, [
          {
            ErrorEquals: ['Lambda.TooManyRequestsException'],
            IntervalSeconds: 1,
            MaxAttempts: 3,
            BackoffRate: 2,
            MaxDelaySeconds: 2,
          },
          {
            ErrorEquals: ['TransientError'],
            IntervalSeconds: 2,
            MaxAttempts: 2,
            BackoffRate: 2,
            MaxDelaySeconds: 5,
          },
        ]) as never,
      },
    };
    // Act / Assess: 3 × 100 + (2 + 4) + (1 + 2 + 2)
    expect(worstCaseSeconds(definition)).toBe(311);
  });

  it('takes the longest branch of a Choice and of a Catch, and waves of a Map', () => {
    // Prepare
    const definition: AslDefinition = {
      StartAt: 'A',
      States: {
        A: task({ Next: 'C', Catch: [{ ErrorEquals: ['States.ALL'], Next: 'F' }] }) as never,
        C: { Type: 'Choice', Choices: [{ Next: 'Short' }], Default: 'SearchHyperparameters' },
        Short: { Type: 'Succeed' },
        SearchHyperparameters: {
          Type: 'Map',
          MaxConcurrency: 50,
          ItemProcessor: { StartAt: 'T', States: { T: task({ End: true }) as never } },
          Next: 'W',
          Catch: [{ ErrorEquals: ['States.ALL'], Next: 'F' }],
        },
        W: { Type: 'Wait', Seconds: 7, Next: 'F' },
        F: task({ End: true }) as never,
      },
    };
    // Act / Assess: A 100 + Map ceil(200 / 50) × 100 + Wait 7 + F 100
    expect(worstCaseSeconds(definition)).toBe(100 + 400 + 7 + 100);
  });

  it('refuses a loop', () => {
    const definition: AslDefinition = {
      StartAt: 'A',
      States: { A: { Type: 'Wait', Seconds: 1, Next: 'A' } },
    };
    expect(() => worstCaseSeconds(definition)).toThrow(/loops through A/);
  });
});
