/**
 * driftline's random forests: one serving format (`FlatForest`) for every engine, the fast histogram
 * engine, ml-random-forest behind the same `Learner` interface, sharded training, and the binary format.
 *
 * @example
 * const forest = await getLearner('fast').fit(trainingSet, { nTrees: 100 }, { seed: 42 });
 * const bytes = serializeForest(forest);          // store it; the registry records its sha256
 * const served = deserializeForest(bytes);
 * const value = predictRow(served, [1.2, 3.4, 5.6]);
 */
import type { EngineName } from '../types.ts';
import { fastLearner } from './fast.ts';
import { mlRandomForestLearner } from './ml-random-forest.ts';
import type { Learner } from './types.ts';

export { fastLearner, type ShardOptions, trainShard } from './fast.ts';
export {
  type DeserializeOptions,
  deserializeForest,
  type SerializeOptions,
  serializeForest,
} from './format.ts';
export { mergeForests } from './merge.ts';
export { fromMlRandomForest, mlRandomForestLearner, nextDown } from './ml-random-forest.ts';
export { fastDefaults, mlRandomForestDefaults } from './params.ts';
export { predictBatch, predictRow } from './predict.ts';
export {
  type Aggregation,
  type FitOptions,
  type FlatForest,
  ForestFormatError,
  type Learner,
  type ResolvedForestParams,
  valuesPerLeaf,
} from './types.ts';

/**
 * The learner of an engine.
 *
 * @throws RangeError for an unknown engine name.
 */
export function getLearner(engine: EngineName): Learner {
  if (engine === 'fast') return fastLearner;
  if (engine === 'ml-random-forest') return mlRandomForestLearner;
  throw new RangeError(`unknown forest engine ${String(engine)}; expected 'fast' or 'ml-random-forest'`);
}
