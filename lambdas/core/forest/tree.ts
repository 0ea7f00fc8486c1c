/**
 * Growing one histogram tree of the fast engine on binned data.
 *
 * Split search: every node holds, per feature and bin, the weighted row count and target sums (one sum for
 * regression and binary classification, one per class otherwise). The best split of a feature is one scan
 * over its bins. The criterion is the impurity decrease
 *
 *   Δ = (nL · nR / n) · Σ_c (μL,c − μR,c)²
 *
 * which is the decrease in the sum of squared errors for regression (variance reduction, as scikit-learn's
 * MSE criterion) and the decrease in weighted Gini impurity n·(1 − Σ p_c²) for one-hot class indicators
 * (for two classes, one indicator suffices and Δ is half the Gini decrease, which doesn't change the choice).
 * Scans compare n·Δ·nL·nR = Σ_c (ΣL,c·nR − ΣR,c·nL)², which needs no division per bin and, unlike
 * ΣL²/nL + ΣR²/nR − Σ²/n, stays accurate when the target is far from zero.
 *
 * The subtraction trick: when every feature is histogrammed (the feature sample per split is at least half
 * of all features), only the smaller child's histogram is built; the larger child's is the parent's minus
 * it, computed in place in the parent's buffer. Nodes with few rows skip full histograms altogether: a
 * sparse one-feature histogram of just the bins they touch is cheaper than clearing and scanning every bin.
 *
 * Bootstrap rows are kept once with their draw count as weight (as scikit-learn's sample weights), so
 * `minSamplesLeaf` and `minSamplesSplit` count draws, not distinct rows.
 */
import { type RandomStream, treeStream } from './random.ts';
import { drawRowCounts } from './sampling.ts';

/** Everything a tree builder needs, shared by all trees of a fit (and by all workers). */
export interface TreeJob {
  rowCount: number;
  featureCount: number;
  /** Column-major bin codes, `bins[feature * rowCount + row]`. */
  bins: Uint8Array;
  /** Bins per feature. */
  binCounts: Int32Array;
  /** Regression: the target; classification: the class index of each row. */
  target: Float64Array;
  /** 0 for regression. */
  classCount: number;
  seed: number;
  featuresPerSplit: number;
  maxDepth: number;
  minSamplesLeaf: number;
  minSamplesSplit: number;
  maxLeaves: number;
  bootstrap: boolean;
  sampleFraction: number;
}

/** One grown tree in pre-order, ready to be appended to a flat forest. */
export interface GrownTree {
  /** Feature per node, -1 at leaves. */
  feature: Int32Array<ArrayBuffer>;
  /** Internal nodes: the split's bin (rows with bin ≤ it go left). */
  splitBin: Uint8Array<ArrayBuffer>;
  /** Internal nodes: offset of the right child from the tree's root; leaves: the tree-local leaf index. */
  next: Uint32Array<ArrayBuffer>;
  /** Values per leaf: 1 for regression, the class count for classification. */
  leafValues: Float32Array<ArrayBuffer>;
  /** Unnormalised impurity decrease per feature. */
  importances: Float64Array<ArrayBuffer>;
}

/**
 * Nodes with at most this many distinct rows are split from sparse one-feature histograms instead of full
 * ones (measured on Friedman #1 at 10k × 12: flat between 128 and 1024, best around 384).
 */
const SMALL_NODE_ROWS = 384;

/** Histogram buffers kept alive at once for best-first growth (each one is all features × bins). */
const MAX_RETAINED_HISTOGRAMS = 64;

