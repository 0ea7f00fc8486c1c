/**
 * The packed serving layout: one 32-bit word per node, siblings side by side, each tree stored as small
 * breadth-first clusters of {@link CLUSTER_LEVELS} levels (≤ 30 words, 120 bytes: two cache lines),
 * clusters in depth-first order. A walk reads about one cache line per two levels instead of one per
 * right turn, half the memory of the two-word layout (`layout.ts`), and a regression forest's float32
 * leaf value sits in the leaf's own word, so the walk never reads a separate leaf array. Format version
 * 3 (`format.ts`) stores this layout as is, so loading is views over the file's bytes.
 *
 * An internal node's word: bits 0-13 its split, `slot << slotBits | rank`: the threshold's feature as a
 * slot (the features that have thresholds, numbered in order), and the threshold's rank among that
 * feature's (`layout.ts`: a row goes left exactly when `split >= cut`, the row's cut numbered alike), so
 * a walk finds the cut to compare with by a shift instead of a table read (0.87× the time per row at
 * 100k × 20, bench/RESULTS.md); bit 14 set when its left child is a leaf, bit 15 when its right
 * child is, bits 16-31 the distance in words from the node to its left child (the right child is the next
 * word). A leaf's word: its float32 value (regression forests with float32 leaves, `inline`) or its leaf
 * index into `leafValues` (classification, float64 leaves). Which words are leaves is known from the
 * parent's bits, and from `leafBits` for checking a file.
 */
import { thresholdFeatures, thresholdTable } from './layout.ts';
import { type FlatForest, ForestFormatError } from './types.ts';

const SPLIT_MASK = 0x3fff;
const LEFT_LEAF = 1 << 14;
const RIGHT_LEAF = 1 << 15;
/** Distinct values of the split field (14 bits): at most this many slots, each of `2^slotBits` ranks. */
export const SPLIT_VALUES = SPLIT_MASK + 1;
/** Most nodes in one tree of a packed forest (a child is at most 65,535 words after its parent). */
const MAX_PACKED_TREE_NODES = 0x1_0000;
/**
 * Tree levels per cluster: 2 + 4 + 8 + 16 words of sibling pairs. Three levels (56 bytes, one line)
 * measured the same within noise on the 13 MB forest (bench/RESULTS.md).
 */
const CLUSTER_LEVELS = 4;

/** A forest's nodes as the packed walk reads them (see the module comment). */
export interface PackedLayout {
  readonly kind: 'packed';
  /** One word per node, tree after tree. */
  words: Uint32Array;
  /** Each tree's root: `2 × word index + 1` when the root is a leaf, `2 × word index` otherwise. */
  roots: Uint32Array;
  /** The words read as float32: leaf values, when `inline`. */
  inlineValues: Float32Array | undefined;
  /** Which words are leaves, one bit each (bit `i & 7` of byte `i >> 3`); read to check a file and to rebuild node arrays. */
  leafBits: Uint8Array;
  thresholds: Float64Array;
  thresholdFeature: Int32Array;
  featureStart: Int32Array;
  /**
   * The features that have thresholds, ascending: a split's slot indexes this. A walk keeps the row's
   * cut per slot, at most {@link SPLIT_VALUES} of them whatever the feature count, so the cuts fit one
   * buffer of fixed size (`predict.ts`).
   */
  slotFeature: Int32Array;
  /** Bits of a split's rank: enough for the feature with the most thresholds. */
  slotBits: number;
  /** Each split field's threshold-table index, −1 for a field no split may hold ({@link SPLIT_VALUES} entries). */
  splitTable: Int32Array;
}

/** The packed layout's stored parts (what format 3 writes). */
export type PackedParts = Pick<
  PackedLayout,
  'words' | 'roots' | 'inlineValues' | 'leafBits' | 'thresholds' | 'featureStart'
>;

/**
 * A packed layout from its stored parts, with what the threshold table determines, or undefined when
 * the table's slots do not fit the split field (more than {@link SPLIT_VALUES} slots × ranks).
 */
