import { describe, expect, it } from 'vitest';
import { stepsReached } from '../../bin/commands/remote.ts';

describe('stepsReached (what `driftline upload` prints as a run goes)', () => {
  it('lists every timed step in order, one shorter than the poll interval included, then the current one', () => {
    // Prepare: drift took 121 ms, between two polls 250 ms apart (the tour printed "validate → register")
    const durations = {
      validate: { start: '2026-12-05T03:45:16.400Z', end: '2026-12-05T03:45:16.464Z', seconds: 0.064 },
      drift: { start: '2026-12-05T03:45:16.470Z', end: '2026-12-05T03:45:16.591Z', seconds: 0.121 },
      register: { start: '2026-12-05T03:45:16.600Z' },
    };
    // Act, Assess
    expect(stepsReached({ step: 'register', durations })).toEqual(['validate', 'drift', 'register']);
    expect(stepsReached({ step: 'done', durations })).toEqual(['validate', 'drift', 'register', 'done']);
    expect(stepsReached({ step: 'validate', durations: {} })).toEqual(['validate']);
  });
});
