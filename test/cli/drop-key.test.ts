import { describe, expect, it } from 'vitest';
import { dropKey } from '../../bin/commands/remote.ts';

describe('dropKey', () => {
  it('names the model folder, the UTC second, a random part and the file name', () => {
    expect(dropKey('air', 'data/drops/x.csv', new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), 'ab12cd34')).toBe(
      'incoming/air/20260102T030405Z-ab12cd34-x.csv',
    );
  });

  it('gives two uploads of the same file in the same second different keys', () => {
    // Act
    const at = new Date(Date.UTC(2026, 0, 1));
    const keys = new Set(Array.from({ length: 100 }, () => dropKey('air', 'same.csv', at)));
    // Assess
    expect(keys.size).toBe(100);
  });
});
