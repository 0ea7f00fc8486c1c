import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_HISTORY_MONTHS,
  DEFAULT_HISTORY_ROWS,
  DEFAULT_MAX_DROP_BYTES,
  DEFAULT_MAX_DROP_ROWS,
  defaultMinRows,
  historyWindow,
  holdoutRows,
  monthIndex,
  monthLabel,
  parseSpec,
  resolveColumns,
  resolveFeatures,
  SpecError,
  suggestName,
} from '#core/spec.ts';
import type { Table } from '#core/types.ts';

const specsDir = new URL('../../data/specs/', import.meta.url);
const shippedSpec = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`${name}.json`, specsDir), 'utf8'));

const forecast = { name: 'air', task: 'forecast', target: 'value', time: 'month' };
const regression = { name: 'houses', task: 'regression', target: 'price' };
const classification = { name: 'churn', task: 'classification', target: 'churned' };

function specErrorOf(json: unknown): SpecError {
  try {
    parseSpec(json);
  } catch (error) {
    if (error instanceof SpecError) return error;
    throw error;
  }
  throw new Error('expected parseSpec to throw a SpecError');
}

describe('parseSpec defaults', () => {
  it('fills every default of a minimal forecast spec', () => {
    // Act
    const spec = parseSpec(forecast);
    // Assess
    expect(spec).toEqual({
      ...forecast,
      lags: 12,
      season: 12,
      holdout: 24,
      metric: 'mape',
      seed: 42,
      engine: 'fast',
      featurize: { transform: 'auto', monthOfYear: false },
      serving: { fallback: true },
      validation: {
        minRows: 12 + 2 * 24,
        maxMissing: 0,
        ranges: {},
        maxBytes: DEFAULT_MAX_DROP_BYTES,
        maxRows: DEFAULT_MAX_DROP_ROWS,
      },
      history: { months: DEFAULT_HISTORY_MONTHS },
      drift: {
        alpha: 0.05,
        share: 0.5,
        psiThreshold: 0.2,
        wassersteinThreshold: 0.1,
        jensenShannonThreshold: 0.1,
        minRows: 10,
        columns: {},
      },
      promotion: { margin: 0.01, bars: {}, confidence: 0.95, resamples: 2000 },
      hyperparameters: {},
      search: {
        strategy: 'random',
        trials: 8,
        space: { maxFeatures: [0.33, 0.5, 1.0], minSamplesLeaf: [1, 2, 5], maxDepth: [0, 8, 16] },
      },
      monitoring: {
        latencyP99Ms: 1000,
        errorRate: 0.05,
        qualityMultiple: 2,
        periodSeconds: 60,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        minFeedback: 5,
      },
      rollout: { mode: 'direct', canaryWeight: 0.2, bakeMinutes: 30 },
    });
  });

  it('uses the regression defaults: rmse, a 25% holdout and 20 rows', () => {
    // Act
    const spec = parseSpec(regression);
    // Assess
    expect(spec).toMatchObject({ metric: 'rmse', holdout: 0.25, validation: { minRows: 20 } });
    expect(spec.search.space.maxFeatures).toEqual([0.33, 0.5, 1.0]);
  });

  it('uses the classification defaults: auc, a 25% holdout and a sqrt-features search space', () => {
    // Act
    const spec = parseSpec(classification);
    // Assess
    expect(spec).toMatchObject({ metric: 'auc', holdout: 0.25, validation: { minRows: 20 } });
    expect(spec.search.space).toEqual({
      maxFeatures: ['sqrt', 0.5],
      minSamplesLeaf: [1, 2, 5],
      maxDepth: [0, 8, 16],
    });
  });

  it('derives the forecast minRows from lags and an integer holdout, or 24 months for a fractional one', () => {
    // Act
    const rowHoldout = parseSpec({ ...forecast, lags: 6, holdout: 10 });
    const fractionHoldout = parseSpec({ ...forecast, lags: 6, holdout: 0.2 });
    // Assess
    expect(rowHoldout.validation.minRows).toBe(6 + 2 * 10);
    expect(fractionHoldout.validation.minRows).toBe(6 + 2 * 24);
    expect(defaultMinRows({ task: 'regression', holdout: 0.25 })).toBe(20);
  });

  it("windows a forecast's history at 100 years, or at the data a retrain needs when that is more", () => {
    // Act
    const usual = parseSpec(forecast);
    const longHoldout = parseSpec({ ...forecast, lags: 12, holdout: 600 });
    const given = parseSpec({ ...forecast, history: { months: 240 } });
    // Assess
    expect(usual.history).toEqual({ months: 1200 });
    expect(longHoldout.history).toEqual({ months: 12 + 2 * 600 });
    expect(historyWindow(given, 2)).toEqual({ months: 240 });
  });

  it('windows a tabular history at 20M cells by default: 1M rows of up to 20 columns, fewer rows when wider', () => {
    // Act
    const spec = parseSpec(regression);
    const given = parseSpec({ ...regression, history: { rows: 5000 } });
    const rowHoldout = parseSpec({ ...classification, holdout: 400 });
    // Assess
    expect(spec.history).toEqual({});
    expect(historyWindow(spec, 5)).toEqual({ rows: DEFAULT_HISTORY_ROWS });
    expect(historyWindow(spec, 20)).toEqual({ rows: 1_000_000 });
    expect(historyWindow(spec, 31)).toEqual({ rows: 645_161 });
    expect(historyWindow(spec, 200)).toEqual({ rows: 100_000 });
    // Never below the data a retrain needs, however wide: minRows, and one more row than an integer holdout
    expect(historyWindow(spec, 10_000_000)).toEqual({ rows: 20 });
    expect(historyWindow(rowHoldout, 10_000_000)).toEqual({ rows: 401 });
    expect(historyWindow(given, 20)).toEqual({ rows: 5000 });
  });

  it('keeps an explicit minRows and an explicit search space as given', () => {
    // Act
    const spec = parseSpec({
      ...regression,
      validation: { minRows: 5 },
      search: { space: { nTrees: [50, 100] } },
    });
    // Assess
    expect(spec.validation.minRows).toBe(5);
    expect(spec.search.space).toEqual({ nTrees: [50, 100] });
  });

  it('defaults the search space to what the engine can do', () => {
    // Act
    const spec = parseSpec({ ...classification, engine: 'ml-random-forest' });
    const pinned = parseSpec({
      ...classification,
      engine: 'ml-random-forest',
      hyperparameters: { minSamplesLeaf: 1 },
    });
    // Assess
    expect(spec.search.space).toEqual({ minSamplesSplit: [2, 4, 8], maxDepth: [0, 8, 16] });
    expect(pinned.hyperparameters.minSamplesLeaf).toBe(1);
  });

  it('gives each spec its own default search space, so mutating one cannot leak into the next', () => {
    // Prepare
    const first = parseSpec(regression);
    first.search.space.maxDepth?.push(99);
    // Act
    const second = parseSpec(regression);
    // Assess
    expect(second.search.space.maxDepth).toEqual([0, 8, 16]);
  });

  it('accepts every documented field at once', () => {
    // Prepare
    const full = {
      ...classification,
      description: 'Telecom churn',
      features: ['tenure', 'plan', 'charges'],
      categorical: ['plan'],
      holdout: 100,
      metric: 'f1',
      seed: 7,
      engine: 'fast',
      validation: { minRows: 200, maxMissing: 0.05, ranges: { tenure: { min: 0 } }, classes: [0, 1] },
      drift: {
        alpha: 0.01,
        share: 0.3,
        minRows: 50,
        columns: { plan: { test: 'chisquare' }, tenure: { threshold: 0.3 } },
      },
      promotion: {
        margin: 0.05,
        bars: { f1: { min: 0.7 }, logloss: { max: 0.5 } },
        confidence: 0.9,
        resamples: 500,
      },
      hyperparameters: {
        nTrees: 300,
        maxDepth: 12,
        maxFeatures: 'log2',
        sampleFraction: 0.8,
        bootstrap: false,
        maxBins: 64,
      },
      search: { strategy: 'random', trials: 30, space: { maxFeatures: ['sqrt', 0.3], maxLeaves: [0, 64] } },
      monitoring: {
        latencyP99Ms: 250,
        errorRate: 0.01,
        periodSeconds: 30,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
      },
      rollout: { mode: 'canary', canaryWeight: 0.1, bakeMinutes: 60 },
      schedule: 'cron(0 3 ? * MON *)',
      serving: { missing: 'impute' },
    };
    // Act
    const spec = parseSpec(full);
    // Assess
    expect(spec).toMatchObject(full);
  });
});

