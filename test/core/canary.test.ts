import { describe, expect, it } from 'vitest';
import { canaryDraw, canarySeed } from '#core/canary.ts';
import { seededRandom } from '#core/random.ts';

const canaryCount = (seed: number, weight: number, requests: number) => {
  const draw = canaryDraw(seed);
  let count = 0;
  for (let i = 0; i < requests; i++) if (draw() < weight) count++;
  return count;
};

describe('canaryDraw', () => {
  it('gives each container its canary share to within 3 requests over any run, for every seed', () => {
    // Prepare: 500 seeds from a seeded source, the weights specs use.
    const random = seededRandom(15);
    const seeds = Array.from({ length: 500 }, () => random());
    for (const weight of [0.05, 0.1, 0.2, 0.5]) {
      let worst = 0;
      for (const seed of seeds) {
        // Act: the canary count after every request of a run of 1,000.
        const draw = canaryDraw(seed);
        let count = 0;
        for (let n = 1; n <= 1_000; n++) {
          if (draw() < weight) count++;
          worst = Math.max(worst, Math.abs(count - n * weight));
        }
      }
      // Assess
      expect(worst, `weight ${weight}`).toBeLessThanOrEqual(3);
    }
  });

  it('is the same sequence for the same seed, and draws in [0, 1)', () => {
    const a = canaryDraw(0.25);
    const b = canaryDraw(0.25);
    const draws = Array.from({ length: 100 }, () => a());
    expect(draws).toEqual(Array.from({ length: 100 }, () => b()));
    expect(draws.every((u) => u >= 0 && u < 1)).toBe(true);
    // From seed 0 a 20% canary answers the 5th and 10th of the first 10 requests (frac(n·0.618…) < 0.2).
    const draw = canaryDraw(0);
    expect(Array.from({ length: 10 }, (_, i) => (draw() < 0.2 ? i + 1 : 0)).filter(Boolean)).toEqual([5, 10]);
    // 79 of 400 from seed 0: `node -e` over the same recurrence gives 79 (400·0.2 = 80, within 3).
    expect(canaryCount(0, 0.2, 400)).toBe(79);
  });

  it('refuses a seed outside [0, 1)', () => {
    expect(() => canaryDraw(1)).toThrow(RangeError);
    expect(() => canaryDraw(-0.1)).toThrow(RangeError);
  });

  it('seeds each container from its identity: the same name, the same sequence', () => {
    // FNV-1a 32 of "a" is 0xe40c292c and of "" its offset basis 0x811c9dc5 (the FNV test vectors).
    expect(canarySeed('a')).toBe(0xe40c292c / 2 ** 32);
    expect(canarySeed('')).toBe(0x811c9dc5 / 2 ** 32);
    const stream = '2026/01/01/[$LATEST]0f1e2d3c4b5a69788796a5b4c3d2e1f0';
    expect(canarySeed(stream)).toBe(canarySeed(stream));
    expect(canarySeed(stream)).not.toBe(canarySeed(`${stream}0`));
    const random = seededRandom(7);
    for (let i = 0; i < 1_000; i++) {
      const seed = canarySeed(`stream-${random()}`);
      expect(seed >= 0 && seed < 1).toBe(true);
    }
  });
});