export function completePacked(parts: PackedParts): PackedLayout | undefined {
  const { featureStart } = parts;
  const featureCount = featureStart.length - 1;
  const slotFeature: number[] = [];
  let widest = 0;
  for (let feature = 0; feature < featureCount; feature++) {
    const count = featureStart[feature + 1] - featureStart[feature];
    if (count === 0) continue;
    slotFeature.push(feature);
    widest = Math.max(widest, count);
  }
  const slotBits = widest <= 1 ? 0 : 32 - Math.clz32(widest - 1);
  if (slotFeature.length * 2 ** slotBits > SPLIT_VALUES) return undefined;
  const splitTable = new Int32Array(SPLIT_VALUES).fill(-1);
  slotFeature.forEach((feature, slot) => {
    for (let at = featureStart[feature]; at < featureStart[feature + 1]; at++)
      splitTable[(slot << slotBits) | (at - featureStart[feature])] = at;
  });
  return {
    kind: 'packed',
    ...parts,
    thresholdFeature: thresholdFeatures(featureStart),
    slotFeature: Int32Array.from(slotFeature),
    slotBits,
    splitTable,
  };
}

/**
 * The parts of a format 2 file (split fields are threshold-table indexes) as a layout for checking and
 * decoding only: its `splitTable` maps a field to itself, so `checkPacked` and `packedNodeArrays` read
 * it, but a walk must not (`slotBits` is meaningless).
 */
export function tableIndexedPacked(parts: PackedParts): PackedLayout {
  const { featureStart, thresholds } = parts;
  const splitTable = new Int32Array(SPLIT_VALUES).fill(-1);
  for (let at = 0; at < Math.min(thresholds.length, SPLIT_VALUES); at++) splitTable[at] = at;
  return {
    kind: 'packed',
    ...parts,
    thresholdFeature: thresholdFeatures(featureStart),
    slotFeature: new Int32Array(0),
    slotBits: 0,
    splitTable,
  };
}

/**
 * A format 2 layout's words with each internal word's split renumbered from its table index to
 * `slot << slotBits | rank` (a copy: the file's bytes are not changed), or undefined when the table does
 * not fit the slots. `layout` must have passed `checkPacked`.
 */
export function slotsFromTableIndexed(layout: PackedLayout): PackedLayout | undefined {
  const { words, leafBits, featureStart, thresholdFeature } = layout;
  const packed = completePacked({ ...layout, words: words.slice() });
  if (packed === undefined) return undefined;
  const slotOf = new Int32Array(featureStart.length);
  packed.slotFeature.forEach((feature, slot) => {
    slotOf[feature] = slot;
  });
  const renumbered = packed.words;
  for (let word = 0; word < renumbered.length; word++) {
    if ((leafBits[word >>> 3] >>> (word & 7)) & 1) continue;
    const split = renumbered[word] & SPLIT_MASK;
    const feature = thresholdFeature[split];
    renumbered[word] =
      (renumbered[word] & ~SPLIT_MASK) |
      (slotOf[feature] << packed.slotBits) |
      (split - featureStart[feature]);
  }
  if (packed.inlineValues !== undefined) packed.inlineValues = new Float32Array(renumbered.buffer);
  return packed;
}

/** Whether leaf values can live in the leaf words: one float32 per leaf. */
function inlineLeaves(forest: Pick<FlatForest, 'task' | 'leafValues'>): boolean {
  return forest.task === 'regression' && forest.leafValues instanceof Float32Array;
}

/**
 * Whether the forest's trees fit the packed layout: at most {@link MAX_PACKED_TREE_NODES} nodes per tree.
 * Its thresholds must also fit the split field (`completePacked`: the fast engine's ≤ 255 bins per
 * feature allow 64 features that split). Other forests keep the two-word layout.
 */
function fitsPacked(forest: FlatForest): boolean {
  const { treeRoots, nTrees } = forest;
  const nodeCount = forest.nodeFeature.length;
  if (nodeCount >= 0x8000_0000) return false;
  for (let tree = 0; tree < nTrees; tree++) {
    const end = tree + 1 < nTrees ? treeRoots[tree + 1] : nodeCount;
    if (end - treeRoots[tree] > MAX_PACKED_TREE_NODES) return false;
  }
  return true;
}

/**
 * Builds the packed layout from a forest's node arrays, or undefined when the forest does not fit it
 * ({@link fitsPacked}).
 */