describe('the missing-value policy', () => {
  it('rejects missing serving inputs by default', () => {
    // Act
    const spec = parseSpec(classification);
    // Assess
    expect(spec.task !== 'forecast' && spec.serving).toEqual({ missing: 'reject', fallback: true });
  });

  it('refuses a training tolerance for blanks that serving would not apply the same way', () => {
    // Act
    const error = specErrorOf({ ...classification, validation: { maxMissing: 0.1 } });
    // Assess
    expect(error.issues).toEqual([
      {
        path: 'spec.validation.maxMissing',
        message:
          'lets training fill missing feature values with the training median, so serving must too: set serving.missing to "impute" (or maxMissing to 0), got 0.1',
      },
    ]);
  });

  it('accepts blanks in training when serving imputes them too, and only on tabular tasks', () => {
    // Act
    const spec = parseSpec({
      ...regression,
      validation: { maxMissing: 0.1 },
      serving: { missing: 'impute' },
    });
    const forecastError = specErrorOf({ ...forecast, serving: { missing: 'impute' } });
    const typo = specErrorOf({ ...regression, serving: { missing: 'fill' } });
    // Assess
    expect(spec.task !== 'forecast' && spec.serving.missing).toBe('impute');
    expect(forecastError.issues[0].path).toBe('spec.serving.missing');
    expect(typo.message).toBe(`spec.serving.missing: must be 'reject' or 'impute', got "fill"`);
  });
});

