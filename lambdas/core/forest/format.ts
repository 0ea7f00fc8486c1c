/**
 * The forest's binary file format: compact, JSON-free, versioned, checksummed.
 *
 * Layout (little-endian; every section starts on an 8-byte boundary):
 *
 * | bytes | field                                                                     |
 * | ----- | ------------------------------------------------------------------------- |
 * | 4     | magic `DLFF` (driftline flat forest)                                      |
 * | 2     | format version (1 or 2)                                                   |
 * | 2     | reserved, 0                                                               |
 * | 4     | body length in bytes                                                      |
 * | 4     | CRC-32 of the body                                                        |
 * | …     | body: fixed fields, then the sections below                               |
 *
 * Version 3 (written whenever the forest fits the packed layout, `packed.ts`) stores the serving layout
 * itself, so loading is typed-array views over the file's bytes (copies only where a section is not
 * aligned in memory) after the CRC-32 and one branch-free structural pass (`checkPacked`: every walk
 * stays in its tree and ends on a leaf). Body sections: classes (f64), feature importances (f64),
 * per-tree importances (f64), each tree's root (u32, as `PackedLayout.roots`), threshold table (count
 * per feature u32, then the thresholds f64), the leaf bits (u8), the node words (u32), and, unless the
 * leaf values are inline in the words, the leaf values (f32 or f64). A model artifact places the forest
 * on an 8-byte boundary (`packModel`), so every section is read in place.
 *
 * Version 2 is version 3 with each internal word's split field holding the threshold's index into the
 * whole table instead of `slot << slotBits | rank`. It is still read (files written before version 3):
 * checked as stored, then its words are copied with the splits renumbered, or, for a table the slots
 * cannot hold, decoded into the two-word layout.
 *
 * Version 1 body sections: classes (f64), feature importances (f64), per-tree importances (f64), node count of
 * each tree (u32), threshold table (count per feature u32, then the distinct thresholds of each feature
 * ascending, f64), node features in pre-order (u8, or u16 past 254 features; the largest value marks a
 * leaf), the threshold index of each internal node into its feature's table (u8/u16/u32, the narrowest
 * that fits), and the leaf values (f32 or f64).
 *
 * Right-child links are not stored: a pre-order sequence with leaf markers determines the tree. Loading
 * decodes straight into the serving layout (`layout.ts`: the threshold table as is, each node's split as
 * its table index) and rebuilds the right-child links in the same pass with a stack; the `FlatForest`
 * node arrays are rebuilt from the layout only when something other than prediction reads them.
 * A fast-engine forest of 100 trees is 1.37 MB at 7,500 × 12 training rows and 13.4 MB at 75,000 × 20;
 * `bench/forest-load.ts` times fetch + sha256 + load (bench/RESULTS.md).
 */
import { crc32 } from 'node:zlib';
import type { EngineName, LearningTask } from '../types.ts';
import { buildLayout, nodeArrays, type ServingLayout, thresholdFeatures, thresholdTable } from './layout.ts';
import {
  buildPacked,
  checkPacked,
  completePacked,
  type PackedLayout,
  packedNodeArrays,
  slotsFromTableIndexed,
  tableIndexedPacked,
} from './packed.ts';
import { rememberLayout, servingLayout } from './serving.ts';
import {
  type Aggregation,
  type FlatForest,
  ForestFormatError,
  type ResolvedForestParams,
  valuesPerLeaf,
} from './types.ts';

const MAGIC = 0x4646_4c44; // 'DLFF' read as a little-endian u32
/** The version `serializeForest` writes for forests that fit the packed layout. */
const FORMAT_VERSION = 3;
/** The packed layout with splits as table indexes: read, no longer written. */
const TABLE_INDEXED_VERSION = 2;
/** The version of the two-word layout's compact encoding, read and written for the forests that don't. */
const PAIRS_VERSION = 1;
const HEADER_BYTES = 16;

const ENGINES: readonly EngineName[] = ['fast', 'ml-random-forest'];
const TASKS: readonly LearningTask[] = ['regression', 'classification'];
const AGGREGATIONS: readonly Aggregation[] = ['mean', 'vote'];
const MAX_FEATURE_KINDS = ['fraction', 'sqrt', 'log2'] as const;

