import { expect } from 'vitest';

/**
 * Asserts |actual − expected| ≤ max(absolute, relative · |expected|): SciPy references are floats, so
 * a test states how many digits it requires rather than bit equality.
 */
export function expectClose(actual: number, expected: number, relative: number, absolute = 0): void {
  const allowed = Math.max(absolute, relative * Math.abs(expected));
  expect(
    Math.abs(actual - expected),
    `${actual} differs from ${expected} by more than ${allowed}`,
  ).toBeLessThanOrEqual(allowed);
}
