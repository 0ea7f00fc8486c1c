/**
 * Prediction over the serving layout (`serving.ts`: packed, or two words per node), with no allocation
 * per row. A row is first cut (one binary search per feature), then a single row walks four trees in
 * lockstep: the four independent chains of dependent loads let the CPU overlap their cache misses, which
 * measured 35% faster on a 13 MB forest (100k × 20) than one tree at a time. A packed walk reads the
 * row's cuts from a module constant of fixed size ({@link packedCuts}).
 */
import { cutOf, type ServingLayout } from './layout.ts';
import { type PackedLayout, SPLIT_VALUES } from './packed.ts';
import { type AnyLayout, servingLayout } from './serving.ts';
import { type FlatForest, valuesPerLeaf } from './types.ts';

/** Leaf index reached by `row` (read at `offset`) in the tree rooted at node `root`, over the node arrays. */
export function leafOf(forest: FlatForest, root: number, row: ArrayLike<number>, offset = 0): number {
  const { nodeFeature, nodeThreshold, nodeNext } = forest;
  let node = root;
  let feature = nodeFeature[node];
  while (feature >= 0) {
    node = row[offset + feature] <= nodeThreshold[node] ? node + 1 : nodeNext[node];
    feature = nodeFeature[node];
  }
  return nodeNext[node];
}

/** Writes the cuts of the row at `x[offset ..]` into `cuts[cutOffset ..]` (`featureCount` values). */
function cutRow(
  layout: AnyLayout,
  x: ArrayLike<number>,
  offset: number,
  cuts: Int32Array,
  cutOffset: number,
): void {
  const { thresholds, featureStart } = layout;
  const featureCount = featureStart.length - 1;
  for (let feature = 0; feature < featureCount; feature++) {
    cuts[cutOffset + feature] = cutOf(
      thresholds,
      featureStart[feature],
      featureStart[feature + 1],
      x[offset + feature],
    );
  }
}

/**
 * The cuts of a packed walk's row, one per slot (`PackedLayout.slotFeature`). A constant binding to an
 * array of fixed size lets V8 compile its address and length into the walk instead of loading them at
 * every step: with the row's path in cache, 17-20% less time per row on the 100k × 20 forest than the
 * reassignable `rowCuts` (bench/RESULTS.md).
 */
const packedCuts = new Int32Array(SPLIT_VALUES);

/**
 * Writes the cuts of the row at `x[offset ..]` into `cuts[cutOffset ..]`, one per slot, numbered as the
 * layout's splits (`slot << slotBits | rank`, `packed.ts`) so a split compares with its slot's cut.
 */
function cutPackedRow(
  layout: PackedLayout,
  x: ArrayLike<number>,
  offset: number,
  cuts: Int32Array,
  cutOffset: number,
): void {
  const { thresholds, featureStart, slotFeature, slotBits } = layout;
  for (let slot = 0; slot < slotFeature.length; slot++) {
    const feature = slotFeature[slot];
    const start = featureStart[feature];
    const rank = cutOf(thresholds, start, featureStart[feature + 1], x[offset + feature]) - start;
    cuts[cutOffset + slot] = (slot << slotBits) + rank;
  }
}

/** Leaf index reached in the tree rooted at node `root` by the row whose cuts are at `cuts[offset ..]`. */
function leafOfCut(layout: ServingLayout, root: number, cuts: Int32Array, offset: number): number {
  const { nodes, thresholdFeature } = layout;
  let at = 2 * root;
  let split = nodes[at];
  while (split >= 0) {
    at = split >= cuts[offset + thresholdFeature[split]] ? at + 2 : 2 * nodes[at + 1];
    split = nodes[at];
  }
  return nodes[at + 1];
}

/** Cuts of the row being predicted, and the leaf indexes found by `leavesOfFour` (module scratch: prediction never re-enters itself). */
let rowCuts = new Int32Array(0);
const fourLeaves = new Int32Array(4);

