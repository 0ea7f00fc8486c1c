/**
 * How rows of a feature matrix are split: the holdout (scored once, candidate against champion),
 * and inside the rest a validation part (scores hyperparameter candidates) and the fit part.
 * Forecasts split by time (the holdout is the last N steps); tabular data by a seeded, stratified draw.
 */
import { seededRandom, shuffled } from './random.ts';
import { holdoutRows } from './spec.ts';

/** Role of a matrix row. */
export const FIT = 0;
export const VALIDATION = 1;
export const HOLDOUT = 2;

/** Share of the training rows kept aside to score hyperparameter candidates. */
export const VALIDATION_SHARE = 0.2;

/**
 * Number of rows a holdout setting means for `rowCount` rows: an integer is rows, a fraction a share
 * (rounded up, as scikit-learn's `train_test_split`).
 * @throws {RangeError} when the holdout leaves nothing to score or to train on.
 */
export function holdoutSize(holdout: number, rowCount: number): number {
  const size = holdoutRows({ holdout }, rowCount);
  if (size < 1) throw new RangeError(`a holdout of ${holdout} leaves no rows to score (${rowCount} rows)`);
  return size;
}

/**
 * Roles for a time-ordered matrix: the last `holdout` rows are the holdout, the last 20% of the rest validation.
 */
export function timeSplit(rowCount: number, holdout: number): Uint8Array {
  const holdoutRows = holdoutSize(holdout, rowCount);
  const trainRows = rowCount - holdoutRows;
  const validationRows = Math.max(1, Math.round(trainRows * VALIDATION_SHARE));
  if (trainRows - validationRows < 2)
    throw new RangeError(`${trainRows} training rows are too few to also validate`);
  const roles = new Uint8Array(rowCount);
  roles.fill(VALIDATION, trainRows - validationRows, trainRows);
  roles.fill(HOLDOUT, trainRows);
  return roles;
}

/**
 * Roles for tabular rows: a seeded draw of the holdout, then of validation, stratified by `strata`
 * (the class of each row for classification; omit for regression).
 */
export function randomSplit(
  rowCount: number,
  holdout: number,
  seed: number,
  strata?: ArrayLike<number>,
): Uint8Array {
  const holdoutShare = holdoutSize(holdout, rowCount) / rowCount;
  const random = seededRandom(seed);
  const roles = new Uint8Array(rowCount);
  const groups = new Map<number, number[]>();
  for (let i = 0; i < rowCount; i++) {
    const key = strata ? strata[i] : 0;
    const group = groups.get(key);
    if (group) group.push(i);
    else groups.set(key, [i]);
  }
  for (const key of [...groups.keys()].sort((a, b) => a - b)) {
    const order = shuffled(groups.get(key)!, random);
    const holdoutCount = Math.round(order.length * holdoutShare);
    const validationCount = Math.round((order.length - holdoutCount) * VALIDATION_SHARE);
    order.forEach((row, position) => {
      roles[row] =
        position < holdoutCount ? HOLDOUT : position < holdoutCount + validationCount ? VALIDATION : FIT;
    });
  }
  return roles;
}

/** Positions of the rows whose role is one of `wanted`. */
export function rowsWithRole(roles: Uint8Array, ...wanted: number[]): Int32Array {
  const positions: number[] = [];
  roles.forEach((role, position) => {
    if (wanted.includes(role)) positions.push(position);
  });
  return Int32Array.from(positions);
}
