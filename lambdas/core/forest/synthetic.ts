/**
 * Deterministic synthetic data sets for benchmarks and tests, generated from a seed so that the
 * TypeScript engines and scikit-learn (reading the same rows from a CSV) see exactly the same data.
 */
import type { TrainingSet } from '../types.ts';
import { type RandomStream, treeStream } from './random.ts';

function uniform(rng: RandomStream): number {
  return (rng.nextUint32() + 0.5) / 4294967296;
}

/** A standard normal draw (Box–Muller). */
function normal(rng: RandomStream): number {
  return Math.sqrt(-2 * Math.log(uniform(rng))) * Math.cos(2 * Math.PI * uniform(rng));
}

function featureNames(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `x${index}`);
}

/**
 * Friedman #1 regression (Friedman 1991; scikit-learn's `make_friedman1`): features uniform on [0, 1],
 * `y = 10·sin(π·x0·x1) + 20·(x2 − ½)² + 10·x3 + 5·x4 + noise·N(0, 1)`; features past the fifth are noise.
 *
 * @throws RangeError for fewer than 5 features or 2 rows.
 */
export function friedman1(rowCount: number, featureCount: number, noise: number, seed: number): TrainingSet {
  if (featureCount < 5) throw new RangeError(`friedman1 needs at least 5 features, got ${featureCount}`);
  if (!Number.isInteger(rowCount) || rowCount < 2)
    throw new RangeError(`friedman1 needs at least 2 rows, got ${rowCount}`);
  const rng = treeStream(seed, 0);
  const x = new Float64Array(rowCount * featureCount);
  const y = new Float64Array(rowCount);
  for (let row = 0; row < rowCount; row++) {
    const base = row * featureCount;
    for (let feature = 0; feature < featureCount; feature++) x[base + feature] = uniform(rng);
    y[row] =
      10 * Math.sin(Math.PI * x[base] * x[base + 1]) +
      20 * (x[base + 2] - 0.5) ** 2 +
      10 * x[base + 3] +
      5 * x[base + 4] +
      noise * normal(rng);
  }
  return { task: 'regression', x, y, rowCount, featureCount, featureNames: featureNames(featureCount) };
}

/**
 * A two-class problem in the spirit of scikit-learn's `make_classification`: each class is two Gaussian
 * clusters centred on random vertices of a hypercube (side 2) in 5 informative features; 5 more features
 * are random linear combinations of those, the rest pure noise, and 3% of the labels are flipped.
 *
 * @throws RangeError for fewer than 10 features or 2 rows.
 */
export function twoClassClusters(rowCount: number, featureCount: number, seed: number): TrainingSet {
  const informative = 5;
  const redundant = 5;
  if (featureCount < informative + redundant) {
    throw new RangeError(
      `twoClassClusters needs at least ${informative + redundant} features, got ${featureCount}`,
    );
  }
  if (!Number.isInteger(rowCount) || rowCount < 2)
    throw new RangeError(`twoClassClusters needs at least 2 rows`);
  const rng = treeStream(seed, 0);
  const centroids = Array.from({ length: 4 }, () =>
    Array.from({ length: informative }, () => (rng.below(2) === 0 ? -1 : 1)),
  );
  const mixing = Array.from({ length: redundant }, () =>
    Array.from({ length: informative }, () => 2 * uniform(rng) - 1),
  );
  const x = new Float64Array(rowCount * featureCount);
  const y = new Float64Array(rowCount);
  for (let row = 0; row < rowCount; row++) {
    const cluster = rng.below(4);
    const base = row * featureCount;
    for (let feature = 0; feature < informative; feature++) {
      x[base + feature] = centroids[cluster][feature] + normal(rng);
    }
    for (let feature = 0; feature < redundant; feature++) {
      let value = 0;
      for (let source = 0; source < informative; source++)
        value += mixing[feature][source] * x[base + source];
      x[base + informative + feature] = value;
    }
    for (let feature = informative + redundant; feature < featureCount; feature++)
      x[base + feature] = normal(rng);
    const label = cluster >> 1;
    y[row] = uniform(rng) < 0.03 ? 1 - label : label;
  }
  return {
    task: 'classification',
    x,
    y,
    rowCount,
    featureCount,
    featureNames: featureNames(featureCount),
    classes: [0, 1],
  };
}

/** Rows `[start, end)` of a training set. */
export function sliceRows(data: TrainingSet, start: number, end: number): TrainingSet {
  return {
    ...data,
    x: data.x.slice(start * data.featureCount, end * data.featureCount),
    y: data.y.slice(start, end),
    rowCount: end - start,
  };
}