/** Walks trees `tree .. tree + 3` for the row in `rowCuts` in lockstep and leaves their leaf indexes in `fourLeaves`. */
function leavesOfFour(layout: ServingLayout, roots: Uint32Array, tree: number): void {
  const { nodes, thresholdFeature } = layout;
  const cuts = rowCuts;
  let a = 2 * roots[tree];
  let b = 2 * roots[tree + 1];
  let c = 2 * roots[tree + 2];
  let d = 2 * roots[tree + 3];
  let splitA = nodes[a];
  let splitB = nodes[b];
  let splitC = nodes[c];
  let splitD = nodes[d];
  // Leaves have split −1, so the AND is negative only once all four walks have reached a leaf.
  while ((splitA & splitB & splitC & splitD) >= 0) {
    if (splitA >= 0) {
      a = splitA >= cuts[thresholdFeature[splitA]] ? a + 2 : 2 * nodes[a + 1];
      splitA = nodes[a];
    }
    if (splitB >= 0) {
      b = splitB >= cuts[thresholdFeature[splitB]] ? b + 2 : 2 * nodes[b + 1];
      splitB = nodes[b];
    }
    if (splitC >= 0) {
      c = splitC >= cuts[thresholdFeature[splitC]] ? c + 2 : 2 * nodes[c + 1];
      splitC = nodes[c];
    }
    if (splitD >= 0) {
      d = splitD >= cuts[thresholdFeature[splitD]] ? d + 2 : 2 * nodes[d + 1];
      splitD = nodes[d];
    }
  }
  fourLeaves[0] = nodes[a + 1];
  fourLeaves[1] = nodes[b + 1];
  fourLeaves[2] = nodes[c + 1];
  fourLeaves[3] = nodes[d + 1];
}

/**
 * Leaf index of tree `tree` for the row in `rowCuts`, walking four trees at once: callers ask for trees
 * 0, 1, 2, … in order, so the first tree of each block of four walks the whole block.
 */
function leafInOrder(layout: ServingLayout, roots: Uint32Array, tree: number): number {
  const blockStart = tree & ~3;
  if (blockStart + 4 > roots.length) return leafOfCut(layout, roots[tree], rowCuts, 0);
  if (tree === blockStart) leavesOfFour(layout, roots, tree);
  return fourLeaves[tree - blockStart];
}

/**
 * Word index of the leaf reached in tree `tree` of a packed layout by the row whose slot cuts are at
 * `cuts[offset ..]`. The child is chosen without a branch: `right` is 1 when `split < cut`.
 */
function packedLeafOf(layout: PackedLayout, tree: number, cuts: Int32Array, offset: number): number {
  const { words, slotBits } = layout;
  const root = layout.roots[tree];
  let at = root >>> 1;
  if ((root & 1) === 1) return at;
  for (;;) {
    const word = words[at];
    const split = word & 0x3fff;
    const right = (split - cuts[offset + (split >>> slotBits)]) >>> 31;
    at += (word >>> 16) + right;
    if (((word >>> (14 + right)) & 1) === 1) return at;
  }
}

/** Walks trees `tree .. tree + 3` of a packed layout for the row in `packedCuts` in lockstep; leaf words into `fourLeaves`. */
function packedLeavesOfFour(layout: PackedLayout, tree: number): void {
  const { words, slotBits, roots } = layout;
  const rootA = roots[tree];
  const rootB = roots[tree + 1];
  const rootC = roots[tree + 2];
  const rootD = roots[tree + 3];
  let a = rootA >>> 1;
  let b = rootB >>> 1;
  let c = rootC >>> 1;
  let d = rootD >>> 1;
  // Bit k set while walk k has not reached a leaf.
  let walking = (~rootA & 1) | ((~rootB & 1) << 1) | ((~rootC & 1) << 2) | ((~rootD & 1) << 3);
  while (walking !== 0) {
    if ((walking & 1) !== 0) {
      const word = words[a];
      const split = word & 0x3fff;
      const right = (split - packedCuts[split >>> slotBits]) >>> 31;
      a += (word >>> 16) + right;
      walking &= ~((word >>> (14 + right)) & 1);
    }
    if ((walking & 2) !== 0) {
      const word = words[b];
      const split = word & 0x3fff;
      const right = (split - packedCuts[split >>> slotBits]) >>> 31;
      b += (word >>> 16) + right;
      walking &= ~(((word >>> (14 + right)) & 1) << 1);
    }
    if ((walking & 4) !== 0) {
      const word = words[c];
      const split = word & 0x3fff;
      const right = (split - packedCuts[split >>> slotBits]) >>> 31;
      c += (word >>> 16) + right;
      walking &= ~(((word >>> (14 + right)) & 1) << 2);
    }
    if ((walking & 8) !== 0) {
      const word = words[d];
      const split = word & 0x3fff;
      const right = (split - packedCuts[split >>> slotBits]) >>> 31;
      d += (word >>> 16) + right;
      walking &= ~(((word >>> (14 + right)) & 1) << 3);
    }
  }
  fourLeaves[0] = a;
  fourLeaves[1] = b;
  fourLeaves[2] = c;
  fourLeaves[3] = d;
}