export function buildPacked(forest: FlatForest): PackedLayout | undefined {
  const { nodeFeature, nodeNext, treeRoots, nTrees, leafValues } = forest;
  const { featureStart, thresholds, nodeSplit } = thresholdTable(forest);
  if (!fitsPacked(forest)) return undefined;
  const nodeCount = nodeFeature.length;
  const inline = inlineLeaves(forest);
  const words = new Uint32Array(nodeCount);
  const inlineValues = inline ? new Float32Array(words.buffer) : undefined;
  const leafBits = new Uint8Array((nodeCount + 7) >>> 3);
  const roots = new Uint32Array(nTrees);
  const layout = completePacked({ words, roots, inlineValues, leafBits, thresholds, featureStart });
  if (layout === undefined) return undefined;
  const { slotBits, slotFeature } = layout;
  const slotOf = new Int32Array(featureStart.length);
  slotFeature.forEach((feature, slot) => {
    slotOf[feature] = slot;
  });
  const split = new Int32Array(nodeCount).fill(-1);
  let internal = 0;
  for (let node = 0; node < nodeCount; node++) {
    const feature = nodeFeature[node];
    if (feature >= 0)
      split[node] = (slotOf[feature] << slotBits) | (nodeSplit[internal++] - featureStart[feature]);
  }
  const position = new Int32Array(nodeCount);
  // Internal nodes whose children start a new cluster, depth-first (a stack), and one cluster's parents
  // breadth-first.
  const pending = new Int32Array(nodeCount);
  const queue = new Int32Array(1 << CLUSTER_LEVELS);
  let pendingTop = 0;
  let at = 0;
  for (let tree = 0; tree < nTrees; tree++) {
    const root = treeRoots[tree];
    position[root] = at++;
    roots[tree] = 2 * position[root] + (nodeFeature[root] < 0 ? 1 : 0);
    if (nodeFeature[root] >= 0) pending[pendingTop++] = root;
    while (pendingTop > 0) {
      queue[0] = pending[--pendingTop];
      const deepest = pendingTop;
      let head = 0;
      let tail = 1;
      let levelEnd = 1;
      let depth = 0;
      while (head < tail) {
        if (head === levelEnd) {
          depth++;
          levelEnd = tail;
        }
        const parent = queue[head++];
        for (let side = 0; side < 2; side++) {
          const child = side === 0 ? parent + 1 : nodeNext[parent];
          position[child] = at++;
          if (nodeFeature[child] < 0) continue;
          if (depth + 1 < CLUSTER_LEVELS) queue[tail++] = child;
          else pending[pendingTop++] = child;
        }
      }
      // Reversed so the leftmost cluster below is laid out next.
      pending.subarray(deepest, pendingTop).reverse();
    }
  }
  for (let node = 0; node < nodeCount; node++) {
    const word = position[node];
    if (nodeFeature[node] < 0) {
      leafBits[word >>> 3] |= 1 << (word & 7);
      if (inlineValues !== undefined) inlineValues[word] = leafValues[nodeNext[node]];
      else words[word] = nodeNext[node];
      continue;
    }
    const left = node + 1;
    const right = nodeNext[node];
    words[word] =
      split[node] |
      (nodeFeature[left] < 0 ? LEFT_LEAF : 0) |
      (nodeFeature[right] < 0 ? RIGHT_LEAF : 0) |
      ((position[left] - word) << 16);
  }
  return layout;
}

/**
 * Checks that every walk over a packed layout stays inside its tree and ends on a leaf, whatever the
 * row: each tree starts where the previous one ends, every internal word's split names a threshold
 * (`splitTable`), its children lie after it inside its tree and its leaf bits agree with `leafBits`, a leaf index
 * is below `leafCount`. One pass over the words that visits each byte of `leafBits` once and, within it,
 * only the words that need a test (internal words, and leaves that hold an index): a leaf's inline value
 * needs none, and choosing words by a bit scan instead of a branch per word avoids a mispredicted
 * branch on every other word (0.6× the time of testing every word branch-free, bench/RESULTS.md).
 * Returns the number of leaves.
 *
 * @throws ForestFormatError for a layout that breaks any of these.
 */