/** A binary max-heap of node ids keyed by split gain, for best-first growth under `maxLeaves`. */
class GainHeap {
  readonly ids: number[] = [];
  readonly keys: number[] = [];
  get size(): number {
    return this.ids.length;
  }
  push(id: number, key: number): void {
    const { ids, keys } = this;
    let at = ids.length;
    ids.push(id);
    keys.push(key);
    while (at > 0) {
      const parent = (at - 1) >> 1;
      // Ties go to the node created first, so growth order never depends on heap internals.
      if (keys[parent] > key || (keys[parent] === key && ids[parent] < id)) break;
      ids[at] = ids[parent];
      keys[at] = keys[parent];
      at = parent;
    }
    ids[at] = id;
    keys[at] = key;
  }
  pop(): number {
    const { ids, keys } = this;
    const top = ids[0];
    const lastId = ids.pop()!;
    const lastKey = keys.pop()!;
    const size = ids.length;
    if (size === 0) return top;
    let at = 0;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= size) break;
      const right = child + 1;
      if (
        right < size &&
        (keys[right] > keys[child] || (keys[right] === keys[child] && ids[right] < ids[child]))
      ) {
        child = right;
      }
      if (keys[child] < lastKey || (keys[child] === lastKey && ids[child] > lastId)) break;
      ids[at] = ids[child];
      keys[at] = keys[child];
      at = child;
    }
    ids[at] = lastId;
    keys[at] = lastKey;
    return top;
  }
}

/**
 * Grows trees of one job. Holds the scratch buffers, so a worker builds tree after tree without
 * re-allocating them.
 */
export class TreeBuilder {
  private readonly job: TreeJob;
  /** Channels per bin besides the count: 1 (regression, binary) or the class count. */
  private readonly channels: number;
  private readonly stride: number;
  private readonly multiClass: boolean;
  private readonly featureOffset: Int32Array;
  private readonly slotSize: number;
  /** Histogram every feature at every large node, so children can use the subtraction trick. */
  private readonly fullHistograms: boolean;
  private readonly freeSlots: Float64Array[] = [];
  private slotsInUse = 0;
  private readonly featureOrder: Int32Array;
  private readonly sampled: Int32Array;
  /** Bitmap of the bins the scratch histogram holds (256 bits). */
  private readonly touchedBins: Int32Array;
  /** One feature's histogram for small nodes, all zeros between uses. */
  private readonly scratchHistogram: Float64Array;
  /** Left totals accumulated during a scan. */
  private readonly runningLeft: Float64Array;
  /** Left totals of the last scan's best candidate. */
  private readonly candidateLeft: Float64Array;
  /** Left totals of the node's best split so far. */
  private readonly bestLeftTotals: Float64Array;
  private readonly nodeTotalsScratch: Float64Array;
  private readonly childLeftTotals: Float64Array;
  private readonly childRightTotals: Float64Array;
  // The best candidate of the last bestSplit* call that returned a bin.
  private candidateGain = 0;
  private candidateLeftWeight = 0;

  // Per-tree state, re-allocated per tree (sized by its in-bag rows).
  private rows = new Uint32Array(0);
  /** Row-major bin codes by position (`[position * featureCount + feature]`), valid inside small nodes. */
  private localBins = new Uint8Array(0);
  private weight = new Float64Array(0);
  /** Regression/binary: weight × target; multi-class: the class index. */
  private weightedTarget = new Float64Array(0);
  private rng: RandomStream = treeStream(0, 0);
  private importances: Float64Array<ArrayBuffer> = new Float64Array(0);
  private minGain = 0;

  // Node records, in creation order.
  private nodeStart: number[] = [];
  private nodeEnd: number[] = [];
  private nodeDepth: number[] = [];
  private nodeWeight: number[] = [];
  /** `channels` totals per node. */
  private nodeTotals: number[] = [];
  private nodeSlot: (Float64Array | null)[] = [];
  private nodeFeature: number[] = [];
  private nodeBin: number[] = [];
  private nodeGain: number[] = [];
  private nodeLeftWeight: number[] = [];
  /** `channels` left-child totals of the chosen split per node. */
  private nodeLeftTotals: number[] = [];
  private nodeLeft: number[] = [];
  private nodeRight: number[] = [];

