/**
 * What keeps training within a Lambda at a million rows: the search scores candidates on a bounded
 * sample of the training rows, and a warm start does not carry the leaf cap decision of a smaller
 * champion into a larger fit.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fitTabularFeaturizer } from '#core/features.ts';
import { DEFAULT_MAX_LEAVES, resolveParams } from '#core/forest/params.ts';
import { seededRandom } from '#core/random.ts';
import { SEARCH_ROWS, sampleRows } from '#core/selection.ts';
import { parseSpec } from '#core/spec.ts';
import { FIT } from '#core/splits.ts';
import { type FeatureSet, planCandidates, scoreCandidate } from '#core/training.ts';

const repo = new URL('../../', import.meta.url).pathname;
const specOf = (overrides: Record<string, unknown>) =>
  parseSpec({
    ...JSON.parse(readFileSync(`${repo}data/specs/breast-cancer.json`, 'utf8')),
    task: 'regression',
    metric: 'rmse',
    validation: {},
    promotion: {},
    ...overrides,
  });

/** What a champion trained on 20k rows records: its parameters as resolved there, maxLeaves 0 (no cap). */
const championParams = {
  nTrees: 100,
  maxDepth: 16,
  minSamplesLeaf: 2,
  minSamplesSplit: 2,
  maxLeaves: 0,
  maxFeatures: 0.5,
  sampleFraction: 1,
  bootstrap: true,
  maxBins: 255,
};

describe('planCandidates with a warm start', () => {
  it('keeps the champion’s searched values but resolves the leaf cap again for this run’s rows', () => {
    // Prepare
    const spec = specOf({ search: { trials: 4 } });
    // Act
    const [warm] = planCandidates(spec, ['tabular'], { variant: 'tabular', params: championParams });
    // Assess
    expect(warm.origin).toBe('warm-start');
    expect(warm.params).toMatchObject({ maxFeatures: 0.5, minSamplesLeaf: 2, maxDepth: 16 });
    expect(warm.params.maxLeaves).toBeUndefined();
    expect(resolveParams('fast', 'regression', warm.params, 750_000).maxLeaves).toBe(DEFAULT_MAX_LEAVES);
  });

  it('does the same without a search, and keeps what the spec itself asks for', () => {
    // Prepare
    const spec = specOf({ search: { strategy: 'none' }, hyperparameters: { nTrees: 40 } });
    // Act
    const candidates = planCandidates(spec, ['tabular'], { variant: 'tabular', params: championParams });
    // Assess
    expect(candidates).toHaveLength(1);
    expect(candidates[0].params.nTrees).toBe(40);
    expect(resolveParams('fast', 'regression', candidates[0].params, 750_000).maxLeaves).toBe(
      DEFAULT_MAX_LEAVES,
    );
  });
});

describe('sampleRows', () => {
  it('draws a seeded sample without repeats, in row order, and keeps a small set whole', () => {
    // Prepare
    const positions = Int32Array.from({ length: 1000 }, (_, i) => 2 * i);
    // Act
    const sample = sampleRows(positions, 100, 7);
    // Assess
    expect(sample).toHaveLength(100);
    expect(new Set(sample).size).toBe(100);
    expect(Array.from(sample).every((p, i) => p % 2 === 0 && (i === 0 || p > sample[i - 1]))).toBe(true);
    expect(Array.from(sampleRows(positions, 100, 7))).toEqual(Array.from(sample));
    expect(Array.from(sampleRows(positions, 100, 8))).not.toEqual(Array.from(sample));
    expect(sampleRows(positions, 1000, 7)).toBe(positions);
  });
});

describe('scoreCandidate on many rows', () => {
  it(`scores a tabular candidate on at most ${SEARCH_ROWS} training rows`, async () => {
    // Prepare: 150,000 training rows of y = a + b; small trees keep the fit quick.
    const rows = 150_000;
    const random = seededRandom(3);
    const x = Float64Array.from({ length: rows * 2 }, () => random());
    const y = Float64Array.from({ length: rows }, (_, i) => x[2 * i] + x[2 * i + 1]);
    const set: FeatureSet = {
      variant: 'tabular',
      featurizer: {
        kind: 'tabular',
        task: 'regression',
        target: 'y',
        numeric: [
          { name: 'a', fill: 0.5, min: 0, max: 1 },
          { name: 'b', fill: 0.5, min: 0, max: 1 },
        ],
        categorical: [],
        featureNames: ['a', 'b'],
      },
      matrix: {
        x,
        y,
        actual: y,
        base: new Float64Array(rows),
        rows: Int32Array.from({ length: rows }, (_, i) => i),
        rowCount: rows,
        featureCount: 2,
      },
      roles: new Uint8Array(rows).fill(FIT),
      holdout: { rule: 'none', rows: 0, excludedSeenByChampion: 0, digest: '' },
    };
    const candidate = { id: 'c0', variant: 'tabular', origin: 'spec', params: { nTrees: 4, maxLeaves: 16 } };
    // Act
    const scored = await scoreCandidate(set, candidate, 'rmse', { engine: 'fast', seed: 1, workers: 1 });
    // Assess: out-of-bag rows of 4 trees on the sample (each row out of bag with chance 1 − (1 − e⁻¹)⁴ ≈ 0.84)
    expect(scored.scheme).toBe('out-of-bag');
    expect(scored.predictions).toBeLessThanOrEqual(SEARCH_ROWS);
    expect(scored.predictions).toBeGreaterThan(0.8 * SEARCH_ROWS);
    expect(scored.metrics.r2).toBeGreaterThan(0.9);
  });
});

describe('fitTabularFeaturizer medians', () => {
  it('fills a missing value with the median a sort finds, for odd and even counts and many ties', () => {
    // Prepare: columns of 1..4 distinct values (ties everywhere), or all distinct, NaN sprinkled in.
    const random = seededRandom(5);
    for (const [rows, distinct] of [
      [1, 1],
      [2, 2],
      [1001, 3],
      [1000, 4],
      [999, 0],
      [5000, 2],
    ]) {
      const values = Float64Array.from({ length: rows }, () => {
        if (random() < 0.05) return Number.NaN;
        return distinct === 0 ? random() : Math.floor(random() * distinct);
      });
      const finite = Array.from(values)
        .filter(Number.isFinite)
        .sort((a, b) => a - b);
      const middle = finite.length >> 1;
      const expected =
        finite.length === 0
          ? 0
          : finite.length % 2
            ? finite[middle]
            : (finite[middle - 1] + finite[middle]) / 2;
      // Act
      const featurizer = fitTabularFeaturizer(
        {
          rowCount: rows,
          columns: [
            { name: 'a', kind: 'numeric', values },
            { name: 'y', kind: 'numeric', values: new Float64Array(rows) },
          ],
        },
        { task: 'regression', target: 'y', features: ['a'] },
      );
      // Assess
      expect(featurizer.numeric[0].fill, `${rows} rows of ${distinct} values`).toBe(expected);
    }
  });
});