/** Appends little-endian values and 8-byte-aligned typed-array sections to a growing buffer. */
class Writer {
  private bytes = new Uint8Array(1024);
  private view = new DataView(this.bytes.buffer);
  length = 0;

  private reserve(count: number): number {
    const at = this.length;
    if (at + count > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, at + count));
      grown.set(this.bytes.subarray(0, at));
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    this.length = at + count;
    return at;
  }
  u8(value: number): void {
    this.view.setUint8(this.reserve(1), value);
  }
  u16(value: number): void {
    this.view.setUint16(this.reserve(2), value, true);
  }
  u32(value: number): void {
    this.view.setUint32(this.reserve(4), value, true);
  }
  f64(value: number): void {
    this.view.setFloat64(this.reserve(8), value, true);
  }
  align(): void {
    this.reserve((8 - (this.length % 8)) % 8);
  }
  array(values: ArrayBufferView): void {
    this.align();
    const at = this.reserve(values.byteLength);
    this.bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
  }
  finish(): Uint8Array {
    this.align();
    return this.bytes.slice(0, this.length);
  }
}

/** A typed array constructor, for {@link Reader.inPlace}. */
interface InPlaceArray<T> {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
}

/** Reads what `Writer` wrote, refusing to read past the end. */
class Reader {
  private readonly view: DataView;
  private readonly bytes: Uint8Array;
  private at = 0;

