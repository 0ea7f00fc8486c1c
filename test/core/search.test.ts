import { describe, expect, it } from 'vitest';
import { candidates, searchHyperparameters } from '#core/search.ts';

const space = { maxDepth: [4, 8, 16, 32], minSamplesLeaf: [1, 3, 5], bootstrap: [true, false] };

/** A smooth score with its minimum at maxDepth 16, minSamplesLeaf 3, bootstrap on. */
function loss(params: Record<string, unknown>): number {
  const depth = Math.log2(params.maxDepth as number);
  return (depth - 4) ** 2 + ((params.minSamplesLeaf as number) - 3) ** 2 + (params.bootstrap ? 0 : 0.5);
}

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

describe('searchHyperparameters', () => {
  it('with strategy none evaluates only the warm start at full budget', async () => {
    // Act
    const result = await searchHyperparameters({
      space,
      strategy: 'none',
      trials: 10,
      seed: 1,
      direction: 'lower',
      warmStart: { maxDepth: 8, minSamplesLeaf: 1, bootstrap: true },
      evaluate: async (params) => loss(params),
    });
    // Assess
    expect(result.trials).toHaveLength(1);
    expect(result.trials[0]).toMatchObject({ origin: 'warm-start', budget: 1, score: 5 });
    expect(result.best.score).toBe(5);
  });

  it('with strategy none and no warm start evaluates the base parameters', async () => {
    // Act
    const result = await searchHyperparameters({
      space,
      strategy: 'none',
      trials: 10,
      seed: 1,
      direction: 'lower',
      base: { maxDepth: 16, minSamplesLeaf: 3, bootstrap: true },
      evaluate: async (params) => loss(params),
    });
    // Assess
    expect(result.trials.map(({ params }) => params)).toEqual([
      { maxDepth: 16, minSamplesLeaf: 3, bootstrap: true },
    ]);
    expect(result.best.score).toBe(0);
  });

  it('with random search finds the best candidate and is reproducible', async () => {
    // Prepare
    const run = () =>
      searchHyperparameters({
        space,
        strategy: 'random',
        trials: 24,
        seed: 3,
        direction: 'lower',
        concurrency: 4,
        evaluate: async (params) => loss(params),
      });
    // Act
    const first = await run();
    const again = await run();
    // Assess: 24 trials cover the whole 4 × 3 × 2 space, so the optimum is found
    expect(first.best).toEqual({ params: { maxDepth: 16, minSamplesLeaf: 3, bootstrap: true }, score: 0 });
    expect(again.trials.map(({ params, score }) => ({ params, score }))).toEqual(
      first.trials.map(({ params, score }) => ({ params, score })),
    );
  });

  it('with halving keeps the best third each rung and triples the budget up to 1', async () => {
    // Prepare: the score is only trustworthy at full budget; at low budgets it is noisier
    const seen: number[] = [];
    // Act
    const result = await searchHyperparameters({
      space,
      strategy: 'halving',
      trials: 9,
      seed: 5,
      direction: 'higher',
      warmStart: { maxDepth: 16, minSamplesLeaf: 3, bootstrap: true },
      evaluate: async (params, budget) => {
        seen.push(budget);
        return -loss(params);
      },
    });
    // Assess
    const perBudget = (budget: number) => result.trials.filter((trial) => trial.budget === budget).length;
    expect([perBudget(1 / 9), perBudget(1 / 3), perBudget(1)]).toEqual([9, 3, 1]);
    expect(seen).toHaveLength(13);
    expect(result.best).toEqual({ params: { maxDepth: 16, minSamplesLeaf: 3, bootstrap: true }, score: -0 });
    expect(result.trials.every((trial) => trial.seconds >= 0)).toBe(true);
  });

  it('ranks failed (non-finite) scores last', async () => {
    // Act
    const result = await searchHyperparameters({
      space: { maxDepth: [4, 8] },
      strategy: 'random',
      trials: 2,
      seed: 1,
      direction: 'lower',
      evaluate: async (params) => (params.maxDepth === 4 ? Number.NaN : 5),
    });
    // Assess
    expect(result.best.params.maxDepth).toBe(8);
  });
});
