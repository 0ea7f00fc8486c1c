import { RandomForestClassifier, RandomForestRegression } from 'ml-random-forest';
import { describe, expect, it } from 'vitest';
import {
  deserializeForest,
  getLearner,
  mlRandomForestDefaults,
  nextDown,
  predictBatch,
  predictRow,
  serializeForest,
} from '#core/forest/index.ts';
import { friedman1, sliceRows, twoClassClusters } from '#core/forest/synthetic.ts';
import type { TrainingSet } from '#core/types.ts';

const learner = getLearner('ml-random-forest');

function rows(data: TrainingSet): number[][] {
  return Array.from({ length: data.rowCount }, (_, row) =>
    Array.from(data.x.subarray(row * data.featureCount, (row + 1) * data.featureCount)),
  );
}

/** The library configured as the adapter configures it for the defaults and `nTrees`. */
function libraryOptions(nTrees: number, seed: number) {
  return {
    nEstimators: nTrees,
    maxFeatures: 1,
    seed,
    useSampleBagging: true,
    noOOB: true,
    treeOptions: { maxDepth: Number.POSITIVE_INFINITY, minNumSamples: 3 },
  };
}

describe('nextDown', () => {
  it('gives the largest double below a value, so x < v ⇔ x <= nextDown(v)', () => {
    // Assess
    expect(nextDown(1)).toBe(1 - Number.EPSILON / 2);
    expect(nextDown(0)).toBe(-Number.MIN_VALUE);
    expect(nextDown(-1)).toBe(-1 - Number.EPSILON);
    expect(nextDown(Number.POSITIVE_INFINITY)).toBe(Number.MAX_VALUE);
    for (const value of [0.1, 2.5, -3.75, 1e300]) {
      expect(nextDown(value) < value).toBe(true);
      expect(value <= nextDown(value)).toBe(false);
    }
  });
});

describe('ml-random-forest behind the Learner interface', () => {
  it('converts a regression forest that predicts exactly as the library', async () => {
    // Prepare
    const data = friedman1(160, 6, 1, 31);
    const train = sliceRows(data, 0, 120);
    const test = sliceRows(data, 120, 160);
    const library = new RandomForestRegression({ ...libraryOptions(12, 5), selectionMethod: 'mean' });
    library.train(rows(train), Array.from(train.y));
    // Act
    const forest = await learner.fit(train, { nTrees: 12 }, { seed: 5 });
    // Assess: identical floats, also after a save/load round trip
    const expected = library.predict(rows(test));
    expect(Array.from(predictBatch(forest, test.x, test.rowCount))).toEqual(expected);
    expect(
      Array.from(predictBatch(deserializeForest(serializeForest(forest)), test.x, test.rowCount)),
    ).toEqual(expected);
    // The training rows include values exactly at split points, where `<` versus `<=` matters.
    expect(Array.from(predictBatch(forest, train.x, train.rowCount))).toEqual(library.predict(rows(train)));
  });

  it('converts a classifier whose votes and ties match the library', async () => {
    // Prepare: an even number of trees, so some rows tie
    const data = twoClassClusters(260, 10, 8);
    const train = sliceRows(data, 0, 180);
    const test = sliceRows(data, 180, 260);
    const library = new RandomForestClassifier(libraryOptions(10, 7));
    library.train(rows(train), Array.from(train.y));
    // Act
    const forest = await learner.fit(train, { nTrees: 10 }, { seed: 7 });
    // Assess
    const expected = library.predict(rows(test));
    const probabilities = new Float64Array(2);
    expected.forEach((label, row) => {
      const top = predictRow(forest, test.x.subarray(row * 10, (row + 1) * 10), probabilities);
      expect(top).toBe(label);
      expect(probabilities[0] + probabilities[1]).toBeCloseTo(1, 12);
      // Vote shares: multiples of 1/10
      expect(Math.round(probabilities[1] * 10)).toBeCloseTo(probabilities[1] * 10, 9);
    });
    expect(forest.aggregation).toBe('vote');
  });

  it('records its defaults, importances and an out-of-bag score', async () => {
    // Prepare
    const train = friedman1(100, 5, 0.5, 3);
    // Act
    const forest = await learner.fit(train, { nTrees: 20 }, { seed: 2, oobScore: true });
    // Assess
    expect(forest.engine).toBe('ml-random-forest');
    expect(forest.params).toEqual({ ...mlRandomForestDefaults(), nTrees: 20 });
    expect(forest.featureImportances.reduce((sum, value) => sum + value, 0)).toBeCloseTo(1, 12);
    // Over seeds 1-10 the out-of-bag R² is 0.700 ± 0.027 (mean ± sd, `npx node bench/forest-spread.ts`):
    // no more than 4 sd below the mean.
    expect(forest.oobScore).toBeGreaterThan(0.7 - 4 * 0.027);
  });

  it('refuses hyperparameters the library does not have', async () => {
    // Prepare
    const train = friedman1(30, 5, 0.5, 3);
    // Act / Assess
    await expect(learner.fit(train, { minSamplesLeaf: 5 }, { seed: 1 })).rejects.toThrow(/minSamplesLeaf/);
    await expect(learner.fit(train, { sampleFraction: 0.5 }, { seed: 1 })).rejects.toThrow(/sampleFraction/);
    await expect(learner.fit(train, { maxLeaves: 8 }, { seed: 1 })).rejects.toThrow(/maxLeaves/);
  });
});
