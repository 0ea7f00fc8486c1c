/**
 * The two-word layout, which prediction walks for forests loaded from format 1 and forests the packed
 * layout (`packed.ts`) cannot hold, and the threshold table both layouts share: one Int32Array of two words per node, and each split's threshold replaced
 * by its index in a table of every feature's distinct thresholds.
 *
 * A row is first reduced to one integer per feature, its *cut*: the table index of that feature's first
 * threshold at or above the value (all of them below it: the feature's end). A row goes left at a split
 * exactly when `value <= threshold`, which for a sorted table is exactly `split >= cut`, so traversal
 * compares integers that sit next to the child link and never reads a Float64 threshold. Eight bytes per
 * node instead of sixteen in three arrays: a 100-tree forest of 100k × 20 rows (4 M nodes) halves the
 * memory a prediction's walks touch, and each step reads one cache line instead of three.
 */
import type { FlatForest } from './types.ts';

/** A forest's nodes and thresholds as prediction reads them, two words per node. */
export interface ServingLayout {
  readonly kind: 'pairs';
  /**
   * Two words per node, in the forest's pre-order (a node's left child is the next node): `split`, the
   * index of the node's threshold in `thresholds` (−1 at a leaf), then `next`, the right child's node
   * index (internal node) or the leaf index (leaf).
   */
  nodes: Int32Array;
  /** Every feature's distinct split thresholds ascending, feature after feature. */
  thresholds: Float64Array;
  /** The feature of each entry of `thresholds`. */
  thresholdFeature: Int32Array;
  /** Where each feature's thresholds start in `thresholds`; `featureCount + 1` entries. */
  featureStart: Int32Array;
}

/** Most nodes, and most distinct thresholds, a forest may have: its indexes are Int32. */
const MAX_INDEX = 0x7fff_ffff;

/** `value`'s cut for the feature whose thresholds are `thresholds[start .. end)`: see the module comment. */
export function cutOf(thresholds: Float64Array, start: number, end: number, value: number): number {
  // NaN compares false with everything: it goes right at every split, i.e. past every threshold.
  if (Number.isNaN(value)) return end;
  let low = start;
  let high = end;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (thresholds[middle] < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Every feature's distinct thresholds, sorted, and the table index of each internal node's threshold
 * (pre-order, leaves skipped). Shared by the layout and the file format, which stores the same table.
 */
export function thresholdTable(forest: Pick<FlatForest, 'nodeFeature' | 'nodeThreshold' | 'featureCount'>): {
  featureStart: Int32Array;
  thresholds: Float64Array;
  nodeSplit: Int32Array;
} {
  const { nodeFeature, nodeThreshold, featureCount } = forest;
  const nodeCount = nodeFeature.length;
  const counts = new Int32Array(featureCount + 1);
  for (let node = 0; node < nodeCount; node++) if (nodeFeature[node] >= 0) counts[nodeFeature[node] + 1]++;
  for (let feature = 0; feature < featureCount; feature++) counts[feature + 1] += counts[feature];
  const all = new Float64Array(counts[featureCount]);
  const fill = counts.slice(0, featureCount);
  for (let node = 0; node < nodeCount; node++) {
    const feature = nodeFeature[node];
    if (feature < 0) continue;
    // `value <= NaN` is false for every value, which no place in a sorted table expresses.
    if (Number.isNaN(nodeThreshold[node])) throw new RangeError(`node ${node} has a NaN threshold`);
    all[fill[feature]++] = nodeThreshold[node];
  }
  const featureStart = new Int32Array(featureCount + 1);
  let distinct = 0;
  for (let feature = 0; feature < featureCount; feature++) {
    featureStart[feature] = distinct;
    const values = all.subarray(counts[feature], counts[feature + 1]).sort();
    for (let at = 0; at < values.length; at++) {
      // Float64Array sorts −0 before +0; they are one threshold, as `<=` sees them.
      if (distinct === featureStart[feature] || all[distinct - 1] !== values[at])
        all[distinct++] = values[at];
    }
  }
  featureStart[featureCount] = distinct;
  if (distinct > MAX_INDEX) throw new RangeError(`a forest of ${distinct} distinct thresholds is too large`);
  const thresholds = all.slice(0, distinct);
  const nodeSplit = new Int32Array(counts[featureCount]);
  let internal = 0;
  for (let node = 0; node < nodeCount; node++) {
    const feature = nodeFeature[node];
    if (feature < 0) continue;
    const start = featureStart[feature];
    nodeSplit[internal++] = cutOf(thresholds, start, featureStart[feature + 1], nodeThreshold[node]);
  }
  return { featureStart, thresholds, nodeSplit };
}

/** The feature of every threshold-table entry. */
export function thresholdFeatures(featureStart: Int32Array): Int32Array {
  const featureCount = featureStart.length - 1;
  const features = new Int32Array(featureStart[featureCount]);
  for (let feature = 0; feature < featureCount; feature++) {
    features.fill(feature, featureStart[feature], featureStart[feature + 1]);
  }
  return features;
}

/** Builds the two-word layout from a forest's node arrays. */
export function buildLayout(forest: FlatForest): ServingLayout {
  const { nodeFeature, nodeNext } = forest;
  const nodeCount = nodeFeature.length;
  if (nodeCount > MAX_INDEX) throw new RangeError(`a forest of ${nodeCount} nodes is too large`);
  const { featureStart, thresholds, nodeSplit } = thresholdTable(forest);
  const nodes = new Int32Array(2 * nodeCount);
  let internal = 0;
  for (let node = 0; node < nodeCount; node++) {
    nodes[2 * node] = nodeFeature[node] < 0 ? -1 : nodeSplit[internal++];
    nodes[2 * node + 1] = nodeNext[node];
  }
  return {
    kind: 'pairs',
    nodes,
    thresholds,
    thresholdFeature: thresholdFeatures(featureStart),
    featureStart,
  };
}

/** The node arrays of `FlatForest` rebuilt from a layout (for forests that were decoded into one). */
export function nodeArrays(
  layout: ServingLayout,
): Pick<FlatForest, 'nodeFeature' | 'nodeThreshold' | 'nodeNext'> {
  const { nodes, thresholds, thresholdFeature } = layout;
  const nodeCount = nodes.length / 2;
  const nodeFeature = new Int32Array(nodeCount);
  const nodeThreshold = new Float64Array(nodeCount);
  const nodeNext = new Uint32Array(nodeCount);
  for (let node = 0; node < nodeCount; node++) {
    const split = nodes[2 * node];
    nodeNext[node] = nodes[2 * node + 1];
    if (split < 0) {
      nodeFeature[node] = -1;
    } else {
      nodeFeature[node] = thresholdFeature[split];
      nodeThreshold[node] = thresholds[split];
    }
  }
  return { nodeFeature, nodeThreshold, nodeNext };
}
