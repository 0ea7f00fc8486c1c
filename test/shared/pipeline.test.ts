import { describe, expect, it } from 'vitest';
import { boundText, REASON_MAX_CHARS, summarizeProblems } from '../../lambdas/shared/pipeline.ts';

describe('boundText', () => {
  it('keeps short text as it is', () => {
    expect(boundText('validate failed: bad\nsecond line')).toBe('validate failed: bad\nsecond line');
  });

  it('keeps the first lines and says how many lines and characters were left out', () => {
    // Act
    const bounded = boundText('a\nb\nc', 100, 2);
    // Assess
    expect(bounded).toBe('a\nb… (1 more line, 2 more characters left out)');
  });

  it('bounds a reason built from 10,000 long column names far below a registry item', () => {
    // Prepare
    const names = Array.from({ length: 10_000 }, (_, i) => `column_${i}_${'x'.repeat(60)}`);
    const reason = `unexpected columns: ${names.join(', ')}`;
    // Act
    const bounded = boundText(reason);
    // Assess
    expect(reason.length).toBeGreaterThan(400 * 1024);
    expect(bounded.length).toBeLessThan(REASON_MAX_CHARS + 100);
    expect(bounded).toMatch(/^unexpected columns: column_0_x+/);
    expect(bounded).toMatch(/\d+ more characters left out\)$/);
  });

  it('bounds every problem a validation summary shows', () => {
    // Prepare
    const huge = { severity: 'error', message: `missing columns: ${'c,'.repeat(100_000)}` };
    // Act
    const summary = summarizeProblems([huge, huge, huge, huge]);
    // Assess
    expect(summary.length).toBeLessThan(2_000);
    expect(summary).toMatch(/and 1 more problems/);
  });
});
