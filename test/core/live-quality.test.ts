import { describe, expect, it } from 'vitest';
import { holdsRole, LIVE_ERROR_CAP, liveQuality } from '../../lambdas/core/live-quality.ts';

describe('liveQuality', () => {
  it('measures a forecast by its absolute percentage error against the holdout MAPE', () => {
    expect(liveQuality({ value: 110 }, 100, { mape: 5 })).toEqual({ error: 10, ratio: 2, measure: 'ape' });
    expect(liveQuality({ value: 90 }, 100, { mape: 20 })).toEqual({ error: 10, ratio: 0.5, measure: 'ape' });
  });

  it('measures a classifier by being wrong, against the holdout error rate', () => {
    expect(liveQuality({ label: 1 }, 1, { accuracy: 0.95 })).toMatchObject({ error: 0, ratio: 0 });
    expect(liveQuality({ label: 0 }, 1, { accuracy: 0.95 }).ratio).toBeCloseTo(20, 10);
  });

  it('keeps the ratio finite for a version that was perfect on its holdout', () => {
    expect(liveQuality({ label: 0 }, 1, { accuracy: 1 }).ratio).toBe(100);
    expect(liveQuality({ value: 2 }, 1, { mape: 0 }).ratio).toBe(1000);
  });

  it('caps an error that would overflow at 2^53 − 1, so the answer, the alarm and the live sums count it', () => {
    // Act: a forecast near the largest double (overflows the difference), and a label of 0 (ε divides)
    const overflow = liveQuality({ value: 1.0561014539147277e308 }, -1e308, { mape: 5 });
    const zero = liveQuality({ value: 400 }, 0, { mape: 0.05 });
    // Assess
    expect(overflow).toEqual({ error: LIVE_ERROR_CAP, ratio: LIVE_ERROR_CAP / 5, measure: 'ape' });
    expect(zero).toEqual({ error: LIVE_ERROR_CAP, ratio: LIVE_ERROR_CAP, measure: 'ape' });
    expect(JSON.parse(JSON.stringify(overflow))).toEqual(overflow);
  });

  it('refuses a label that is not a number and a prediction without an answer', () => {
    expect(() => liveQuality({ value: 1 }, Number.NaN, { mape: 1 })).toThrow(RangeError);
    expect(() => liveQuality({}, 1, { mape: 1 })).toThrow(/neither a value nor a label/);
  });
});

describe('holdsRole', () => {
  const pointers = { production: { version: 12 }, canary: { version: 13, mode: 'shadow' as const } };

  it.each([
    ['production', 12, true],
    // Version 1's old predictions must not count against version 12, which serves now.
    ['production', 1, false],
    ['shadow', 13, true],
    ['canary', 13, false],
    ['shadow', 12, false],
  ] as const)('%s label of version %i counts against the role: %s', (role, version, counts) => {
    // Act, Assess
    expect(holdsRole(pointers, role, version)).toBe(counts);
  });

  it('counts nothing against a role nobody holds', () => {
    // Act, Assess
    expect(holdsRole({}, 'production', 1)).toBe(false);
    expect(holdsRole({ production: { version: 1 } }, 'canary', 1)).toBe(false);
  });
});