  constructor(job: TreeJob) {
    this.job = job;
    this.multiClass = job.classCount > 2;
    this.channels = this.multiClass ? job.classCount : 1;
    this.stride = this.channels + 1;
    this.featureOffset = new Int32Array(job.featureCount);
    let totalBins = 0;
    for (let feature = 0; feature < job.featureCount; feature++) {
      this.featureOffset[feature] = totalBins;
      totalBins += job.binCounts[feature];
    }
    this.slotSize = totalBins * this.stride;
    this.fullHistograms = 2 * job.featuresPerSplit >= job.featureCount;
    this.featureOrder = Int32Array.from({ length: job.featureCount }, (_, feature) => feature);
    this.sampled = new Int32Array(job.featureCount);
    this.touchedBins = new Int32Array(8);
    this.scratchHistogram = new Float64Array(256 * this.stride);
    this.runningLeft = new Float64Array(this.channels);
    this.candidateLeft = new Float64Array(this.channels);
    this.bestLeftTotals = new Float64Array(this.channels);
    this.nodeTotalsScratch = new Float64Array(this.channels);
    this.childLeftTotals = new Float64Array(this.channels);
    this.childRightTotals = new Float64Array(this.channels);
  }

  /** Grows tree `treeIndex` of the job's seeded forest. */
  build(treeIndex: number): GrownTree {
    const job = this.job;
    this.rng = treeStream(job.seed, treeIndex);
    // The feature shuffle carries over between draws; restart it so a tree never depends on the previous one.
    for (let feature = 0; feature < job.featureCount; feature++) this.featureOrder[feature] = feature;
    const counts = drawRowCounts(this.rng, job.rowCount, job.bootstrap, job.sampleFraction);
    this.loadRows(counts);
    this.resetNodes();
    this.importances = new Float64Array(job.featureCount);

    const root = this.createRootNode();
    if (this.rows.length <= SMALL_NODE_ROWS) this.gatherLocalBins(0, this.rows.length);
    if (this.minGain > 0) this.evaluate(root);
    if (job.maxLeaves > 0) this.growBestFirst(root);
    else this.growDepthFirst(root);
    return this.emit(root);
  }

  private loadRows(counts: Uint32Array): void {
    const { target } = this.job;
    let inBag = 0;
    for (let row = 0; row < counts.length; row++) if (counts[row] > 0) inBag++;
    this.rows = new Uint32Array(inBag);
    if (this.localBins.length < inBag * this.job.featureCount) {
      this.localBins = new Uint8Array(inBag * this.job.featureCount);
    }
    this.weight = new Float64Array(inBag);
    this.weightedTarget = new Float64Array(inBag);
    let at = 0;
    for (let row = 0; row < counts.length; row++) {
      const count = counts[row];
      if (count === 0) continue;
      this.rows[at] = row;
      this.weight[at] = count;
      if (this.multiClass) this.weightedTarget[at] = target[row];
      else this.weightedTarget[at] = count * target[row];
      at++;
    }
  }

  private resetNodes(): void {
    this.nodeStart = [];
    this.nodeEnd = [];
    this.nodeDepth = [];
    this.nodeWeight = [];
    this.nodeTotals = [];
    this.nodeSlot = [];
    this.nodeFeature = [];
    this.nodeBin = [];
    this.nodeGain = [];
    this.nodeLeftWeight = [];
    this.nodeLeftTotals = [];
    this.nodeLeft = [];
    this.nodeRight = [];
  }

  private addNode(
    start: number,
    end: number,
    depth: number,
    weight: number,
    totals: ArrayLike<number>,
  ): number {
    const id = this.nodeStart.length;
    this.nodeStart.push(start);
    this.nodeEnd.push(end);
    this.nodeDepth.push(depth);
    this.nodeWeight.push(weight);
    for (let channel = 0; channel < this.channels; channel++) {
      this.nodeTotals.push(totals[channel]);
      this.nodeLeftTotals.push(0);
    }
    this.nodeSlot.push(null);
    this.nodeFeature.push(-1);
    this.nodeBin.push(0);
    this.nodeGain.push(0);
    this.nodeLeftWeight.push(0);
    this.nodeLeft.push(-1);
    this.nodeRight.push(-1);
    return id;
  }

