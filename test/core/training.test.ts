import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadModel, packModel, sha256Hex } from '#core/model.ts';
import { parseSpec } from '#core/spec.ts';
import { HOLDOUT, rowsWithRole } from '#core/splits.ts';
import {
  bestCandidate,
  buildFeatureSets,
  chooseCandidate,
  decodeFeatureSet,
  encodeFeatureSet,
  type FeatureSet,
  fitFinal,
  holdoutPredictions,
  modelHoldoutPredictions,
  planCandidates,
  refitFeatureSet,
  roleCounts,
  scoreCandidate,
  scoreHoldout,
  scorePredictions,
  shardCount,
} from '#core/training.ts';
import type { Table } from '#core/types.ts';
import { validateDrop } from '#core/validate.ts';

const repo = new URL('../../', import.meta.url).pathname;
const specOf = (name: string, overrides: Record<string, unknown> = {}) =>
  parseSpec({ ...JSON.parse(readFileSync(`${repo}data/specs/${name}.json`, 'utf8')), ...overrides });

async function tableOf(csv: string, spec: ReturnType<typeof parseSpec>): Promise<Table> {
  const report = await validateDrop(new TextEncoder().encode(csv), spec);
  if (!report.table) throw new Error(JSON.stringify(report.problems.slice(0, 2)));
  return report.table;
}
const read = (name: string) => readFileSync(`${repo}data/${name}`, 'utf8');

describe('scoreCandidate', () => {
  it('tells breast-cancer candidates apart by out-of-bag log loss', async () => {
    // Prepare
    const spec = specOf('breast-cancer', { hyperparameters: { nTrees: 60 } });
    const [set] = buildFeatureSets(spec, await tableOf(read('breast-cancer.csv'), spec));
    const settings = { engine: 'fast' as const, seed: 42 };
    // Act
    const trials = [];
    for (const candidate of planCandidates(spec, ['tabular'])) {
      trials.push({ ...candidate, ...(await scoreCandidate(set, candidate, spec.metric, settings)) });
    }
    // Assess: one out-of-bag prediction per training row, scored by log loss; the scores differ
    const training = set.roles.length - rowsWithRole(set.roles, HOLDOUT).length;
    for (const trial of trials) {
      expect(trial).toMatchObject({ scheme: 'out-of-bag', score: trial.metrics.logloss });
      expect(trial.predictions).toBeGreaterThan(0.95 * training);
    }
    expect(new Set(trials.map((trial) => trial.score.toFixed(6))).size).toBeGreaterThan(2);
    const best = bestCandidate(trials, 'logloss');
    expect(best.score).toBe(Math.min(...trials.map((trial) => trial.score)));
  });

  it('fits every candidate of the default ml-random-forest space, by stratified 5-fold', async () => {
    // Prepare: the first 150 tumours and small forests keep the library's quadratic splits quick
    const spec = specOf('breast-cancer', {
      engine: 'ml-random-forest',
      hyperparameters: { nTrees: 5 },
      validation: { minRows: 1 },
    });
    const csv = `${read('breast-cancer.csv').split('\n').slice(0, 151).join('\n')}\n`;
    const [set] = buildFeatureSets(spec, await tableOf(csv, spec));
    const candidates = planCandidates(spec, ['tabular']);
    // Act
    const scored = [];
    for (const candidate of candidates)
      scored.push(await scoreCandidate(set, candidate, spec.metric, { engine: 'ml-random-forest', seed: 1 }));
    // Assess
    expect(candidates).toHaveLength(8);
    for (const result of scored) {
      expect(result.scheme).toBe('k-fold');
      expect(result.predictions).toBe(set.roles.length - rowsWithRole(set.roles, HOLDOUT).length);
      expect(Number.isFinite(result.score)).toBe(true);
    }
  });

  it('scores a forecast by rolling origin on the training months only, never the holdout', async () => {
    // Prepare: the same series, once with its last 24 months multiplied by 10
    const spec = specOf('air-passengers', { hyperparameters: { nTrees: 40 } });
    const lines = read('air-passengers.csv').trim().split('\n');
    const spoiled = lines.map((line, i) =>
      i > lines.length - 25 ? `${line.split(',')[0]},${Number(line.split(',')[1]) * 10}` : line,
    );
    const [clean] = buildFeatureSets(spec, await tableOf(`${lines.join('\n')}\n`, spec));
    const [changed] = buildFeatureSets(spec, await tableOf(`${spoiled.join('\n')}\n`, spec));
    const [candidate] = planCandidates(spec, [clean.variant]);
    const settings = { engine: 'fast' as const, seed: 3 };
    // Act
    const a = await scoreCandidate(clean, candidate, spec.metric, settings);
    const b = await scoreCandidate(changed, candidate, spec.metric, settings);
    // Assess: 4 origins × 12 months (1955-1958), the same score whatever the holdout holds
    expect(a).toMatchObject({ scheme: 'rolling-origin', predictions: 48 });
    expect(b.score).toBe(a.score);
    expect(a.score).toBeGreaterThan(1);
    expect(a.score).toBeLessThan(10);
  });
});

