/**
 * Prediction over both serving layouts (integer cuts; packed one word per node, or two words per node for
 * forests loaded from format 1 and forests too large to pack) against a plain walk of the node arrays (`row[feature] <= threshold` goes left, NaN right), the representation it replaced, on seeded
 * forests of every engine and aggregation, with rows that sit exactly on thresholds, between them, past
 * them, and on NaN, ±Infinity and −0.
 */
import { describe, expect, it } from 'vitest';
import {
  deserializeForest,
  type FlatForest,
  getLearner,
  mergeForests,
  predictBatch,
  predictRow,
  serializeForest,
  valuesPerLeaf,
} from '#core/forest/index.ts';
import { servingLayout } from '#core/forest/serving.ts';
import { friedman1, sliceRows } from '#core/forest/synthetic.ts';
import type { TrainingSet } from '#core/types.ts';
import { breastCancer } from './fixtures.ts';

/** The leaf a row reaches in one tree, by the node arrays alone. */
function referenceLeaf(forest: FlatForest, tree: number, row: ArrayLike<number>): number {
  const { nodeFeature, nodeThreshold, nodeNext } = forest;
  let node = forest.treeRoots[tree];
  while (nodeFeature[node] >= 0) {
    node = row[nodeFeature[node]] <= nodeThreshold[node] ? node + 1 : nodeNext[node];
  }
  return nodeNext[node];
}

/** The mean of the trees' leaf values (regression value, or class probabilities), trees in order. */
function referenceMean(forest: FlatForest, row: ArrayLike<number>): Float64Array {
  const perLeaf = valuesPerLeaf(forest);
  const sum = new Float64Array(perLeaf);
  for (let tree = 0; tree < forest.nTrees; tree++) {
    const base = referenceLeaf(forest, tree, row) * perLeaf;
    for (let k = 0; k < perLeaf; k++) sum[k] += forest.leafValues[base + k];
  }
  return sum.map((value) => value / forest.nTrees);
}

/**
 * Holdout rows, then rows built from the forest's own thresholds: each feature set exactly on a threshold
 * the forest splits on, on the next double above it, and on NaN, ±Infinity and −0 in turn.
 */
function probeRows(forest: FlatForest, test: TrainingSet): Float64Array[] {
  const { featureCount, nodeFeature, nodeThreshold } = forest;
  const rows: Float64Array[] = [];
  for (let row = 0; row < Math.min(test.rowCount, 60); row++) {
    rows.push(test.x.slice(row * featureCount, (row + 1) * featureCount));
  }
  const onThreshold = new Float64Array(featureCount);
  const above = new Float64Array(featureCount);
  for (let node = 0; node < nodeFeature.length && rows.length < 200; node++) {
    const feature = nodeFeature[node];
    if (feature < 0) continue;
    onThreshold[feature] = nodeThreshold[node];
    above[feature] = nodeThreshold[node] + Math.abs(nodeThreshold[node]) * Number.EPSILON + Number.MIN_VALUE;
    rows.push(onThreshold.slice(), above.slice());
  }
  for (const special of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0]) {
    for (let feature = 0; feature < featureCount; feature++) {
      const row = rows[feature % 60].slice();
      row[feature] = special;
      rows.push(row);
    }
    rows.push(new Float64Array(featureCount).fill(special));
  }
  return rows;
}

function expectSameAsNodeArrays(forest: FlatForest, test: TrainingSet): void {
  const rows = probeRows(forest, test);
  const perLeaf = valuesPerLeaf(forest);
  const x = new Float64Array(rows.length * forest.featureCount);
  rows.forEach((row, index) => {
    x.set(row, index * forest.featureCount);
  });
  const batch = predictBatch(forest, x, rows.length);
  rows.forEach((row, index) => {
    const expected = referenceMean(forest, row);
    const probabilities = new Float64Array(perLeaf);
    const value = predictRow(forest, row, probabilities);
    if (forest.task === 'regression') {
      expect(value, `row ${index}`).toBe(expected[0]);
    } else {
      expect(probabilities, `row ${index}`).toEqual(expected);
    }
    expect(batch.subarray(index * perLeaf, (index + 1) * perLeaf), `row ${index}`).toEqual(expected);
  });
}

/**
 * The forest as fitted, loaded from format 3 (both on the packed layout when they fit it) and loaded from
 * format 1 (the two-word layout), each checked against the node arrays, and predicting bit for bit alike.
 */
function expectEveryLayoutSame(forest: FlatForest, test: TrainingSet): void {
  const packed = deserializeForest(serializeForest(forest));
  const pairs = deserializeForest(serializeForest(forest, { formatVersion: 1 }));
  expect(servingLayout(forest).kind).toBe('packed');
  expect(servingLayout(packed).kind).toBe('packed');
  expect(servingLayout(pairs).kind).toBe('pairs');
  for (const copy of [forest, packed, pairs]) expectSameAsNodeArrays(copy, test);
  const x = test.x.subarray(0, Math.min(test.rowCount, 100) * test.featureCount);
  const rows = x.length / test.featureCount;
  expect(predictBatch(packed, x, rows)).toEqual(predictBatch(pairs, x, rows));
}

const friedman = friedman1(1_500, 8, 1, 41);
const friedmanTrain = sliceRows(friedman, 0, 1_200);
const friedmanTest = sliceRows(friedman, 1_200, 1_500);
const cancer = breastCancer();