  /** The root node, with the minimum gain worth a split set from the root's impurity. */
  private createRootNode(): number {
    const { weight, weightedTarget, channels } = this;
    const totals = this.nodeTotalsScratch.fill(0);
    let total = 0;
    for (let at = 0; at < weight.length; at++) {
      total += weight[at];
      if (this.multiClass) totals[weightedTarget[at]] += weight[at];
      else totals[0] += weightedTarget[at];
    }
    let impurity = 0;
    if (this.multiClass || this.job.classCount === 2) {
      // Σ_c (T_c − T_c²/n): the Gini (or single-indicator) impurity times n.
      for (let channel = 0; channel < channels; channel++)
        impurity += totals[channel] - totals[channel] ** 2 / total;
    } else {
      const mean = totals[0] / total;
      const { target } = this.job;
      let lowest = Number.POSITIVE_INFINITY;
      let highest = Number.NEGATIVE_INFINITY;
      for (let at = 0; at < weight.length; at++) {
        const value = target[this.rows[at]];
        impurity += weight[at] * (value - mean) ** 2;
        if (value < lowest) lowest = value;
        if (value > highest) highest = value;
      }
      if (lowest === highest) impurity = 0;
    }
    // Gains below this are rounding noise, not structure: a constant target never splits.
    this.minGain = impurity > 0 ? impurity * 1e-12 : 0;
    return this.addNode(0, weight.length, 0, total, totals);
  }

  private acquireSlot(): Float64Array {
    this.slotsInUse++;
    return this.freeSlots.pop()?.fill(0) ?? new Float64Array(this.slotSize);
  }

  private releaseSlot(slot: Float64Array): void {
    this.slotsInUse--;
    this.freeSlots.push(slot);
  }

  /** Draws this split's feature sample: a partial Fisher–Yates shuffle of all features. */
  private sampleFeatures(): number {
    const { featureOrder, sampled, rng } = this;
    const featureCount = featureOrder.length;
    const count = this.job.featuresPerSplit;
    for (let draw = 0; draw < count; draw++) {
      const pick = draw + rng.below(featureCount - draw);
      const feature = featureOrder[pick];
      featureOrder[pick] = featureOrder[draw];
      featureOrder[draw] = feature;
      sampled[draw] = feature;
    }
    return count;
  }

  /** Adds rows [start, end) of the node to `slot` for one feature. */
  private accumulate(slot: Float64Array, feature: number, start: number, end: number, sign: number): void {
    const { rows, weight, weightedTarget, stride } = this;
    const { bins, rowCount } = this.job;
    const column = feature * rowCount;
    const base = this.featureOffset[feature] * stride;
    if (this.multiClass) {
      for (let at = start; at < end; at++) {
        const cell = base + bins[column + rows[at]] * stride;
        const w = sign * weight[at];
        slot[cell] += w;
        slot[cell + 1 + weightedTarget[at]] += w;
      }
    } else if (sign > 0) {
      for (let at = start; at < end; at++) {
        const cell = base + bins[column + rows[at]] * 2;
        slot[cell] += weight[at];
        slot[cell + 1] += weightedTarget[at];
      }
    } else {
      for (let at = start; at < end; at++) {
        const cell = base + bins[column + rows[at]] * 2;
        slot[cell] -= weight[at];
        slot[cell + 1] -= weightedTarget[at];
      }
    }
  }

