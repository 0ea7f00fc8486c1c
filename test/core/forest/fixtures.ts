/** Shared data and scores for the forest tests. */
import { readFileSync } from 'node:fs';
import type { TrainingSet } from '#core/types.ts';

/**
 * The Wisconsin breast-cancer data (569 rows, 30 features, target `benign`), split as the pasted
 * scikit-learn references were: rows with index % 4 === 3 are the holdout.
 */
export function breastCancer(): { train: TrainingSet; test: TrainingSet } {
  const lines = readFileSync(new URL('../../../data/breast-cancer.csv', import.meta.url), 'utf8')
    .trim()
    .split('\n');
  const header = lines[0].split(',');
  const target = header.indexOf('benign');
  const featureNames = header.filter((_, index) => index !== target);
  const rows = lines.slice(1).map((line) => line.split(',').map(Number));
  const pick = (keep: (index: number) => boolean): TrainingSet => {
    const chosen = rows.filter((_, index) => keep(index));
    return {
      task: 'classification',
      x: Float64Array.from(chosen.flatMap((row) => row.filter((_, index) => index !== target))),
      y: Float64Array.from(chosen.map((row) => row[target])),
      rowCount: chosen.length,
      featureCount: featureNames.length,
      featureNames,
      classes: [0, 1],
    };
  };
  return { train: pick((index) => index % 4 !== 3), test: pick((index) => index % 4 === 3) };
}

/** Coefficient of determination 1 − SS_res / SS_tot. */
export function rSquared(actual: ArrayLike<number>, predicted: ArrayLike<number>): number {
  let mean = 0;
  for (let index = 0; index < actual.length; index++) mean += actual[index] / actual.length;
  let residual = 0;
  let total = 0;
  for (let index = 0; index < actual.length; index++) {
    residual += (actual[index] - predicted[index]) ** 2;
    total += (actual[index] - mean) ** 2;
  }
  return 1 - residual / total;
}

/** ROC AUC as the Mann–Whitney probability that a positive outscores a negative (ties count ½). */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  let pairs = 0;
  let wins = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < labels.length; j++) {
      if (labels[j] === 1) continue;
      pairs++;
      wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

/** Every other column of row-major probabilities: the positive class's. */
export function positiveColumn(probabilities: Float64Array, classCount: number): Float64Array {
  return probabilities.filter((_, index) => index % classCount === classCount - 1);
}