describe('prediction over the serving layout', () => {
  it('equals the walk over node arrays for a fast-engine regression forest, and after a round trip', async () => {
    // Prepare
    const forest = await getLearner('fast').fit(friedmanTrain, { nTrees: 12 }, { seed: 5, workers: 1 });
    // Act / Assess
    expectEveryLayoutSame(forest, friedmanTest);
  });

  it('equals the walk over node arrays for a fast-engine classifier (mean of distributions)', async () => {
    // Prepare
    const forest = await getLearner('fast').fit(cancer.train, { nTrees: 9 }, { seed: 2, workers: 1 });
    // Act / Assess
    expectEveryLayoutSame(forest, cancer.test);
  });

  it('equals the walk over node arrays for ml-random-forest’s midpoint thresholds', async () => {
    // Prepare: 7 trees, so the last three are walked outside a block of four
    const small = friedman1(120, 5, 0.5, 8);
    const forest = await getLearner('ml-random-forest').fit(small, { nTrees: 7 }, { seed: 4 });
    // Act / Assess
    expectEveryLayoutSame(forest, small);
  });

  it('finds the leaf of trees that are a single leaf, beside trees that split', async () => {
    // Prepare: a constant target grows trees of one leaf (the root); merged after five trees that split,
    // one block of four walks a grown tree beside three single leaves
    const constant = { ...friedmanTrain, y: new Float64Array(friedmanTrain.rowCount).fill(2.5) };
    const stumps = await getLearner('fast').fit(constant, { nTrees: 5 }, { seed: 1, workers: 1 });
    const grown = await getLearner('fast').fit(friedmanTrain, { nTrees: 5 }, { seed: 1, workers: 1 });
    const mixed = mergeForests([grown, { ...stumps, firstTree: grown.nTrees }]);
    // Act / Assess
    expect(stumps.nodeFeature.every((feature) => feature < 0)).toBe(true);
    expect(predictRow(stumps, friedmanTest.x.subarray(0, 8))).toBe(2.5);
    expectEveryLayoutSame(mixed, friedmanTest);
  });

  it('reads the cut of the right feature when some features never split (slots are not features)', async () => {
    // Prepare: features 1 and 4 constant in training, so no tree splits on them and the packed walk's
    // cuts are kept for features 0, 2, 3, 5, 6, 7 only; the test rows vary them anyway
    const flat = { ...friedmanTrain, x: friedmanTrain.x.slice() };
    for (let row = 0; row < flat.rowCount; row++) {
      flat.x[row * flat.featureCount + 1] = 0.5;
      flat.x[row * flat.featureCount + 4] = 0.5;
    }
    const forest = await getLearner('fast').fit(flat, { nTrees: 6 }, { seed: 3, workers: 1 });
    // Act
    const layout = servingLayout(forest);
    // Assess
    expect(layout.kind === 'packed' && Array.from(layout.slotFeature)).toEqual([0, 2, 3, 5, 6, 7]);
    expectEveryLayoutSame(forest, friedmanTest);
  });

  it('keeps the two-word layout, and format 1, for a forest with more thresholds than the packed split field holds', async () => {
    // Prepare: one tree, a left chain of 16,385 splits on x0 with thresholds 16,385, 16,384, …, 1 (node i
    // at position i, its right child the leaf at 2 × 16,385 − i, numbered 16,385 − i; the last left child
    // the leaf at 16,385, numbered 0); leaf k holds the value k
    const splits = 16_385;
    const nodeCount = 2 * splits + 1;
    const nodeFeature = new Int32Array(nodeCount).fill(-1);
    const nodeThreshold = new Float64Array(nodeCount);
    const nodeNext = new Uint32Array(nodeCount);
    for (let node = 0; node < splits; node++) {
      nodeFeature[node] = 0;
      nodeThreshold[node] = splits - node;
      nodeNext[node] = 2 * splits - node;
    }
    for (let node = splits; node < nodeCount; node++) nodeNext[node] = node - splits;
    const fitted = await getLearner('fast').fit(friedmanTrain, { nTrees: 1 }, { seed: 1, workers: 1 });
    const chain: FlatForest = {
      ...fitted,
      treeRoots: new Uint32Array(1),
      nodeFeature,
      nodeThreshold,
      nodeNext,
      leafValues: Float32Array.from({ length: splits + 1 }, (_, leaf) => leaf),
    };
    const { featureCount } = friedmanTrain;
    const x0 = [0.5, 7.5, 16_384.5, 20_000];
    const rows = Float64Array.from({ length: x0.length * featureCount }, (_, at) =>
      at % featureCount === 0 ? x0[at / featureCount] : 0,
    );
    // Act
    const predicted = predictBatch(chain, rows, x0.length);
    // Assess: a row leaves the chain right at the first threshold below its x0
    expect(servingLayout(chain).kind).toBe('pairs');
    expect(new DataView(serializeForest(chain).buffer).getUint16(4, true)).toBe(1);
    expect(Array.from(predicted)).toEqual([0, 7, 16_384, 16_385]);
    expectSameAsNodeArrays(chain, friedmanTest);
  });

  it('gives vote shares and the first-to-the-top class for a vote forest', async () => {
    // Prepare
    const forest = await getLearner('ml-random-forest').fit(
      sliceRows(cancer.train, 0, 150),
      { nTrees: 6 },
      { seed: 3 },
    );
    const row = cancer.test.x.slice(0, cancer.test.featureCount);
    const votes = [0, 0];
    let top = 0;
    for (let tree = 0; tree < forest.nTrees; tree++) {
      const base = referenceLeaf(forest, tree, row) * 2;
      const vote = forest.leafValues[base + 1] > forest.leafValues[base] ? 1 : 0;
      votes[vote]++;
      if (votes[vote] > votes[top]) top = vote;
    }
    const probabilities = new Float64Array(2);
    // Act
    const predicted = predictRow(forest, row, probabilities);
    // Assess
    expect(predicted).toBe(top);
    expect(Array.from(probabilities)).toEqual(votes.map((count) => count / forest.nTrees));
  });
});