  /**
   * Finds the node's best split over a fresh feature sample and records it (or marks the node a leaf).
   * Large nodes without a histogram get one; with full histograms it is kept for the children.
   */
  private evaluate(node: number): void {
    const job = this.job;
    const weight = this.nodeWeight[node];
    this.nodeFeature[node] = -1;
    if (
      (job.maxDepth > 0 && this.nodeDepth[node] >= job.maxDepth) ||
      weight < job.minSamplesSplit ||
      weight < 2 * job.minSamplesLeaf
    ) {
      this.dropSlot(node);
      return;
    }
    const start = this.nodeStart[node];
    const end = this.nodeEnd[node];
    const sampleCount = this.sampleFeatures();
    const totals = this.nodeTotalsScratch;
    for (let channel = 0; channel < this.channels; channel++) {
      totals[channel] = this.nodeTotals[node * this.channels + channel];
    }
    let best = 0;
    let bestFeature = -1;
    let bestBin = 0;
    let bestLeftWeight = 0;
    const small = end - start <= SMALL_NODE_ROWS;
    let slot = this.nodeSlot[node];
    let scratch: Float64Array | null = null;
    if (!small && slot === null) {
      const retain =
        this.fullHistograms && (job.maxLeaves === 0 || this.slotsInUse < MAX_RETAINED_HISTOGRAMS);
      const built = this.acquireSlot();
      if (retain) {
        for (let feature = 0; feature < job.featureCount; feature++)
          this.accumulate(built, feature, start, end, 1);
        this.nodeSlot[node] = built;
      } else {
        for (let draw = 0; draw < sampleCount; draw++)
          this.accumulate(built, this.sampled[draw], start, end, 1);
        scratch = built;
      }
      slot = built;
    }
    for (let draw = 0; draw < sampleCount; draw++) {
      const feature = this.sampled[draw];
      const found = small
        ? this.bestSplitByScratch(feature, start, end, weight, totals, best)
        : this.bestSplitByHistogram(slot!, feature, weight, totals, best);
      if (found >= 0) {
        best = this.candidateGain;
        bestFeature = feature;
        bestBin = found;
        bestLeftWeight = this.candidateLeftWeight;
        this.bestLeftTotals.set(this.candidateLeft);
      }
    }
    if (scratch !== null) this.releaseSlot(scratch);
    const gain = best / weight;
    if (bestFeature < 0 || !(gain > this.minGain)) {
      this.dropSlot(node);
      return;
    }
    this.nodeFeature[node] = bestFeature;
    this.nodeBin[node] = bestBin;
    this.nodeGain[node] = gain;
    this.nodeLeftWeight[node] = bestLeftWeight;
    for (let channel = 0; channel < this.channels; channel++) {
      this.nodeLeftTotals[node * this.channels + channel] = this.bestLeftTotals[channel];
    }
  }

  /**
   * Σ_c (L_c·nR − R_c·nL)² for a candidate with left totals `left`: the scaled gain n·Δ = nL·nR·Σ_c(μL,c − μR,c)²
   * times nL·nR. Scans compare it with `best · nL·nR`, so they divide only when a candidate wins.
   */
  private crossSquares(
    leftWeight: number,
    rightWeight: number,
    left: Float64Array,
    totals: Float64Array,
  ): number {
    let squares = 0;
    for (let channel = 0; channel < this.channels; channel++) {
      const cross = left[channel] * rightWeight - (totals[channel] - left[channel]) * leftWeight;
      squares += cross * cross;
    }
    return squares;
  }

  /**
   * Best split of one feature from the node's histogram: returns the split bin when it beats `best`
   * (and leaves its gain in `candidateGain`), else -1. Among the empty bins between the last bin going
   * left and the first going right, the middle one is the split, so the threshold falls mid-gap as
   * scikit-learn's midpoint between neighbouring values.
   */
  private bestSplitByHistogram(
    slot: Float64Array,
    feature: number,
    weight: number,
    totals: Float64Array,
    best: number,
  ): number {
    const { stride, channels } = this;
    const minLeaf = this.job.minSamplesLeaf;
    const base = this.featureOffset[feature] * stride;
    const binCount = this.job.binCounts[feature];
    let found = -1;
    let leftWeight = 0;
    let previous = -1;
    if (!this.multiClass) {
      const total = totals[0];
      let leftSum = 0;
      for (let bin = 0; bin < binCount; bin++) {
        const cell = base + bin * 2;
        const count = slot[cell];
        if (count === 0) continue;
        if (previous >= 0 && leftWeight >= minLeaf) {
          const rightWeight = weight - leftWeight;
          if (rightWeight < minLeaf) break;
          const cross = leftSum * rightWeight - (total - leftSum) * leftWeight;
          const product = leftWeight * rightWeight;
          if (cross * cross > best * product) {
            best = (cross * cross) / product;
            found = (previous + bin - 1) >> 1;
            this.candidateLeftWeight = leftWeight;
            this.candidateLeft[0] = leftSum;
          }
        }
        leftWeight += count;
        leftSum += slot[cell + 1];
        previous = bin;
      }
    } else {
      const left = this.runningLeft.fill(0);
      for (let bin = 0; bin < binCount; bin++) {
        const cell = base + bin * stride;
        const count = slot[cell];
        if (count === 0) continue;
        if (previous >= 0 && leftWeight >= minLeaf) {
          const rightWeight = weight - leftWeight;
          if (rightWeight < minLeaf) break;
          const product = leftWeight * rightWeight;
          const squares = this.crossSquares(leftWeight, rightWeight, left, totals);
          if (squares > best * product) {
            best = squares / product;
            found = (previous + bin - 1) >> 1;
            this.candidateLeftWeight = leftWeight;
            this.candidateLeft.set(left);
          }
        }
        leftWeight += count;
        for (let channel = 0; channel < channels; channel++) left[channel] += slot[cell + 1 + channel];
        previous = bin;
      }
    }
    if (found >= 0) this.candidateGain = best;
    return found;
  }