/** A served model of `forest`, packed and loaded as evaluate and predict do. */
function servedModel(
  spec: ReturnType<typeof parseSpec>,
  set: FeatureSet,
  forest: Awaited<ReturnType<typeof fitFinal>>,
) {
  const { featurizer } = set;
  const bytes = packModel({
    meta: {
      model: spec.name,
      task: spec.task,
      engine: forest.engine,
      params: forest.params,
      seed: forest.seed,
      signature: {
        target: spec.target,
        features: featurizer.featureNames,
        historyLength: featurizer.kind === 'forecast' ? featurizer.historyLength : undefined,
        classes: featurizer.kind === 'tabular' ? featurizer.classes : undefined,
      },
      data: { rows: set.roles.length, trainRows: 0, holdoutRows: 0 },
      metrics: {},
      codeVersion: 'test',
      createdAt: '2026-01-01T00:00:00.000Z',
    },
    featurizer,
    forest,
  });
  return loadModel(bytes, sha256Hex(bytes));
}

describe('holdout predictions of the candidate and of a served champion', () => {
  it.each([
    ['breast-cancer', 'breast-cancer.csv'],
    ['air-passengers', 'air-passengers.csv'],
  ])(
    '%s: a served model of the same forest predicts every holdout row as the forest does',
    async (name, file) => {
      // Prepare
      const spec = specOf(name, { hyperparameters: { nTrees: 20 } });
      const table = await tableOf(read(file), spec);
      const [set] = buildFeatureSets(spec, table);
      const forest = await fitFinal(set, spec.hyperparameters, { engine: 'fast', seed: 5, workers: 1 });
      // Act
      const candidate = holdoutPredictions(set, forest);
      const champion = modelHoldoutPredictions(set, table, servedModel(spec, set, forest));
      // Assess: the same rows, targets and classes, and the same predictions (the champion's class
      // probabilities pass through the served labels and back)
      expect(Array.from(champion.actual)).toEqual(Array.from(candidate.actual));
      expect(champion.classes).toEqual(candidate.classes);
      expect(candidate.actual).toHaveLength(set.holdout.rows);
      expect(candidate.predicted).toHaveLength(set.holdout.rows * (candidate.classes?.length ?? 1));
      for (let i = 0; i < candidate.predicted.length; i++) {
        expect(champion.predicted[i]).toBeCloseTo(candidate.predicted[i], 9);
      }
      expect(scorePredictions(candidate)).toEqual(scoreHoldout(set, forest));
      const metric = spec.metric;
      expect(scorePredictions(champion)[metric]).toBeCloseTo(scorePredictions(candidate)[metric], 9);
    },
  );
});

