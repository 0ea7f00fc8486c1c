/**
 * Joining forest shards: concatenation of their trees, checked to be consecutive pieces of the same
 * seeded forest.
 */
import { combineImportances } from './importances.ts';
import type { FlatForest } from './types.ts';

function sameParams(a: FlatForest, b: FlatForest): boolean {
  const keys = Object.keys(a.params) as (keyof FlatForest['params'])[];
  return keys.every((key) => a.params[key] === b.params[key]);
}

/**
 * Concatenates shards (in tree order) into one forest. Shards of one seeded forest, trained with
 * `trainShard` and covering trees 0..n−1, merge into exactly the forest `fit` returns for that seed
 * (byte-identical once serialized). The merged forest has no out-of-bag score.
 *
 * @throws RangeError when there are no shards, or they differ in engine, task, features, classes,
 *   parameters, seed or leaf precision, or are not consecutive.
 */
export function mergeForests(shards: FlatForest[]): FlatForest {
  if (shards.length === 0) throw new RangeError('mergeForests needs at least one shard');
  const ordered = [...shards].sort((a, b) => a.firstTree - b.firstTree);
  const first = ordered[0];
  let expectedTree = first.firstTree;
  for (const shard of ordered) {
    const compatible =
      shard.engine === first.engine &&
      shard.task === first.task &&
      shard.featureCount === first.featureCount &&
      shard.seed === first.seed &&
      shard.aggregation === first.aggregation &&
      shard.classes.length === first.classes.length &&
      shard.classes.every((label, index) => label === first.classes[index]) &&
      shard.leafValues.constructor === first.leafValues.constructor &&
      sameParams(shard, first);
    if (!compatible) throw new RangeError('mergeForests: shards come from different forests');
    if (shard.firstTree !== expectedTree) {
      throw new RangeError(
        `mergeForests: expected a shard starting at tree ${expectedTree}, got ${shard.firstTree}`,
      );
    }
    expectedTree += shard.nTrees;
  }
  const nodeCount = ordered.reduce((sum, shard) => sum + shard.nodeFeature.length, 0);
  const leafValueCount = ordered.reduce((sum, shard) => sum + shard.leafValues.length, 0);
  const nTrees = ordered.reduce((sum, shard) => sum + shard.nTrees, 0);
  const perLeaf = first.task === 'classification' ? first.classes.length : 1;
  const treeRoots = new Uint32Array(nTrees);
  const nodeFeature = new Int32Array(nodeCount);
  const nodeThreshold = new Float64Array(nodeCount);
  const nodeNext = new Uint32Array(nodeCount);
  const leafValues =
    first.leafValues instanceof Float32Array
      ? new Float32Array(leafValueCount)
      : new Float64Array(leafValueCount);
  const treeImportances = new Float64Array(nTrees * first.featureCount);
  let treeBase = 0;
  let nodeBase = 0;
  let leafBase = 0;
  for (const shard of ordered) {
    for (let tree = 0; tree < shard.nTrees; tree++)
      treeRoots[treeBase + tree] = shard.treeRoots[tree] + nodeBase;
    nodeFeature.set(shard.nodeFeature, nodeBase);
    nodeThreshold.set(shard.nodeThreshold, nodeBase);
    for (let node = 0; node < shard.nodeFeature.length; node++) {
      nodeNext[nodeBase + node] = shard.nodeNext[node] + (shard.nodeFeature[node] < 0 ? leafBase : nodeBase);
    }
    leafValues.set(shard.leafValues, leafBase * perLeaf);
    treeImportances.set(shard.treeImportances, treeBase * first.featureCount);
    treeBase += shard.nTrees;
    nodeBase += shard.nodeFeature.length;
    leafBase += shard.leafValues.length / perLeaf;
  }
  return {
    engine: first.engine,
    task: first.task,
    featureCount: first.featureCount,
    classes: [...first.classes],
    nTrees,
    firstTree: first.firstTree,
    params: { ...first.params },
    seed: first.seed,
    aggregation: first.aggregation,
    featureImportances: combineImportances(treeImportances, first.featureCount),
    treeImportances,
    treeRoots,
    nodeFeature,
    nodeThreshold,
    nodeNext,
    leafValues,
  };
}