  /**
   * Best split of one feature for a small node from a sparse histogram: its rows go into a one-feature
   * scratch histogram and a bitmap of the bins they touch; the scan visits only touched bins, in order,
   * by peeling the lowest set bit of each bitmap word, and clears them on the way. Cost: rows + touched bins,
   * where sorting would cost rows·log(rows) and a dense scan all bins.
   */
  private bestSplitByScratch(
    feature: number,
    start: number,
    end: number,
    weight: number,
    totals: Float64Array,
    best: number,
  ): number {
    const { weight: rowWeight, weightedTarget, channels, stride, multiClass, localBins } = this;
    const scratch = this.scratchHistogram;
    const touched = this.touchedBins;
    const { featureCount } = this.job;
    const minLeaf = this.job.minSamplesLeaf;
    if (multiClass) {
      for (let at = start; at < end; at++) {
        const bin = localBins[at * featureCount + feature];
        const cell = stride * bin;
        scratch[cell] += rowWeight[at];
        scratch[cell + 1 + weightedTarget[at]] += rowWeight[at];
        touched[bin >> 5] |= 1 << (bin & 31);
      }
    } else {
      for (let at = start; at < end; at++) {
        const bin = localBins[at * featureCount + feature];
        scratch[2 * bin] += rowWeight[at];
        scratch[2 * bin + 1] += weightedTarget[at];
        touched[bin >> 5] |= 1 << (bin & 31);
      }
    }
    const total = totals[0];
    const left = this.runningLeft.fill(0);
    let found = -1;
    let leftWeight = 0;
    let leftSum = 0;
    let previous = -1;
    let searching = true;
    for (let word = 0; word < 8; word++) {
      let bits = touched[word];
      touched[word] = 0;
      while (bits !== 0) {
        const lowest = bits & -bits;
        bits ^= lowest;
        const bin = (word << 5) | (31 - Math.clz32(lowest));
        const cell = stride * bin;
        if (searching && previous >= 0 && leftWeight >= minLeaf) {
          const rightWeight = weight - leftWeight;
          if (rightWeight < minLeaf) searching = false;
          else {
            let squares: number;
            if (multiClass) squares = this.crossSquares(leftWeight, rightWeight, left, totals);
            else {
              const cross = leftSum * rightWeight - (total - leftSum) * leftWeight;
              squares = cross * cross;
            }
            const product = leftWeight * rightWeight;
            if (squares > best * product) {
              best = squares / product;
              found = (previous + bin - 1) >> 1;
              this.candidateLeftWeight = leftWeight;
              if (multiClass) this.candidateLeft.set(left);
              else this.candidateLeft[0] = leftSum;
            }
          }
        }
        leftWeight += scratch[cell];
        scratch[cell] = 0;
        if (multiClass) {
          for (let channel = 0; channel < channels; channel++) {
            left[channel] += scratch[cell + 1 + channel];
            scratch[cell + 1 + channel] = 0;
          }
        } else {
          leftSum += scratch[cell + 1];
          scratch[cell + 1] = 0;
        }
        previous = bin;
      }
    }
    if (found >= 0) this.candidateGain = best;
    return found;
  }

  private dropSlot(node: number): void {
    const slot = this.nodeSlot[node];
    if (slot !== null) {
      this.releaseSlot(slot);
      this.nodeSlot[node] = null;
    }
  }