/** Leaf index (into `leafValues`) of tree `tree` of a packed layout, in order as {@link leafInOrder}. */
function packedLeafInOrder(layout: PackedLayout, tree: number): number {
  const blockStart = tree & ~3;
  let word: number;
  if (blockStart + 4 > layout.roots.length) word = packedLeafOf(layout, tree, packedCuts, 0);
  else {
    if (tree === blockStart) packedLeavesOfFour(layout, tree);
    word = fourLeaves[tree - blockStart];
  }
  return layout.words[word];
}

/** Sum of the inline leaf values of every tree of a packed regression layout for the row in `packedCuts`, trees in order. */
function packedInlineSum(layout: PackedLayout, nTrees: number): number {
  const values = layout.inlineValues!;
  const blocks = nTrees & ~3;
  let sum = 0;
  for (let tree = 0; tree < blocks; tree += 4) {
    packedLeavesOfFour(layout, tree);
    sum += values[fourLeaves[0]];
    sum += values[fourLeaves[1]];
    sum += values[fourLeaves[2]];
    sum += values[fourLeaves[3]];
  }
  for (let tree = blocks; tree < nTrees; tree++) sum += values[packedLeafOf(layout, tree, packedCuts, 0)];
  return sum;
}

let sharedProbabilities = new Float64Array(0);

/** Offset from `base` of the largest of `count` values (the first one on ties). */
function argMax(values: ArrayLike<number>, base: number, count: number): number {
  let top = 0;
  for (let k = 1; k < count; k++) if (values[base + k] > values[base + top]) top = k;
  return top;
}

/**
 * Predicts one row.
 *
 * Regression: returns the mean of the trees' leaf values. Classification: fills `out` (length
 * `classes.length`; a shared buffer when omitted) with class probabilities — the mean of the trees' leaf
 * class distributions, or vote shares for a `vote` forest — and returns the index of the top class
 * (for `vote`, ties go to the class that reached the top count first in tree order, as ml-random-forest).
 *
 * @param row the features in training order; NaN goes right at every split
 * @example
 * const value = predictRow(forest, [0.1, 0.5, 0.9]);
 * const probabilities = new Float64Array(forest.classes.length);
 * const top = predictRow(classifier, row, probabilities); // classifier.classes[top] is the label
 */