describe('the shipped specs', () => {
  it('air-passengers parses as a 12-lag forecast held out on its last 24 months with a 10% MAPE bar', () => {
    // Act
    const spec = parseSpec(shippedSpec('air-passengers'));
    // Assess
    expect(spec).toMatchObject({
      name: 'air-passengers',
      task: 'forecast',
      target: 'value',
      time: 'month',
      lags: 12,
      holdout: 24,
      metric: 'mape',
      promotion: { bars: { mape: { max: 10 } } },
      validation: { minRows: 60 },
    });
  });

  it('breast-cancer parses as a 0/1 classifier held out on 25% with an AUC bar of 0.9', () => {
    // Act
    const spec = parseSpec(shippedSpec('breast-cancer'));
    // Assess
    expect(spec).toMatchObject({
      name: 'breast-cancer',
      task: 'classification',
      target: 'benign',
      holdout: 0.25,
      metric: 'auc',
      validation: { classes: [0, 1], minRows: 20 },
      promotion: { bars: { auc: { min: 0.9 } } },
    });
  });
});

describe('parseSpec errors', () => {
  it.each([
    [
      { ...forecast, holdout: -3 },
      'spec.holdout: must be a positive integer (rows) or a fraction between 0 and 1, got -3',
    ],
    [
      { ...forecast, holdout: 1.5 },
      'spec.holdout: must be a positive integer (rows) or a fraction between 0 and 1, got 1.5',
    ],
    [{ ...forecast, name: 'Air Passengers' }, 'spec.name: must be 1-63 lowercase letters'],
    [{ ...forecast, name: 'a'.repeat(64) }, 'spec.name: must be 1-63 lowercase letters'],
    [
      { ...forecast, task: 'forecasting' },
      'spec.task: must be one of forecast | regression | classification, got "forecasting"',
    ],
    [{ name: 'x', target: 'y' }, 'spec.task: is required'],
    [
      { name: 'air', task: 'forecast', target: 'value' },
      'spec.time: is required; must name the YYYY-MM month column',
    ],
    [
      { ...regression, time: 'month' },
      "spec.time: only allowed for task 'forecast', this spec is 'regression'",
    ],
    [
      { ...classification, lags: 12 },
      "spec.lags: only allowed for task 'forecast', this spec is 'classification'",
    ],
    [
      { ...regression, validation: { classes: [0, 1] } },
      "spec.validation.classes: only allowed for task 'classification', this spec is 'regression'",
    ],
    [{ ...forecast, lags: 61 }, 'spec.lags: must be an integer from 1 to 60, got 61'],
    [{ ...forecast, lags: 0 }, 'spec.lags: must be an integer from 1 to 60, got 0'],
    [
      { ...forecast, metric: 'auc' },
      'spec.metric: must be a metric of task \'forecast\', one of mae | rmse | mape | smape | r2, got "auc"',
    ],
    [{ ...classification, metric: 'rmse' }, "spec.metric: must be a metric of task 'classification'"],
    [{ ...forecast, seed: 1.5 }, 'spec.seed: must be an integer from 0 to 4294967295, got 1.5'],
    [
      { ...forecast, engine: 'xgboost' },
      "spec.engine: must be 'fast' or 'ml-random-forest', got \"xgboost\"",
    ],
    [
      { ...forecast, featurize: { transform: 'sqrt' } },
      'spec.featurize.transform: must be one of auto | seasonal-log-ratio | classical-log',
    ],
    [
      { ...forecast, featurize: { monthOfYear: 'yes' } },
      'spec.featurize.monthOfYear: must be true or false, got "yes"',
    ],
    [{ ...forecast, holdot: 24 }, 'spec.holdot: unknown field; did you mean "holdout"?'],
    [
      { ...forecast, validation: { maxMising: 0.1 } },
      'spec.validation.maxMising: unknown field; did you mean "maxMissing"?',
    ],
    [
      { ...forecast, validation: { maxMissing: 1.5 } },
      'spec.validation.maxMissing: must be a fraction from 0 to 1, got 1.5',
    ],
    [
      { ...forecast, validation: { ranges: { value: { min: 5, max: 1 } } } },
      'spec.validation.ranges.value: must have min ≤ max',
    ],
    [
      { ...forecast, validation: { ranges: { value: {} } } },
      'spec.validation.ranges.value: must set min, max or both',
    ],
    [
      { ...classification, validation: { classes: [1] } },
      'spec.validation.classes: must list at least 2 classes, got [1]',
    ],
    [
      { ...forecast, drift: { alpha: 0 } },
      'spec.drift.alpha: must be a number between 0 and 1 (exclusive), got 0',
    ],
    [
      { ...forecast, drift: { columns: { value: { test: 't-test' } } } },
      'spec.drift.columns.value.test: must be one of ks | wasserstein',
    ],
    [
      { ...forecast, promotion: { margin: 2 } },
      'spec.promotion.margin: must be a relative margin from 0 to less than 1, got 2',
    ],
    [
      { ...forecast, promotion: { confidence: 95 } },
      'spec.promotion.confidence: must be the coverage of a two-sided interval, a number strictly between 0 and 1 such as 0.95, got 95',
    ],
    [
      { ...forecast, promotion: { resamples: 10 } },
      'spec.promotion.resamples: must be an integer from 100 to 100000, got 10',
    ],
    [
      { ...forecast, promotion: { bars: { auc: { min: 0.9 } } } },
      'spec.promotion.bars.auc: "auc" is not a metric of task \'forecast\'; use one of mae | rmse | mape | smape | r2',
    ],
    [
      { ...forecast, hyperparameters: { nTrees: 5000 } },
      'spec.hyperparameters.nTrees: must be an integer from 1 to 2000, got 5000',
    ],
    [
      { ...forecast, hyperparameters: { maxFeatures: 1.5 } },
      "spec.hyperparameters.maxFeatures: must be a fraction in (0, 1] or 'sqrt' or 'log2', got 1.5",
    ],
    [
      { ...forecast, hyperparameters: { maxFeatures: 'all' } },
      "spec.hyperparameters.maxFeatures: must be a fraction in (0, 1] or 'sqrt' or 'log2', got \"all\"",
    ],
    [
      { ...forecast, hyperparameters: { maxBins: 256 } },
      'spec.hyperparameters.maxBins: must be an integer from 2 to 255, got 256',
    ],
    [
      { ...forecast, hyperparameters: { minSamplesLeaf: 0 } },
      'spec.hyperparameters.minSamplesLeaf: must be an integer ≥ 1, got 0',
    ],
    [
      { ...forecast, hyperparameters: { sampleFraction: 0 } },
      'spec.hyperparameters.sampleFraction: must be a fraction in (0, 1], got 0',
    ],
    [
      { ...forecast, hyperparameters: { trees: 10 } },
      'spec.hyperparameters.trees: unknown field; did you mean "nTrees"?',
    ],
    [{ ...forecast, search: { trials: 0 } }, 'spec.search.trials: must be an integer from 1 to 200, got 0'],
    [
      { ...forecast, search: { space: { maxDepth: [] } } },
      'spec.search.space.maxDepth: must list at least one value',
    ],
    [
      { ...forecast, search: { space: { maxDepth: [4, -1] } } },
      'spec.search.space.maxDepth[1]: must be an integer ≥ 0 (0 = unlimited), got -1',
    ],
    [
      { ...forecast, search: { strategy: 'halving' } },
      "spec.search.strategy: must be 'none' or 'random', got \"halving\"",
    ],
    [
      { ...forecast, engine: 'ml-random-forest', search: { space: { minSamplesLeaf: [1, 2, 5] } } },
      "spec.search.space.minSamplesLeaf: engine 'ml-random-forest' has no minSamplesLeaf (its trees stop at minSamplesSplit instead); remove it or use engine 'fast', got [1,2,5]",
    ],
    [
      { ...forecast, engine: 'ml-random-forest', hyperparameters: { maxBins: 64 } },
      "spec.hyperparameters.maxBins: engine 'ml-random-forest' has no maxBins (it does not bin features); remove it or use engine 'fast', got 64",
    ],
    [
      { ...forecast, monitoring: { periodSeconds: 45 } },
      'spec.monitoring.periodSeconds: must be 10, 30 or a multiple of 60 seconds, got 45',
    ],
    [
      { ...forecast, monitoring: { evaluationPeriods: 2, datapointsToAlarm: 3 } },
      'spec.monitoring.datapointsToAlarm: must not exceed evaluationPeriods (2), got 3',
    ],
    [
      { ...forecast, monitoring: { errorRate: 0 } },
      'spec.monitoring.errorRate: must be a fraction in (0, 1], got 0',
    ],
    [
      { ...forecast, rollout: { mode: 'blue-green' } },
      "spec.rollout.mode: must be 'direct', 'canary' or 'shadow', got \"blue-green\"",
    ],
    [
      { ...forecast, rollout: { canaryWeight: 0 } },
      'spec.rollout.canaryWeight: must be a fraction in (0, 1], got 0',
    ],
    [{ ...forecast, schedule: 'rate(1 days)' }, 'spec.schedule: must be an EventBridge schedule expression'],
    [{ ...forecast, schedule: 'cron(0 3 * *)' }, 'spec.schedule: must be an EventBridge schedule expression'],
    [{ ...forecast, time: 'value' }, 'spec.time: must differ from the target, got "value"'],
    [{ ...regression, history: { rows: 0 } }, 'spec.history.rows: must be a whole number of rows ≥ 1, got 0'],
    [
      { ...forecast, history: { months: 12.5 } },
      'spec.history.months: must be a whole number of months ≥ 1, got 12.5',
    ],
    [
      { ...regression, history: { months: 24 } },
      "spec.history.months: a tabular model's history is counted in rows: use history.rows",
    ],
    [
      { ...forecast, history: { rows: 240 } },
      "spec.history.rows: a forecast's history is counted in months: use history.months",
    ],
    [
      { ...forecast, history: { months: 48 } },
      'spec.history.months: must keep at least 60 months (lags + 2 × holdout, the default validation.minRows), the data every retrain needs; raise history.months or lower validation.minRows, got 48',
    ],
    [
      { ...classification, validation: { minRows: 100 }, history: { rows: 50 } },
      'spec.history.rows: must keep at least 100 rows (validation.minRows), the data every retrain needs; raise history.rows or lower validation.minRows, got 50',
    ],
    [
      { ...regression, holdout: 500, history: { rows: 500 } },
      'spec.history.rows: must be more than the holdout (500 rows) to leave rows to train on; raise history.rows or lower holdout, got 500',
    ],
    [
      { ...regression, features: ['a', 'price'] },
      'spec.features[1]: must not list the target column, got "price"',
    ],
    [{ ...regression, features: ['a', 'a'] }, 'spec.features: must not name a column twice'],
    [
      { ...regression, features: ['a'], categorical: ['b'] },
      'spec.categorical[0]: must be one of the features, got "b"',
    ],
    [{ ...regression, target: '' }, 'spec.target: must be a non-empty column name, got ""'],
    [{ ...regression, target: 3 }, 'spec.target: must be a column name, got 3'],
  ])('rejects %j with "%s"', (json, expected) => {
    // Act
    const error = specErrorOf(json);
    // Assess
    expect(error.name).toBe('SpecError');
    expect(error.message).toContain(expected);
  });

  it('rejects a document that is not an object', () => {
    // Act
    const error = specErrorOf(['not', 'a', 'spec']);
    // Assess
    expect(error.message).toBe('spec: must be a JSON object, got ["not","a","spec"]');
  });

  it('lists every problem, one line each, and exposes them as issues', () => {
    // Act
    const error = specErrorOf({ ...forecast, holdout: -3, lags: 0, rollout: { mode: 'x' } });
    // Assess
    expect(error.issues.map((issue) => issue.path).sort()).toEqual([
      'spec.holdout',
      'spec.lags',
      'spec.rollout.mode',
    ]);
    expect(error.message.split('\n')).toHaveLength(3);
  });

  it('accepts the EventBridge forms rate(1 day), rate(7 days) and a six-field cron', () => {
    // Act
    const schedules = ['rate(1 day)', 'rate(7 days)', 'rate(30 minutes)', 'cron(0 3 ? * MON *)'].map(
      (schedule) => parseSpec({ ...forecast, schedule }).schedule,
    );
    // Assess
    expect(schedules).toEqual(['rate(1 day)', 'rate(7 days)', 'rate(30 minutes)', 'cron(0 3 ? * MON *)']);
  });
});

