import { describe, expect, it } from 'vitest';
import {
  type ForecastFeaturizer,
  fitTabularFeaturizer,
  tabularFeatures,
  tabularMatrix,
} from '#core/features.ts';
import { checkServingInputs, ServingInputError } from '#core/serving-inputs.ts';
import type { Table } from '#core/types.ts';

/** Four rows: a number with one blank cell (row 3), a category with one blank cell (row 4), a target. */
const table: Table = {
  rowCount: 4,
  columns: [
    { name: 'radius_mean', kind: 'numeric', values: Float64Array.from([10, 12, Number.NaN, 30]) },
    { name: 'shape', kind: 'text', values: ['round', 'oval', 'round', ''] },
    { name: 'benign', kind: 'numeric', values: Float64Array.from([1, 1, 0, 0]) },
  ],
};
const featurizer = fitTabularFeaturizer(table, {
  task: 'classification',
  target: 'benign',
  features: ['radius_mean', 'shape'],
});

function servingErrorOf(instances: unknown[], policy: 'reject' | 'impute' = 'reject'): ServingInputError {
  try {
    checkServingInputs(featurizer, instances, policy);
  } catch (error) {
    if (error instanceof ServingInputError) return error;
    throw error;
  }
  throw new Error('expected a ServingInputError');
}

describe('checkServingInputs under the default reject policy', () => {
  it('passes a complete instance through unchanged and imputes nothing', () => {
    // Act
    const checked = checkServingInputs(featurizer, [{ radius_mean: 11, shape: 'oval' }], 'reject');
    // Assess
    expect(checked).toEqual({ instances: [{ radius_mean: 11, shape: 'oval' }], imputed: [[]] });
  });

  it('names every feature of an empty instance', () => {
    // Act
    const error = servingErrorOf([{}]);
    // Assess
    expect(error.features).toEqual(['radius_mean', 'shape']);
    expect(error.message).toBe(
      'instances[0]: missing 2 features "radius_mean", "shape" (null counts as missing; this model\'s spec sets serving.missing to "reject")',
    );
  });

  it('names a mis-cased feature as unknown and suggests the stored spelling', () => {
    // Act
    const error = servingErrorOf([{ Radius_Mean: 11, shape: 'oval' }]);
    // Assess
    expect(error.features).toEqual(['radius_mean', 'Radius_Mean']);
    expect(error.message).toContain('missing feature "radius_mean"');
    expect(error.message).toContain('unknown feature "Radius_Mean" (did you mean "radius_mean"?)');
  });

  it('names a number given as text, and an unknown key, in the instance they belong to', () => {
    // Act
    const error = servingErrorOf([
      { radius_mean: 11, shape: 'oval' },
      { radius_mean: 'abc', shape: 'oval', colour: 'red' },
    ]);
    // Assess
    expect(error.features).toEqual(['colour', 'radius_mean']);
    expect(error.message).toBe(
      'instances[1]: unknown feature "colour"; feature "radius_mean" must be a number, got "abc"',
    );
  });

  it('names at most 20 unknown keys, each cut at 100 characters, and counts the rest', () => {
    // Prepare: 10,000 unknown keys, the first of a megabyte (a request of them could be answered with an
    // error larger than Lambda's 6 MB response, after seconds of looking for spellings to suggest)
    const instance = Object.fromEntries([
      ['k'.repeat(1_000_000), 1],
      ...Array.from({ length: 9_999 }, (_, i) => [`key${i}`, 1]),
      ['radius_mean', 11],
      ['shape', 'oval'],
    ]);
    // Act
    const error = servingErrorOf([instance]);
    // Assess
    expect(error.message).toMatch(/^instances\[0\]: unknown feature "k{100}…"; unknown feature "key0"; /);
    expect(error.message.match(/unknown feature "/g)).toHaveLength(20);
    expect(error.message).toMatch(/; and 9980 more unknown features$/);
    expect(error.message.length).toBeLessThan(1_000);
    expect(error.features).toHaveLength(10_000);
  });

  it('treats null exactly as an absent feature', () => {
    // Act
    const asNull = servingErrorOf([{ radius_mean: null, shape: 'oval' }]);
    const absent = servingErrorOf([{ shape: 'oval' }]);
    // Assess
    expect(asNull.message).toBe(absent.message);
    expect(asNull.features).toEqual(['radius_mean']);
  });

  it('refuses an instance that is not an object', () => {
    // Act
    const error = servingErrorOf([[1, 2]]);
    // Assess
    expect(error.message).toBe('instances[0] must be an object of feature values');
  });
});

describe('checkServingInputs under the impute policy', () => {
  it('fills a missing number with the training median and reports it per instance', () => {
    // Act
    const checked = checkServingInputs(
      featurizer,
      [{ shape: 'round' }, { radius_mean: null, shape: null }, { radius_mean: 40, shape: 'oval' }],
      'impute',
    );
    // Assess: the median of the training values 10, 12, 30 is 12.
    expect(checked.instances).toEqual([
      { radius_mean: 12, shape: 'round' },
      { radius_mean: 12 },
      { radius_mean: 40, shape: 'oval' },
    ]);
    expect(checked.imputed).toEqual([['radius_mean'], ['radius_mean', 'shape'], []]);
  });

  it('encodes an imputed row exactly as training encoded the same blank cells', () => {
    // Prepare: training row 3 has a blank radius, row 4 a blank shape.
    const training = tabularMatrix(featurizer, table);
    const width = training.featureCount;
    const served = new Float64Array(width);
    // Act
    const [blankRadius, blankShape] = checkServingInputs(
      featurizer,
      [
        { radius_mean: null, shape: 'round' },
        { radius_mean: 30, shape: null },
      ],
      'impute',
    ).instances as Record<string, number | string>[];
    // Assess
    tabularFeatures(featurizer, blankRadius, served);
    expect(Array.from(served)).toEqual(Array.from(training.x.subarray(2 * width, 3 * width)));
    tabularFeatures(featurizer, blankShape, served);
    expect(Array.from(served)).toEqual(Array.from(training.x.subarray(3 * width, 4 * width)));
  });

  it('still refuses unknown keys and mistyped values', () => {
    // Act
    const error = servingErrorOf([{ radius_mean: 'abc', Shape: 'oval' }], 'impute');
    // Assess
    expect(error.features).toEqual(['Shape', 'radius_mean']);
  });
});

describe('checkServingInputs on a forecast model', () => {
  it('leaves forecast instances to the model', () => {
    // Prepare
    const forecast: ForecastFeaturizer = {
      kind: 'forecast',
      target: 'value',
      time: 'month',
      lags: 2,
      season: 12,
      transform: 'none',
      monthOfYear: false,
      historyLength: 2,
      featureNames: ['lag_2', 'lag_1'],
      inputRange: { min: 0, max: 1 },
    };
    // Act
    const checked = checkServingInputs(forecast, [{ history: [1, 2] }], 'reject');
    // Assess
    expect(checked).toEqual({ instances: [{ history: [1, 2] }], imputed: [[]] });
  });
});