describe('refitFeatureSet', () => {
  it('puts every row in training and refits the tabular featurizer on all of them', async () => {
    // Prepare
    const spec = specOf('breast-cancer');
    const table = await tableOf(read('breast-cancer.csv'), spec);
    const [set] = buildFeatureSets(spec, table);
    // Act
    const refit = refitFeatureSet(spec, table, set);
    // Assess: the fill values are the medians of all 569 rows:
    //   /usr/bin/python3 -c "import numpy as np, csv; rows=list(csv.reader(open('data/breast-cancer.csv')));
    //     a=np.array(rows[1:],dtype=float); print(np.median(a[:,0]), np.median(a[:,1]))"  → 13.37 18.84
    expect(roleCounts(set.roles)).toEqual({ train: 569 - set.holdout.rows, holdout: set.holdout.rows });
    expect(roleCounts(refit.roles)).toEqual({ train: 569, holdout: 0 });
    const fills = refit.featurizer.kind === 'tabular' ? refit.featurizer.numeric.slice(0, 2) : [];
    expect(fills).toMatchObject([
      { name: 'mean_radius', fill: 13.37 },
      { name: 'mean_texture', fill: 18.84 },
    ]);
  });
});

describe('feature sets between steps', () => {
  it('round-trip through bytes with their matrix, roles and holdout summary', async () => {
    const spec = specOf('air-passengers');
    const [set] = buildFeatureSets(spec, await tableOf(read('air-passengers.csv'), spec));
    const decoded = decodeFeatureSet(encodeFeatureSet(set));
    expect(decoded.variant).toBe(set.variant);
    expect(decoded.holdout).toEqual(set.holdout);
    expect(Array.from(decoded.roles)).toEqual(Array.from(set.roles));
    expect(Array.from(decoded.matrix.x)).toEqual(Array.from(set.matrix.x));
    expect(Array.from(decoded.matrix.actual)).toEqual(Array.from(set.matrix.actual));
  });
});

describe('bestCandidate and shardCount', () => {
  it('picks the lowest error or the highest score, the first on ties, never a NaN', () => {
    const scored = [{ score: Number.NaN }, { score: 3 }, { score: 2 }, { score: 2 }, { score: 5 }];
    expect(scored.indexOf(bestCandidate(scored, 'mape'))).toBe(2);
    expect(scored.indexOf(bestCandidate(scored, 'auc'))).toBe(4);
    expect(() => bestCandidate([], 'mape')).toThrow(RangeError);
  });

  it('keeps the preferred forecast variant unless another is significantly better on the same months', () => {
    // Prepare: Holt-Winters' losses and two challengers, one better by noise, one better throughout
    const hw = [3, 1, 4, 1, 5, 9, 2, 6];
    const trial = (variant: string, losses: number[]) => ({
      variant,
      losses,
      score: losses.reduce((sum, loss) => sum + loss, 0) / losses.length,
    });
    const noisy = trial('airline-log', [2, 2, 3, 2, 4, 8, 3, 5]);
    const clear = trial(
      'airline-log',
      hw.map((loss) => loss - 1 + (loss % 2) * 0.1),
    );
    const preferred = trial('holt-winters-log', hw);
    // Act / Assess: DM of noisy against Holt-Winters is -0.683 (R: dm.test(noisy, hw, h = 1, power = 1)),
    // of clear about -13: only the second passes the one-sided 5% critical value 1.645
    expect(chooseCandidate([noisy, preferred], 'mape')).toBe(preferred);
    expect(chooseCandidate([preferred, clear], 'mape')).toBe(clear);
    // Without the preferred variant, or without losses (tabular trials), the best score wins
    const other = trial('classical-log', [9, 9, 9, 9, 9, 9, 9, 9]);
    expect(chooseCandidate([other, noisy], 'mape')).toBe(noisy);
    expect(chooseCandidate([{ ...noisy, losses: undefined }, preferred], 'mape').variant).toBe('airline-log');
  });

  it('splits a final fit into one shard per ~5M row×tree units, at most 8 and at most one per tree', () => {
    expect(shardCount(144, 300)).toBe(1);
    expect(shardCount(100_000, 100)).toBe(2);
    expect(shardCount(1_000_000, 100)).toBe(8);
    expect(shardCount(1_000_000, 3)).toBe(1);
  });
});
