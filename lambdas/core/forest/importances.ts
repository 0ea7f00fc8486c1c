/**
 * Feature importances as scikit-learn computes `feature_importances_` (mean decrease in impurity).
 */

/** A tree's raw impurity decreases scaled to sum 1 (all zeros for a tree without splits). */
export function normalizeImportances(raw: Float64Array): Float64Array {
  let total = 0;
  for (const value of raw) total += value;
  return total > 0 ? raw.map((value) => value / total) : new Float64Array(raw.length);
}

/**
 * The forest's importances from each tree's normalised ones (`nTrees × featureCount`, row-major): the
 * mean over trees that split at all, normalised to sum 1, summed in tree order so a forest merged from
 * shards gets exactly the same numbers as one fitted in one go.
 */
export function combineImportances(treeImportances: Float64Array, featureCount: number): Float64Array {
  const combined = new Float64Array(featureCount);
  for (let base = 0; base < treeImportances.length; base += featureCount) {
    let treeTotal = 0;
    for (let feature = 0; feature < featureCount; feature++) treeTotal += treeImportances[base + feature];
    if (treeTotal === 0) continue;
    for (let feature = 0; feature < featureCount; feature++)
      combined[feature] += treeImportances[base + feature];
  }
  return normalizeImportances(combined);
}