  /**
   * Moves the node's rows going left to the front of its range; returns the first right position.
   * Small nodes read the split feature from, and move, their local bin codes too.
   */
  private partition(node: number): number {
    const { rows, weight, weightedTarget, localBins } = this;
    const { bins, rowCount, featureCount } = this.job;
    const feature = this.nodeFeature[node];
    const splitBin = this.nodeBin[node];
    let low = this.nodeStart[node];
    let high = this.nodeEnd[node] - 1;
    const local = high - low + 1 <= SMALL_NODE_ROWS;
    const column = feature * rowCount;
    for (;;) {
      while (
        low <= high &&
        (local ? localBins[low * featureCount + feature] : bins[column + rows[low]]) <= splitBin
      ) {
        low++;
      }
      while (
        low <= high &&
        (local ? localBins[high * featureCount + feature] : bins[column + rows[high]]) > splitBin
      ) {
        high--;
      }
      if (low >= high) return low;
      const row = rows[low];
      rows[low] = rows[high];
      rows[high] = row;
      const w = weight[low];
      weight[low] = weight[high];
      weight[high] = w;
      const t = weightedTarget[low];
      weightedTarget[low] = weightedTarget[high];
      weightedTarget[high] = t;
      if (local) {
        const lowBase = low * featureCount;
        const highBase = high * featureCount;
        for (let offset = 0; offset < featureCount; offset++) {
          const code = localBins[lowBase + offset];
          localBins[lowBase + offset] = localBins[highBase + offset];
          localBins[highBase + offset] = code;
        }
      }
      low++;
      high--;
    }
  }

  /**
   * Copies the bin codes of positions [start, end) into `localBins`, row by row, for a node that just
   * became small: its rows' codes then sit together in cache for every split below it, instead of being
   * scattered over whole columns.
   */
  private gatherLocalBins(start: number, end: number): void {
    const { rows, localBins } = this;
    const { bins, rowCount, featureCount } = this.job;
    for (let feature = 0; feature < featureCount; feature++) {
      const column = feature * rowCount;
      for (let at = start; at < end; at++) localBins[at * featureCount + feature] = bins[column + rows[at]];
    }
  }

  /** Splits an evaluated node: partitions its rows, creates and evaluates both children. */
  private expand(node: number): void {
    const { channels } = this;
    const start = this.nodeStart[node];
    const end = this.nodeEnd[node];
    const middle = this.partition(node);
    const depth = this.nodeDepth[node] + 1;
    const weight = this.nodeWeight[node];
    const leftWeight = this.nodeLeftWeight[node];
    const leftTotals = this.childLeftTotals;
    const rightTotals = this.childRightTotals;
    for (let channel = 0; channel < channels; channel++) {
      leftTotals[channel] = this.nodeLeftTotals[node * channels + channel];
      rightTotals[channel] = this.nodeTotals[node * channels + channel] - leftTotals[channel];
    }
    const left = this.addNode(start, middle, depth, leftWeight, leftTotals);
    const right = this.addNode(middle, end, depth, weight - leftWeight, rightTotals);
    if (end - start > SMALL_NODE_ROWS) {
      if (middle - start <= SMALL_NODE_ROWS) this.gatherLocalBins(start, middle);
      if (end - middle <= SMALL_NODE_ROWS) this.gatherLocalBins(middle, end);
    }
    this.nodeLeft[node] = left;
    this.nodeRight[node] = right;
    this.importances[this.nodeFeature[node]] += this.nodeGain[node];
    this.handDownHistogram(node, left, right);
    this.evaluate(left);
    this.evaluate(right);
  }