  constructor(bytes: Uint8Array) {
    // A plain Uint8Array view even of a Buffer, whose `slice` would share memory instead of copying.
    this.bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private take(count: number): number {
    if (this.at + count > this.bytes.length) throw new ForestFormatError('serialized forest is truncated');
    const at = this.at;
    this.at += count;
    return at;
  }
  u8(): number {
    return this.view.getUint8(this.take(1));
  }
  u32(): number {
    return this.view.getUint32(this.take(4), true);
  }
  f64(): number {
    return this.view.getFloat64(this.take(8), true);
  }
  private section(count: number, bytesPer: number): Uint8Array {
    this.take((8 - (this.at % 8)) % 8);
    const at = this.take(count * bytesPer);
    return this.bytes.slice(at, at + count * bytesPer);
  }
  /**
   * `count` elements of `Type` read in place, without a copy, when they are aligned in memory (a copy
   * otherwise): in version 1 for sections only decoding reads; in version 2 for the serving layout itself.
   */
  inPlace<T>(Type: InPlaceArray<T>, count: number): T {
    const bytesPer = Type.BYTES_PER_ELEMENT;
    this.take((8 - (this.at % 8)) % 8);
    const at = this.take(count * bytesPer);
    const view = this.bytes.subarray(at, at + count * bytesPer);
    const { buffer, byteOffset } = view.byteOffset % bytesPer === 0 ? view : view.slice();
    return new Type(buffer, byteOffset, count);
  }
  u32s(count: number): Uint32Array {
    return new Uint32Array(this.section(count, 4).buffer);
  }
  f32s(count: number): Float32Array {
    return new Float32Array(this.section(count, 4).buffer);
  }
  f64s(count: number): Float64Array {
    return new Float64Array(this.section(count, 8).buffer);
  }
  end(): void {
    this.take((8 - (this.at % 8)) % 8);
    if (this.at !== this.bytes.length) throw new ForestFormatError('serialized forest has trailing bytes');
  }
}

function indexArray(width: number, length: number): Uint8Array | Uint16Array | Uint32Array {
  return width === 1
    ? new Uint8Array(length)
    : width === 2
      ? new Uint16Array(length)
      : new Uint32Array(length);
}

function writeParams(writer: Writer, params: ResolvedForestParams): void {
  writer.u32(params.nTrees);
  writer.u32(params.maxDepth);
  writer.u32(params.minSamplesLeaf);
  writer.u32(params.minSamplesSplit);
  writer.u32(params.maxLeaves);
  writer.u32(params.maxBins);
  const { maxFeatures } = params;
  writer.u8(typeof maxFeatures === 'number' ? 0 : MAX_FEATURE_KINDS.indexOf(maxFeatures));
  writer.u8(params.bootstrap ? 1 : 0);
  writer.f64(typeof maxFeatures === 'number' ? maxFeatures : 0);
  writer.f64(params.sampleFraction);
}

function readParams(reader: Reader): ResolvedForestParams {
  const nTrees = reader.u32();
  const maxDepth = reader.u32();
  const minSamplesLeaf = reader.u32();
  const minSamplesSplit = reader.u32();
  const maxLeaves = reader.u32();
  const maxBins = reader.u32();
  const kind = MAX_FEATURE_KINDS[reader.u8()];
  const bootstrap = reader.u8() === 1;
  const fraction = reader.f64();
  const sampleFraction = reader.f64();
  if (kind === undefined) throw new ForestFormatError('serialized forest has an unknown maxFeatures kind');
  const maxFeatures = kind === 'fraction' ? fraction : kind;
  return {
    nTrees,
    maxDepth,
    minSamplesLeaf,
    minSamplesSplit,
    maxLeaves,
    maxFeatures,
    sampleFraction,
    bootstrap,
    maxBins,
  };
}

/** Options of `serializeForest`. */
export interface SerializeOptions {
  /**
   * The format version to write: 3 (the packed serving layout) whenever the forest fits it, else 1; 1
   * writes version 1 (what code before version 2 reads).
   * @default 3
   */
  formatVersion?: 1 | 3;
}

/**
 * Serializes a forest into the versioned binary format above: version 3 when the forest fits the packed
 * layout (`fitsPacked`), version 1 otherwise or when asked.
 *
 * @example
 * const bytes = serializeForest(forest);
 * const again = deserializeForest(bytes); // predicts exactly as `forest`
 */
export function serializeForest(forest: FlatForest, options: SerializeOptions = {}): Uint8Array {
  const packed = options.formatVersion === 1 ? undefined : packedLayout(forest);
  const writer = new Writer();
  writer.u32(MAGIC);
  writer.u16(packed === undefined ? PAIRS_VERSION : FORMAT_VERSION);
  writer.u16(0);
  // Body length and CRC-32 are filled in once the body is written.
  writer.u32(0);
  writer.u32(0);
  if (packed === undefined) writePairs(writer, forest);
  else writePacked(writer, forest, packed);
  const bytes = writer.finish();
  const view = new DataView(bytes.buffer);
  view.setUint32(8, bytes.length - HEADER_BYTES, true);
  view.setUint32(12, crc32(bytes.subarray(HEADER_BYTES)), true);
  return bytes;
}

/** The forest's packed layout (the one it serves with, or built for a forest loaded from version 1), if it fits one. */
function packedLayout(forest: FlatForest): PackedLayout | undefined {
  const layout = servingLayout(forest);
  return layout.kind === 'packed' ? layout : buildPacked(forest);
}

/** The version 3 body: fixed fields, then the packed layout's sections (see the module comment). */
function writePacked(writer: Writer, forest: FlatForest, layout: PackedLayout): void {
  const { featureStart } = layout;
  const inline = layout.inlineValues !== undefined;
  writer.u8(ENGINES.indexOf(forest.engine));
  writer.u8(TASKS.indexOf(forest.task));
  writer.u8(AGGREGATIONS.indexOf(forest.aggregation));
  writer.u8(forest.leafValues instanceof Float32Array ? 4 : 8);
  writer.u8(inline ? 1 : 0);
  writer.u8(forest.oobScore === undefined ? 0 : 1);
  writer.u16(0);
  writer.u32(forest.featureCount);
  writer.u32(forest.classes.length);
  writer.u32(forest.nTrees);
  writer.u32(forest.firstTree);
  writer.u32(forest.seed);
  writer.u32(layout.words.length);
  writer.u32(forest.leafValues.length / valuesPerLeaf(forest));
  writer.u32(0);
  writer.f64(forest.oobScore ?? 0);
  writeParams(writer, forest.params);
  writer.array(Float64Array.from(forest.classes));
  writer.array(forest.featureImportances);
  writer.array(forest.treeImportances);
  writer.array(layout.roots);
  writer.array(
    Uint32Array.from({ length: forest.featureCount }, (_, f) => featureStart[f + 1] - featureStart[f]),
  );
  writer.array(layout.thresholds);
  writer.array(layout.leafBits);
  writer.array(layout.words);
  if (!inline) writer.array(forest.leafValues);
}

/** The version 1 body (see the module comment). */
function writePairs(writer: Writer, forest: FlatForest): void {
  const { nodeFeature, featureCount, nTrees, treeRoots, leafValues } = forest;
  const nodeCount = nodeFeature.length;
  const leafCount =
    leafValues.length / Math.max(1, forest.task === 'classification' ? forest.classes.length : 1);
  const table = thresholdTable(forest);
  const counts = Uint32Array.from(
    { length: featureCount },
    (_, feature) => table.featureStart[feature + 1] - table.featureStart[feature],
  );
  const featureWidth = featureCount < 0xff ? 1 : 2;
  const leafMarker = featureWidth === 1 ? 0xff : 0xffff;
  const widestTable = counts.reduce((widest, count) => Math.max(widest, count), 0);
  const indexWidth = widestTable <= 0x100 ? 1 : widestTable <= 0x10000 ? 2 : 4;
  const features = featureWidth === 1 ? new Uint8Array(nodeCount) : new Uint16Array(nodeCount);
  for (let node = 0; node < nodeCount; node++)
    features[node] = nodeFeature[node] < 0 ? leafMarker : nodeFeature[node];
  const treeSizes = new Uint32Array(nTrees);
  for (let tree = 0; tree < nTrees; tree++) {
    treeSizes[tree] = (tree + 1 < nTrees ? treeRoots[tree + 1] : nodeCount) - treeRoots[tree];
  }

  writer.u8(ENGINES.indexOf(forest.engine));
  writer.u8(TASKS.indexOf(forest.task));
  writer.u8(AGGREGATIONS.indexOf(forest.aggregation));
  writer.u8(leafValues instanceof Float32Array ? 4 : 8);
  writer.u8(featureWidth);
  writer.u8(indexWidth);
  writer.u8(forest.oobScore === undefined ? 0 : 1);
  writer.u8(0);
  writer.u32(featureCount);
  writer.u32(forest.classes.length);
  writer.u32(nTrees);
  writer.u32(forest.firstTree);
  writer.u32(forest.seed);
  writer.u32(nodeCount);
  writer.u32(leafCount);
  writer.u32(table.nodeSplit.length);
  writer.f64(forest.oobScore ?? 0);
  writeParams(writer, forest.params);
  writer.array(Float64Array.from(forest.classes));
  writer.array(forest.featureImportances);
  writer.array(forest.treeImportances);
  writer.array(treeSizes);
  writer.array(counts);
  writer.array(table.thresholds);
  writer.array(features);
  const indexes = indexArray(indexWidth, table.nodeSplit.length);
  // The file stores each split's index within its feature's thresholds (narrower than the table index).
  let internal = 0;
  for (let node = 0; node < nodeCount; node++) {
    const feature = nodeFeature[node];
    if (feature >= 0) indexes[internal] = table.nodeSplit[internal++] - table.featureStart[feature];
  }
  writer.array(indexes);
  writer.array(leafValues);
}

function enumValue<T>(values: readonly T[], code: number, what: string): T {
  const value = values[code];
  if (value === undefined)
    throw new ForestFormatError(`serialized forest has an unknown ${what} code ${code}`);
  return value;
}

/** Options of `deserializeForest`. */
export interface DeserializeOptions {
  /**
   * The caller has already proven the bytes are the ones written (a sha256 of the enclosing artifact
   * matched the registry's, as `loadModel` checks), so the CRC-32 pass over them is skipped; the
   * structural checks still run.
   * @default false
   */
  integrityVerified?: boolean;
}

/**
 * Reads a forest written by `serializeForest`, checking magic, format version, length and CRC-32 before
 * anything else, then the tree structure itself. A version 3 forest is views over `bytes` (which it
 * keeps alive); callers must not change those bytes afterwards.
 *
 * @throws ForestFormatError for anything that is not an intact forest of format version 1 or 2: other
 *   files, other versions, truncated or garbled bytes, or a structure a walk could leave.
 */
export function deserializeForest(bytes: Uint8Array, options: DeserializeOptions = {}): FlatForest {
  if (bytes.length < HEADER_BYTES) throw new ForestFormatError('serialized forest is truncated (no header)');
  const header = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  if (header.getUint32(0, true) !== MAGIC) throw new ForestFormatError('not a serialized forest (bad magic)');
  const version = header.getUint16(4, true);
  if (version !== FORMAT_VERSION && version !== TABLE_INDEXED_VERSION && version !== PAIRS_VERSION) {
    throw new ForestFormatError(
      `unsupported forest format version ${version} (this code reads ${PAIRS_VERSION} to ${FORMAT_VERSION})`,
    );
  }
  const bodyLength = header.getUint32(8, true);
  if (bytes.length - HEADER_BYTES < bodyLength) throw new ForestFormatError('serialized forest is truncated');
  if (bytes.length - HEADER_BYTES > bodyLength)
    throw new ForestFormatError('serialized forest has trailing bytes');
  const body = bytes.subarray(HEADER_BYTES);
  if (options.integrityVerified !== true && crc32(body) !== header.getUint32(12, true)) {
    throw new ForestFormatError('serialized forest is damaged (CRC-32 mismatch)');
  }
  return version === PAIRS_VERSION ? readPairs(new Reader(body)) : readPacked(new Reader(body), version);
}

/** Reads a version 1 body, decoding it into the two-word layout. */
function readPairs(reader: Reader): FlatForest {
  const engine = enumValue(ENGINES, reader.u8(), 'engine');
  const task = enumValue(TASKS, reader.u8(), 'task');
  const aggregation = enumValue(AGGREGATIONS, reader.u8(), 'aggregation');
  const leafBytes = reader.u8();
  const featureWidth = reader.u8();
  const indexWidth = reader.u8();
  const hasOob = reader.u8() === 1;
  reader.u8();
  const featureCount = reader.u32();
  const classCount = reader.u32();
  const nTrees = reader.u32();
  const firstTree = reader.u32();
  const seed = reader.u32();
  const nodeCount = reader.u32();
  const leafCount = reader.u32();
  const internalCount = reader.u32();
  const oobScore = reader.f64();
  const params = readParams(reader);
  if (![4, 8].includes(leafBytes) || ![1, 2].includes(featureWidth) || ![1, 2, 4].includes(indexWidth)) {
    throw new ForestFormatError('serialized forest has invalid field widths');
  }
  if (leafCount + internalCount !== nodeCount || leafCount !== internalCount + nTrees) {
    throw new ForestFormatError('serialized forest has inconsistent node counts');
  }
  const classes = Array.from(reader.f64s(classCount));
  const featureImportances = reader.f64s(featureCount);
  const treeImportances = reader.f64s(nTrees * featureCount);
  const treeSizes = reader.u32s(nTrees);
  const tableCounts = reader.u32s(featureCount);
  const tableValues = reader.f64s(tableCounts.reduce((sum, count) => sum + count, 0));
  // Node features and split indexes only feed the decode below: read in place, not copied.
  const features =
    featureWidth === 1 ? reader.inPlace(Uint8Array, nodeCount) : reader.inPlace(Uint16Array, nodeCount);
  const indexes =
    indexWidth === 1
      ? reader.inPlace(Uint8Array, internalCount)
      : indexWidth === 2
        ? reader.inPlace(Uint16Array, internalCount)
        : reader.inPlace(Uint32Array, internalCount);
  const perLeaf = task === 'classification' ? classCount : 1;
  const leafValues = leafBytes === 4 ? reader.f32s(leafCount * perLeaf) : reader.f64s(leafCount * perLeaf);
  reader.end();

  const featureStart = new Int32Array(featureCount + 1);
  for (let feature = 0; feature < featureCount; feature++) {
    featureStart[feature + 1] = featureStart[feature] + tableCounts[feature];
  }
  checkThresholdTable(tableValues, featureStart);
  const layout: ServingLayout = {
    kind: 'pairs',
    nodes: rebuildTrees(features, featureWidth === 1 ? 0xff : 0xffff, indexes, featureStart, treeSizes),
    thresholds: tableValues,
    thresholdFeature: thresholdFeatures(featureStart),
    featureStart,
  };
  const treeRoots = new Uint32Array(nTrees);
  for (let tree = 1; tree < nTrees; tree++) treeRoots[tree] = treeRoots[tree - 1] + treeSizes[tree - 1];
  // The node arrays are rebuilt only if something other than prediction asks for them (merging,
  // out-of-bag scoring): serving needs the layout alone, half their memory, decoded in one pass.
  const header = { engine, task, featureCount, classes, nTrees, firstTree, params, seed, aggregation };
  return servedForest(
    { ...header, featureImportances, treeImportances, ...(hasOob ? { oobScore } : {}), treeRoots },
    layout,
    () => ({ ...nodeArrays(layout), leafValues }),
    leafValues,
  );
}

/**
 * A decoded forest that serves from `layout` (remembered for prediction). Its node arrays — and its leaf
 * values when the layout holds them inline (`leafValues` undefined) — are built by `rebuild`, once, only if
 * something other than prediction reads them.
 */
function servedForest(
  fields: Omit<FlatForest, 'nodeFeature' | 'nodeThreshold' | 'nodeNext' | 'leafValues'>,
  layout: Parameters<typeof rememberLayout>[1],
  rebuild: () => Pick<FlatForest, 'nodeFeature' | 'nodeThreshold' | 'nodeNext' | 'leafValues'>,
  leafValues: FlatForest['leafValues'] | undefined,
): FlatForest {
  let arrays: ReturnType<typeof rebuild> | undefined;
  const rebuilt = () => {
    arrays ??= rebuild();
    return arrays;
  };
  const forest: FlatForest = {
    ...fields,
    get nodeFeature() {
      return rebuilt().nodeFeature;
    },
    get nodeThreshold() {
      return rebuilt().nodeThreshold;
    },
    get nodeNext() {
      return rebuilt().nodeNext;
    },
    get leafValues() {
      return leafValues ?? rebuilt().leafValues;
    },
  };
  rememberLayout(forest, layout);
  return forest;
}

/**
 * Reads a version 3 body: views of the packed layout in place, checked by `checkPacked`; or a version 2
 * body, checked as stored, then renumbered into a copy or decoded (see the module comment).
 */
function readPacked(reader: Reader, version: number): FlatForest {
  const engine = enumValue(ENGINES, reader.u8(), 'engine');
  const task = enumValue(TASKS, reader.u8(), 'task');
  const aggregation = enumValue(AGGREGATIONS, reader.u8(), 'aggregation');
  const leafBytes = reader.u8();
  const inline = reader.u8() === 1;
  const hasOob = reader.u8() === 1;
  reader.u8();
  reader.u8();
  const featureCount = reader.u32();
  const classCount = reader.u32();
  const nTrees = reader.u32();
  const firstTree = reader.u32();
  const seed = reader.u32();
  const nodeCount = reader.u32();
  const leafCount = reader.u32();
  reader.u32();
  const oobScore = reader.f64();
  const params = readParams(reader);
  if (![4, 8].includes(leafBytes) || (inline && (leafBytes !== 4 || task !== 'regression'))) {
    throw new ForestFormatError('serialized forest has invalid field widths');
  }
  if (nTrees === 0 || 2 * leafCount !== nodeCount + nTrees) {
    throw new ForestFormatError('serialized forest has inconsistent node counts');
  }
  const classes = Array.from(reader.f64s(classCount));
  const featureImportances = reader.f64s(featureCount);
  const treeImportances = reader.f64s(nTrees * featureCount);
  const roots = reader.inPlace(Uint32Array, nTrees);
  const tableCounts = reader.u32s(featureCount);
  const thresholds = reader.f64s(tableCounts.reduce((sum, count) => sum + count, 0));
  const leafBits = reader.inPlace(Uint8Array, Math.ceil(nodeCount / 8));
  const words = reader.inPlace(Uint32Array, nodeCount);
  const perLeaf = task === 'classification' ? classCount : 1;
  const leafValues = inline
    ? undefined
    : leafBytes === 4
      ? reader.inPlace(Float32Array, leafCount * perLeaf)
      : reader.inPlace(Float64Array, leafCount * perLeaf);
  reader.end();

  const featureStart = new Int32Array(featureCount + 1);
  for (let feature = 0; feature < featureCount; feature++) {
    featureStart[feature + 1] = featureStart[feature] + tableCounts[feature];
  }
  checkThresholdTable(thresholds, featureStart);
  const parts = {
    words,
    roots,
    inlineValues: inline ? new Float32Array(words.buffer, words.byteOffset, nodeCount) : undefined,
    leafBits,
    thresholds,
    featureStart,
  };
  const stored = version === FORMAT_VERSION ? completePacked(parts) : tableIndexedPacked(parts);
  // Version 3 is written only for a table whose slots fit the split field.
  if (stored === undefined) throw new ForestFormatError('serialized forest has too many thresholds');
  if (checkPacked(stored, leafCount) !== leafCount) {
    throw new ForestFormatError('serialized forest has inconsistent node counts');
  }
  // A tree's nodes are the same in pre-order as in the layout, so its root's pre-order index is its first word.
  const treeRoots = Uint32Array.from(roots, (root) => root >>> 1);
  const header = { engine, task, featureCount, classes, nTrees, firstTree, params, seed, aggregation };
  const fields = {
    ...header,
    featureImportances,
    treeImportances,
    ...(hasOob ? { oobScore } : {}),
    treeRoots,
  };
  const layout = version === FORMAT_VERSION ? stored : slotsFromTableIndexed(stored);
  if (layout === undefined) {
    // A version 2 table the slots cannot hold: served from the two-word layout, as a format 1 file.
    const arrays = packedNodeArrays(stored, leafValues);
    return servedForest(fields, buildLayout({ ...fields, ...arrays }), () => arrays, arrays.leafValues);
  }
  // Node arrays (and inline leaf values) are rebuilt only if something other than prediction reads them.
  return servedForest(fields, layout, () => packedNodeArrays(layout, leafValues), leafValues);
}

/** Each feature's thresholds must ascend strictly (the layout's integer comparison relies on it). */
function checkThresholdTable(thresholds: Float64Array, featureStart: Int32Array): void {
  for (let feature = 0; feature + 1 < featureStart.length; feature++) {
    for (let at = featureStart[feature]; at < featureStart[feature + 1]; at++) {
      const ordered =
        at === featureStart[feature] ? !Number.isNaN(thresholds[at]) : thresholds[at - 1] < thresholds[at];
      if (!ordered) throw new ForestFormatError('serialized forest has an unsorted threshold table');
    }
  }
}

/**
 * Decodes pre-order features and threshold indexes into the serving layout's nodes, rebuilding
 * right-child links: after a leaf, the next node is the right child of the most recent internal node
 * still waiting for one.
 */
function rebuildTrees(
  features: Uint8Array | Uint16Array,
  leafMarker: number,
  indexes: Uint8Array | Uint16Array | Uint32Array,
  featureStart: Int32Array,
  treeSizes: Uint32Array,
): Int32Array {
  const nodeCount = features.length;
  const featureCount = featureStart.length - 1;
  const nodes = new Int32Array(2 * nodeCount);
  const waiting = new Int32Array(nodeCount);
  let node = 0;
  let leaf = 0;
  let internal = 0;
  for (let tree = 0; tree < treeSizes.length; tree++) {
    const end = node + treeSizes[tree];
    if (end > nodeCount || treeSizes[tree] === 0)
      throw new ForestFormatError('serialized forest has bad tree sizes');
    let depth = 0;
    let afterLeaf = false;
    for (; node < end; node++) {
      if (afterLeaf) {
        if (depth === 0) throw new ForestFormatError('serialized forest has a malformed tree');
        nodes[2 * waiting[--depth] + 1] = node;
      }
      const feature = features[node];
      if (feature === leafMarker) {
        nodes[2 * node] = -1;
        nodes[2 * node + 1] = leaf++;
        afterLeaf = true;
      } else {
        if (feature >= featureCount) throw new ForestFormatError('serialized forest has a bad feature index');
        const split = featureStart[feature] + indexes[internal++];
        if (split >= featureStart[feature + 1])
          throw new ForestFormatError('serialized forest has a bad threshold index');
        nodes[2 * node] = split;
        waiting[depth++] = node;
        afterLeaf = false;
      }
    }
    if (depth !== 0 || !afterLeaf) throw new ForestFormatError('serialized forest has a malformed tree');
  }
  if (node !== nodeCount) throw new ForestFormatError('serialized forest has bad tree sizes');
  return nodes;
}
