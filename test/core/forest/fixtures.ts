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

/** Every other column of row-major probabilities: the positive class's. */
export function positiveColumn(probabilities: Float64Array, classCount: number): Float64Array {
  return probabilities.filter((_, index) => index % classCount === classCount - 1);
}