export function predictRow(forest: FlatForest, row: ArrayLike<number>, out?: Float64Array): number {
  const { nTrees } = forest;
  const layout = servingLayout(forest);
  if (layout.kind === 'packed') {
    cutPackedRow(layout, row, 0, packedCuts, 0);
    if (forest.task === 'regression' && layout.inlineValues !== undefined)
      return packedInlineSum(layout, nTrees) / nTrees;
  } else {
    if (rowCuts.length < forest.featureCount) rowCuts = new Int32Array(forest.featureCount);
    cutRow(layout, row, 0, rowCuts, 0);
  }
  // Read only now: a forest loaded with inline leaf values builds its `leafValues` on first read.
  const { leafValues, treeRoots } = forest;
  if (forest.task === 'regression') {
    let sum = 0;
    for (let tree = 0; tree < nTrees; tree++) sum += leafValues[leafIndex(layout, treeRoots, tree)];
    return sum / nTrees;
  }
  const classCount = valuesPerLeaf(forest);
  if (out === undefined) {
    if (sharedProbabilities.length !== classCount) sharedProbabilities = new Float64Array(classCount);
    out = sharedProbabilities;
  }
  out.fill(0, 0, classCount);
  if (forest.aggregation === 'vote') {
    let mode = 0;
    let modeCount = 0;
    for (let tree = 0; tree < nTrees; tree++) {
      const base = leafIndex(layout, treeRoots, tree) * classCount;
      const vote = argMax(leafValues, base, classCount);
      const count = ++out[vote];
      if (count > modeCount) {
        modeCount = count;
        mode = vote;
      }
    }
    for (let k = 0; k < classCount; k++) out[k] /= nTrees;
    return mode;
  }
  for (let tree = 0; tree < nTrees; tree++) {
    const base = leafIndex(layout, treeRoots, tree) * classCount;
    for (let k = 0; k < classCount; k++) out[k] += leafValues[base + k];
  }
  for (let k = 0; k < classCount; k++) out[k] /= nTrees;
  return argMax(out, 0, classCount);
}

/** Leaf index of tree `tree` for the row in `rowCuts`, trees asked for in order (see {@link leafInOrder}). */
function leafIndex(layout: AnyLayout, treeRoots: Uint32Array, tree: number): number {
  return layout.kind === 'packed' ? packedLeafInOrder(layout, tree) : leafInOrder(layout, treeRoots, tree);
}

/**
 * Predicts many rows: `x` is row-major `rowCount × featureCount`. Returns regression values, or
 * row-major class probabilities (`rowCount × classes.length`). Trees are walked one at a time over all
 * rows so each tree's nodes stay in cache; every row still sums its trees in tree order, so results
 * equal `predictRow`'s exactly.
 *
 * @throws RangeError when `x` does not hold `rowCount × featureCount` values.
 */
export function predictBatch(forest: FlatForest, x: Float64Array, rowCount: number): Float64Array {
  const { featureCount, nTrees } = forest;
  if (!Number.isInteger(rowCount) || rowCount < 0 || x.length !== rowCount * featureCount) {
    throw new RangeError(`x has ${x.length} values; ${rowCount} rows × ${featureCount} features expected`);
  }
  const classCount = valuesPerLeaf(forest);
  const out = new Float64Array(rowCount * classCount);
  if (forest.aggregation === 'vote') {
    for (let row = 0; row < rowCount; row++) {
      predictRow(
        forest,
        x.subarray(row * featureCount, (row + 1) * featureCount),
        out.subarray(row * classCount),
      );
    }
    return out;
  }
  const layout = servingLayout(forest);
  if (layout.kind === 'packed') {
    const { inlineValues, words, slotFeature } = layout;
    const slots = slotFeature.length;
    const cuts = new Int32Array(rowCount * slots);
    for (let row = 0; row < rowCount; row++) cutPackedRow(layout, x, row * featureCount, cuts, row * slots);
    const leafValues = inlineValues === undefined ? forest.leafValues : undefined;
    for (let tree = 0; tree < nTrees; tree++) {
      for (let row = 0; row < rowCount; row++) {
        const word = packedLeafOf(layout, tree, cuts, row * slots);
        if (leafValues === undefined) {
          out[row] += inlineValues![word];
          continue;
        }
        const base = words[word] * classCount;
        const target = row * classCount;
        for (let k = 0; k < classCount; k++) out[target + k] += leafValues[base + k];
      }
    }
  } else {
    const cuts = new Int32Array(rowCount * featureCount);
    for (let row = 0; row < rowCount; row++) cutRow(layout, x, row * featureCount, cuts, row * featureCount);
    const { treeRoots, leafValues } = forest;
    for (let tree = 0; tree < nTrees; tree++) {
      const root = treeRoots[tree];
      for (let row = 0; row < rowCount; row++) {
        const base = leafOfCut(layout, root, cuts, row * featureCount) * classCount;
        const target = row * classCount;
        for (let k = 0; k < classCount; k++) out[target + k] += leafValues[base + k];
      }
    }
  }
  for (let cell = 0; cell < out.length; cell++) out[cell] /= nTrees;
  return out;
}
