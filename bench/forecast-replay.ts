/**
 * Replays the default forecaster's candidates for the benches that judge a rule of `backtest` by
 * leave-one-series-out (`forecast-shrinkage.ts`, `forecast-combination.ts`): for one series and seed it
 * runs every candidate the minimal spec plans (variants × forest parameters, as `backtest` plans them)
 * once, keeping its raw forest outputs on the rolling-origin months of the training part and on the
 * holdout, so that a rule can be applied to them afterwards without fitting again.
 */
import { type ForecastFeaturizer, sliceMatrix, usesLog } from '#core/features.ts';
import { getLearner, predictBatch } from '#core/forest/index.ts';
import { rollingOriginFolds } from '#core/selection.ts';
import { FIT, HOLDOUT, rowsWithRole } from '#core/splits.ts';
import { buildFeatureSets, planCandidates, trainingSetAt } from '#core/training.ts';
import { readTable } from '../bin/commands/files.ts';
import { minimalForecastSpec } from './forecast-anchors.ts';

/** Actual values, bases (in logs) and raw forest outputs of some matrix rows. */
export interface Part {
  actual: Float64Array;
  base: Float64Array;
  raw: Float64Array;
}

/**
 * One candidate's rolling-origin and holdout outputs. `scaled`: whether its variant has a classical base
 * (the forest then adds a share of its correction, `CLASSICAL_CORRECTION`; ratio variants add all of it).
 */
export interface Outputs {
  variant: string;
  scaled: boolean;
  validation: Part;
  holdout: Part;
}

/** A part's forecasts on the original scale with `share` of the forest's correction added to the base. */
export function forecasts(part: Part, share: number): Float64Array {
  return Float64Array.from(part.raw, (raw, i) => Math.exp(part.base[i] + share * raw));
}

/**
 * Every candidate's outputs on one series (`value` by `month`) for one seed.
 * @throws RangeError when a variant is not a log transform (the replay inverts logs only; every bench
 *   series is positive, so `auto` offers log variants only).
 */
export async function candidateOutputs(path: string, seed: number): Promise<Outputs[]> {
  const spec = minimalForecastSpec(seed);
  const table = await readTable(path, spec);
  const sets = buildFeatureSets(spec, table);
  const learner = getLearner('fast');
  const out: Outputs[] = [];
  for (const candidate of planCandidates(
    spec,
    sets.map((set) => set.variant),
  )) {
    const set = sets.find((each) => each.variant === candidate.variant)!;
    const featurizer = set.featurizer as ForecastFeaturizer;
    if (!usesLog(featurizer.transform))
      throw new RangeError(`${path}: variant ${featurizer.transform} is not a log transform`);
    const train = rowsWithRole(set.roles, FIT);
    const parts: Part[] = [];
    for (const fold of rollingOriginFolds(train.length, {
      season: featurizer.season,
      horizon: set.horizon,
    })) {
      const forest = await learner.fit(
        trainingSetAt(
          set,
          Int32Array.from(fold.fit, (i) => train[i]),
        ),
        candidate.params,
        { seed },
      );
      const matrix = sliceMatrix(
        set.matrix,
        Int32Array.from(fold.score, (i) => train[i]),
      );
      parts.push({
        actual: matrix.actual,
        base: matrix.base,
        raw: predictBatch(forest, matrix.x, matrix.rowCount),
      });
    }
    const join = (key: keyof Part) => Float64Array.from(parts.flatMap((part) => Array.from(part[key])));
    const forest = await learner.fit(trainingSetAt(set, train), candidate.params, { seed });
    const held = sliceMatrix(set.matrix, rowsWithRole(set.roles, HOLDOUT));
    out.push({
      variant: candidate.variant,
      scaled: featurizer.correction !== undefined,
      validation: { actual: join('actual'), base: join('base'), raw: join('raw') },
      holdout: { actual: held.actual, base: held.base, raw: predictBatch(forest, held.x, held.rowCount) },
    });
  }
  return out;
}
