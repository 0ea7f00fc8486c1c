import { describe, expect, it } from 'vitest';
import { candidates } from '#core/search.ts';

const space = { maxDepth: [4, 8, 16, 32], minSamplesLeaf: [1, 3, 5], bootstrap: [true, false] };

describe('candidates', () => {
  it('puts the warm start first, then its neighbours one axis at a time, then random draws', () => {
    // Act
    const list = candidates({
      space,
      trials: 8,
      seed: 1,
      warmStart: { maxDepth: 8, minSamplesLeaf: 1, bootstrap: true },
    });
    // Assess
    expect(list.slice(0, 5)).toEqual([
      { params: { maxDepth: 8, minSamplesLeaf: 1, bootstrap: true }, origin: 'warm-start' },
      { params: { maxDepth: 4, minSamplesLeaf: 1, bootstrap: true }, origin: 'neighbour' },
      { params: { maxDepth: 16, minSamplesLeaf: 1, bootstrap: true }, origin: 'neighbour' },
      { params: { maxDepth: 8, minSamplesLeaf: 3, bootstrap: true }, origin: 'neighbour' },
      { params: { maxDepth: 8, minSamplesLeaf: 1, bootstrap: false }, origin: 'neighbour' },
    ]);
    expect(list.slice(5).every((candidate) => candidate.origin === 'random')).toBe(true);
    expect(list).toHaveLength(8);
  });

  it('is deterministic for a seed, never repeats, and differs across seeds', () => {
    // Act
    const first = candidates({ space, trials: 20, seed: 42 });
    const again = candidates({ space, trials: 20, seed: 42 });
    const other = candidates({ space, trials: 20, seed: 43 });
    // Assess
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
    expect(new Set(first.map(({ params }) => JSON.stringify(params))).size).toBe(20);
  });

  it('stops at the size of the space and keeps base parameters', () => {
    // Act
    const list = candidates({ space: { maxDepth: [4, 8] }, trials: 10, seed: 1, base: { nTrees: 50 } });
    // Assess
    expect(list).toHaveLength(2);
    expect(list.every(({ params }) => params.nTrees === 50)).toBe(true);
  });

  it('keeps a warm-start value outside the space and steps to the nearest values around it', () => {
    // Act
    const list = candidates({
      space: { maxDepth: [4, 8, 16] },
      trials: 3,
      seed: 1,
      warmStart: { maxDepth: 10, nTrees: 7 },
    });
    // Assess: only searched keys come from the warm start
    expect(list.map(({ params }) => params.maxDepth)).toEqual([10, 8, 16]);
    expect(
      candidates({ space: { maxDepth: [4, 8, 16] }, trials: 9, seed: 1, warmStart: { maxDepth: 10 } }).map(
        ({ params }) => params.maxDepth,
      ),
    ).toEqual([10, 8, 16, 4]);
    expect(list[0].params.nTrees).toBeUndefined();
  });

  it('rejects an empty axis and a non-positive trial count', () => {
    expect(() => candidates({ space: { maxDepth: [] }, trials: 3, seed: 1 })).toThrow(/space.maxDepth/);
    expect(() => candidates({ space, trials: 0, seed: 1 })).toThrow(/trials/);
  });
});