export function checkPacked(layout: PackedLayout, leafCount: number): number {
  const { roots, leafBits, inlineValues } = layout;
  // Read as int32: V8 keeps every value below in integer registers (uint32 reads above 2^31 are doubles).
  const words = new Int32Array(layout.words.buffer, layout.words.byteOffset, layout.words.length);
  const nodeCount = words.length;
  const { splitTable } = layout;
  const indexes = inlineValues === undefined;
  let bad = 0;
  let leaves = 0;
  for (let tree = 0; tree < roots.length; tree++) {
    const start = roots[tree] >>> 1;
    const end = tree + 1 < roots.length ? roots[tree + 1] >>> 1 : nodeCount;
    if ((tree === 0 && start !== 0) || end <= start || end > nodeCount)
      throw new ForestFormatError('serialized forest has bad tree roots');
    bad |= (roots[tree] & 1) ^ ((leafBits[start >>> 3] >>> (start & 7)) & 1);
    // Every test below is arithmetic on int32 (`(a - b) >>> 31` is 1 exactly when a < b).
    const last = Math.max(start, end - 2);
    let word = start;
    while (word < end) {
      // The leaf bits of `word` up to the next multiple of 8 or the tree's end, one bit per word.
      const shift = word & 7;
      const count = Math.min(8 - shift, end - word);
      const mask = (1 << count) - 1;
      const leafByte = (leafBits[word >>> 3] >>> shift) & mask;
      leaves += bitCount(leafByte);
      let internal = ~leafByte & mask;
      while (internal !== 0) {
        const at = word + 31 - Math.clz32(internal & -internal);
        internal &= internal - 1;
        const value = words[at];
        const offset = value >>> 16;
        const left = at + offset;
        const outside = ((offset - 1) >>> 31) | ((end - 2 - left) >>> 31);
        // The children's leaf bits, read at `min(left, last)` so the reads stay in the tree.
        const over = left - last;
        const child = last + (over & (over >> 31));
        const childBits = (leafBits[child >>> 3] | (leafBits[(child >>> 3) + 1] << 8)) >>> (child & 7);
        bad |= outside | (splitTable[value & SPLIT_MASK] >>> 31) | (((value >>> 14) ^ childBits) & 3);
      }
      let indexed = indexes ? leafByte : 0;
      while (indexed !== 0) {
        const value = words[word + 31 - Math.clz32(indexed & -indexed)];
        indexed &= indexed - 1;
        bad |= (value >>> 31) | ((leafCount - 1 - value) >>> 31);
      }
      word += count;
    }
  }
  if (bad !== 0) throw new ForestFormatError('serialized forest has a malformed tree');
  return leaves;
}

/** Set bits of a byte. */
function bitCount(byte: number): number {
  const pairs = byte - ((byte >>> 1) & 0x55);
  const nibbles = (pairs & 0x33) + ((pairs >>> 2) & 0x33);
  return (nibbles + (nibbles >>> 4)) & 0x0f;
}

/**
 * The node arrays and leaf values of `FlatForest` rebuilt from a packed layout (pre-order, leaves
 * numbered in pre-order as every engine numbers them), for forests loaded from a file.
 */
export function packedNodeArrays(
  layout: PackedLayout,
  leafValues: Float32Array | Float64Array | undefined,
): Pick<FlatForest, 'nodeFeature' | 'nodeThreshold' | 'nodeNext' | 'treeRoots' | 'leafValues'> {
  const { words, roots, inlineValues, thresholds, thresholdFeature, splitTable } = layout;
  const nodeCount = words.length;
  const nodeFeature = new Int32Array(nodeCount);
  const nodeThreshold = new Float64Array(nodeCount);
  const nodeNext = new Uint32Array(nodeCount);
  const treeRoots = new Uint32Array(roots.length);
  const values = inlineValues === undefined ? undefined : new Float32Array((nodeCount + roots.length) >>> 1);
  // Word indexes still to visit, 2 × word + 1 for a leaf; a right child waits under its left subtree.
  const stack: number[] = [];
  const waiting: number[] = [];
  let node = 0;
  let leaf = 0;
  for (let tree = 0; tree < roots.length; tree++) {
    treeRoots[tree] = node;
    stack.push(roots[tree]);
    while (stack.length > 0) {
      const entry = stack.pop()!;
      if (node >= nodeCount) throw new ForestFormatError('serialized forest has a malformed tree');
      // A node popped while a parent waits for its right child: the parent's right child is this node.
      if (entry < 0) {
        nodeNext[waiting.pop()!] = node;
        continue;
      }
      const word = entry >>> 1;
      const value = words[word];
      if ((entry & 1) === 1) {
        nodeFeature[node] = -1;
        if (values !== undefined) values[leaf] = inlineValues![word];
        nodeNext[node++] = values === undefined ? value : leaf;
        leaf++;
        continue;
      }
      const split = splitTable[value & SPLIT_MASK];
      nodeFeature[node] = thresholdFeature[split];
      nodeThreshold[node] = thresholds[split];
      const left = word + (value >>> 16);
      waiting.push(node++);
      // Right subtree last: its link is set when the marker under it (−1) is popped.
      stack.push(2 * (left + 1) + ((value >>> 15) & 1), -1, 2 * left + ((value >>> 14) & 1));
    }
  }
  if (node !== nodeCount) throw new ForestFormatError('serialized forest has a malformed tree');
  return { nodeFeature, nodeThreshold, nodeNext, treeRoots, leafValues: values ?? leafValues! };
}