describe('holdoutRows', () => {
  it('takes an integer holdout as a row count', () => {
    expect(holdoutRows({ holdout: 24 }, 132)).toBe(24);
  });

  it("rounds a fractional holdout up as scikit-learn's train_test_split does", () => {
    // /usr/bin/python3 -c "import numpy as np; from sklearn.model_selection import train_test_split as s;
    //   print(len(s(np.arange(569), test_size=0.25, random_state=0)[1]), len(s(np.arange(144), test_size=0.1, random_state=0)[1]))"
    // → 143 15
    expect(holdoutRows({ holdout: 0.25 }, 569)).toBe(143);
    expect(holdoutRows({ holdout: 0.1 }, 144)).toBe(15);
  });

  it('throws a RangeError when the holdout leaves nothing to train on or rowCount is not a positive integer', () => {
    expect(() => holdoutRows({ holdout: 24 }, 24)).toThrow(RangeError);
    expect(() => holdoutRows({ holdout: 24 }, 20)).toThrow(/takes 24 of 20 rows/);
    expect(() => holdoutRows({ holdout: 0.5 }, 0)).toThrow(/rowCount must be a positive integer, got 0/);
  });
});

describe('resolving columns against the data', () => {
  const table: Table = {
    rowCount: 2,
    columns: [
      { name: 'tenure', kind: 'numeric', values: new Float64Array([1, 2]) },
      { name: 'plan', kind: 'text', values: ['basic', 'pro'] },
      { name: 'churned', kind: 'numeric', values: new Float64Array([0, 1]) },
    ],
  };

  it('defaults the features to every column but the target and time, in header order', () => {
    // Act
    const tabular = resolveFeatures(parseSpec(classification), ['tenure', 'plan', 'churned']);
    const series = resolveFeatures(parseSpec(forecast), ['month', 'value', 'holiday']);
    // Assess
    expect(tabular).toEqual(['tenure', 'plan']);
    expect(series).toEqual(['holiday']);
  });

  it('defaults the categorical columns to the text features', () => {
    // Act
    const resolved = resolveColumns(parseSpec(classification), table);
    // Assess
    expect(resolved).toEqual({ features: ['tenure', 'plan'], categorical: ['plan'] });
  });

  it('throws a RangeError when a listed feature is not a column', () => {
    expect(() => resolveColumns(parseSpec({ ...classification, features: ['age'] }), table)).toThrow(
      /features age are not columns/,
    );
  });
});

describe('months', () => {
  it('counts 144 months from 1949-01 to 1960-12 and round-trips labels', () => {
    // /usr/bin/python3 -c "import pandas as pd; print(pd.period_range('1949-01','1960-12',freq='M').size)" → 144
    expect(monthIndex('1960-12') - monthIndex('1949-01') + 1).toBe(144);
    expect(monthLabel(monthIndex('1949-12') + 1)).toBe('1950-01');
  });

  it('rejects labels that are not YYYY-MM', () => {
    expect(() => monthIndex('1949-13')).toThrow(RangeError);
    expect(() => monthIndex('1949/01')).toThrow(/not a YYYY-MM month/);
  });
});

describe('suggestName', () => {
  it('finds a case-insensitive match first, then a near miss, and nothing for a distant name', () => {
    expect(suggestName('Value', ['month', 'value'])).toBe('value');
    expect(suggestName('vaule', ['month', 'value'])).toBe('value');
    expect(suggestName('passengers', ['month', 'value'])).toBeUndefined();
  });
});