  /**
   * The subtraction trick: the larger child's histogram is the parent's minus the smaller child's, computed
   * in the parent's buffer, which the larger child inherits. A small smaller child's rows are subtracted
   * one by one (no buffer to clear); a large one gets its own histogram, subtracted bin by bin.
   */
  private handDownHistogram(parent: number, left: number, right: number): void {
    const slot = this.nodeSlot[parent];
    if (slot === null) return;
    this.nodeSlot[parent] = null;
    const leftSize = this.nodeEnd[left] - this.nodeStart[left];
    const rightSize = this.nodeEnd[right] - this.nodeStart[right];
    const smaller = leftSize <= rightSize ? left : right;
    const larger = smaller === left ? right : left;
    const smallerSize = Math.min(leftSize, rightSize);
    if (Math.max(leftSize, rightSize) <= SMALL_NODE_ROWS) {
      this.releaseSlot(slot);
      return;
    }
    const { featureCount } = this.job;
    const start = this.nodeStart[smaller];
    const end = this.nodeEnd[smaller];
    if (smallerSize <= SMALL_NODE_ROWS) {
      for (let feature = 0; feature < featureCount; feature++) this.accumulate(slot, feature, start, end, -1);
    } else {
      const own = this.acquireSlot();
      for (let feature = 0; feature < featureCount; feature++) this.accumulate(own, feature, start, end, 1);
      for (let cell = 0; cell < slot.length; cell++) slot[cell] -= own[cell];
      this.nodeSlot[smaller] = own;
    }
    this.nodeSlot[larger] = slot;
  }

  private growDepthFirst(root: number): void {
    const stack = [root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (this.nodeFeature[node] < 0) continue;
      this.expand(node);
      stack.push(this.nodeRight[node], this.nodeLeft[node]);
    }
  }

  /** Best-first growth (as scikit-learn with `max_leaf_nodes`): always split the frontier's best gain. */
  private growBestFirst(root: number): void {
    const heap = new GainHeap();
    if (this.nodeFeature[root] >= 0) heap.push(root, this.nodeGain[root]);
    let leaves = 1;
    while (heap.size > 0 && leaves < this.job.maxLeaves) {
      const node = heap.pop();
      this.expand(node);
      leaves++;
      for (const child of [this.nodeLeft[node], this.nodeRight[node]]) {
        if (this.nodeFeature[child] >= 0) heap.push(child, this.nodeGain[child]);
      }
    }
    while (heap.size > 0) {
      const node = heap.pop();
      this.nodeFeature[node] = -1;
      this.dropSlot(node);
    }
  }

  /** Writes the grown tree in pre-order with leaf values. */
  private emit(root: number): GrownTree {
    const nodeCount = this.nodeStart.length;
    const { channels } = this;
    const leafCount = (nodeCount + 1) / 2;
    const classCount = this.job.classCount;
    const valuesPerLeaf = classCount > 0 ? classCount : 1;
    const feature = new Int32Array(nodeCount);
    const splitBin = new Uint8Array(nodeCount);
    const next = new Uint32Array(nodeCount);
    const leafValues = new Float32Array(leafCount * valuesPerLeaf);
    const stack: number[] = [root, -1];
    let position = 0;
    let leaf = 0;
    while (stack.length > 0) {
      const patch = stack.pop()!;
      const node = stack.pop()!;
      if (patch >= 0) next[patch] = position;
      const split = this.nodeFeature[node];
      if (split >= 0 && this.nodeLeft[node] >= 0) {
        feature[position] = split;
        splitBin[position] = this.nodeBin[node];
        stack.push(this.nodeRight[node], position, this.nodeLeft[node], -1);
      } else {
        feature[position] = -1;
        next[position] = leaf;
        const weight = this.nodeWeight[node];
        const values = leafValues.subarray(leaf * valuesPerLeaf, (leaf + 1) * valuesPerLeaf);
        if (classCount === 0) values[0] = this.nodeTotals[node] / weight;
        else if (classCount === 2) {
          values[1] = this.nodeTotals[node] / weight;
          values[0] = 1 - values[1];
        } else {
          for (let channel = 0; channel < channels; channel++) {
            values[channel] = this.nodeTotals[node * channels + channel] / weight;
          }
        }
        leaf++;
      }
      position++;
    }
    this.freeAllSlots();
    return { feature, splitBin, next, leafValues, importances: this.importances };
  }

  private freeAllSlots(): void {
    for (let node = 0; node < this.nodeSlot.length; node++) this.dropSlot(node);
  }
}
