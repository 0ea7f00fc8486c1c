import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  deserializeForest,
  ForestFormatError,
  getLearner,
  predictBatch,
  predictRow,
  serializeForest,
} from '#core/forest/index.ts';
import { servingLayout } from '#core/forest/serving.ts';
import { friedman1, sliceRows } from '#core/forest/synthetic.ts';
import { breastCancer } from './fixtures.ts';

const data = friedman1(400, 6, 1, 21);
const train = sliceRows(data, 0, 300);
const test = sliceRows(data, 300, 400);
const forest = await getLearner('fast').fit(train, { nTrees: 8 }, { seed: 3, workers: 1 });
const bytes = serializeForest(forest);
const version1 = serializeForest(forest, { formatVersion: 1 });

describe('serialized forests', () => {
  it('start with the magic and format version 3 (1 when asked)', () => {
    // Assess
    expect(Buffer.from(bytes.subarray(0, 4)).toString('ascii')).toBe('DLFF');
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint16(4, true)).toBe(3);
    expect(new DataView(version1.buffer, version1.byteOffset).getUint16(4, true)).toBe(1);
  });

  it('load a format 1 file written before format 2 existed, and write it again byte for byte', () => {
    // Prepare: this forest serialized by the code at 476671e (format 1 only)
    const old = new Uint8Array(readFileSync(new URL('./format-1-forest.dlff', import.meta.url)));
    // Act
    const loaded = deserializeForest(old);
    // Assess
    expect(predictBatch(loaded, test.x, test.rowCount)).toEqual(predictBatch(forest, test.x, test.rowCount));
    expect(Buffer.from(version1).equals(Buffer.from(old))).toBe(true);
    expect(Buffer.from(serializeForest(loaded, { formatVersion: 1 })).equals(Buffer.from(old))).toBe(true);
    expect(Buffer.from(serializeForest(loaded)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('load a format 2 file (splits as table indexes) into the packed layout, predicting as before', () => {
    // Prepare: this forest serialized by the code at 444fcad (format 2)
    const old = new Uint8Array(readFileSync(new URL('./format-2-forest.dlff', import.meta.url)));
    expect(new DataView(old.buffer).getUint16(4, true)).toBe(2);
    // Act
    const loaded = deserializeForest(old);
    // Assess: renumbered into the current layout (a copy of the words), every field as fitted
    expect(servingLayout(loaded).kind).toBe('packed');
    expect(predictBatch(loaded, test.x, test.rowCount)).toEqual(predictBatch(forest, test.x, test.rowCount));
    expect(loaded.nodeThreshold).toEqual(forest.nodeThreshold);
    expect(loaded.nodeFeature).toEqual(forest.nodeFeature);
    expect(Buffer.from(serializeForest(loaded)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('load a format 2 file whose table the split field cannot hold as slots into the two-word layout', () => {
    // Prepare: one hand-built tree written by the code at f9de7dd (format 2): features 1-4 split at 0.5
    // (a row above it reaches leaf −feature), then feature 0 at k + 0.5 for k < 2,100, reaching the leaf
    // whose value is the number of thresholds below x0. 2,100 ranks need 12 bits, and 5 slots × 4,096
    // exceed the 14-bit split field, so format 3 cannot hold this table.
    const old = new Uint8Array(readFileSync(new URL('./format-2-wide-table.dlff', import.meta.url)));
    expect(new DataView(old.buffer).getUint16(4, true)).toBe(2);
    // Act
    const loaded = deserializeForest(old);
    // Assess
    expect(servingLayout(loaded).kind).toBe('pairs');
    for (const rank of [0, 1, 17, 1_049, 2_099, 2_100]) {
      expect(predictRow(loaded, [rank + 0.25, 0, 0, 0, 0])).toBe(rank);
    }
    expect(predictRow(loaded, [-3, 0, 0, 0, 0])).toBe(0);
    expect(predictRow(loaded, [17.25, 1, 0, 0, 0])).toBe(-1);
    expect(predictRow(loaded, [17.25, 0, 0, 1, 0])).toBe(-3);
    expect(new DataView(serializeForest(loaded).buffer).getUint16(4, true)).toBe(1);
  });

  it.each([
    ['3', bytes],
    ['1', version1],
  ])('load with every field and identical predictions (format %s)', (_, file) => {
    // Act
    const loaded = deserializeForest(file);
    // Assess
    const { nodeFeature, nodeThreshold, nodeNext, treeRoots, leafValues, ...meta } = loaded;
    const {
      nodeFeature: f,
      nodeThreshold: t,
      nodeNext: n,
      treeRoots: r,
      leafValues: l,
      ...original
    } = forest;
    expect(meta).toEqual(original);
    expect(nodeFeature).toEqual(f);
    expect(nodeThreshold).toEqual(t);
    expect(nodeNext).toEqual(n);
    expect(treeRoots).toEqual(r);
    expect(leafValues).toEqual(l);
    expect(predictBatch(loaded, test.x, test.rowCount)).toEqual(predictBatch(forest, test.x, test.rowCount));
  });

  it('load from an unaligned view inside a larger buffer', () => {
    // Prepare: as when the forest follows a JSON header in a model artifact
    const container = new Uint8Array(bytes.length + 3);
    container.set(bytes, 3);
    // Act
    const loaded = deserializeForest(container.subarray(3));
    // Assess
    expect(predictBatch(loaded, test.x, test.rowCount)).toEqual(predictBatch(forest, test.x, test.rowCount));
  });

  it('load from a Node Buffer as from a Uint8Array', () => {
    // Prepare: fs.readFile and many SDK streams hand out Buffers, whose slice() shares memory
    const buffer = Buffer.from(bytes);
    // Act
    const loaded = deserializeForest(buffer);
    // Assess
    expect(predictBatch(loaded, test.x, test.rowCount)).toEqual(predictBatch(forest, test.x, test.rowCount));
  });

  it('round-trip a classifier with its classes', async () => {
    // Prepare
    const { train: cancer, test: cancerTest } = breastCancer();
    const classifier = await getLearner('fast').fit(cancer, { nTrees: 5 }, { seed: 1, workers: 1 });
    // Act
    const loaded = deserializeForest(serializeForest(classifier));
    const loaded1 = deserializeForest(serializeForest(classifier, { formatVersion: 1 }));
    // Assess
    expect(loaded.classes).toEqual([0, 1]);
    expect(loaded.nodeNext).toEqual(classifier.nodeNext);
    expect(loaded.leafValues).toEqual(classifier.leafValues);
    for (const copy of [loaded, loaded1]) {
      expect(predictBatch(copy, cancerTest.x, cancerTest.rowCount)).toEqual(
        predictBatch(classifier, cancerTest.x, cancerTest.rowCount),
      );
    }
  });

  it.each([
    ['3', bytes],
    ['1', version1],
  ])('refuse truncated bytes with ForestFormatError (format %s)', (_, file) => {
    for (const length of [0, 10, 16, file.length - 8, file.length - 1]) {
      expect(() => deserializeForest(file.subarray(0, length))).toThrow(ForestFormatError);
    }
  });

  it.each([
    ['3', bytes],
    ['1', version1],
  ])('refuse garbled bytes anywhere with ForestFormatError (format %s)', (_, file) => {
    for (const position of [0, 5, 9, 13, 20, 100, Math.floor(file.length / 2), file.length - 1]) {
      // Prepare
      const garbled = file.slice();
      garbled[position] ^= 0x5a;
      // Act / Assess
      expect(() => deserializeForest(garbled), `byte ${position}`).toThrow(ForestFormatError);
    }
  });

  it('refuses a broken format 1 tree structure even when its CRC-32 matches', () => {
    const bytes = version1;
    // Prepare: the file ends with the node features (u8 here), the threshold indexes (u8) and the leaf
    // values (f32), each section starting on an 8-byte boundary of the body.
    const body = 16;
    const nodeCount = forest.nodeFeature.length;
    const internalCount = forest.nodeFeature.filter((feature) => feature >= 0).length;
    const leafCount = nodeCount - internalCount;
    const down8 = (at: number) => Math.floor(at / 8) * 8;
    const leavesAt = down8(bytes.length - body - 4 * leafCount);
    const indexesAt = down8(leavesAt - internalCount);
    const featuresAt = body + down8(indexesAt - nodeCount);
    const secondTree = forest.treeRoots[1];
    /** The file with byte `at` set to `value` and its CRC-32 recomputed, as a load to run. */
    const broken = (at: number, value: number) => {
      const file = bytes.slice();
      file[at] = value;
      new DataView(file.buffer).setUint32(12, crc32(file.subarray(body)), true);
      return () => deserializeForest(file);
    };
    expect(broken(featuresAt, bytes[featuresAt])).not.toThrow();
    expect(bytes[featuresAt]).toBe(forest.nodeFeature[0]);
    expect(bytes[featuresAt + secondTree - 1]).toBe(0xff);
    const rootFeature = forest.nodeFeature[0];
    const rootThresholds = new Set(
      forest.nodeThreshold.filter((_, node) => forest.nodeFeature[node] === rootFeature),
    );
    expect(rootThresholds.size).toBeLessThan(0xff);
    // Act / Assess: a feature past the forest's, a threshold index past its feature's table, a root
    // that is a leaf followed by more nodes of its tree, a tree ending on an internal node.
    expect(broken(featuresAt, 6)).toThrow(/bad feature index/);
    expect(broken(body + indexesAt, 0xff)).toThrow(/bad threshold index/);
    expect(broken(featuresAt, 0xff)).toThrow(/malformed tree/);
    expect(broken(featuresAt + secondTree - 1, 0)).toThrow(ForestFormatError);
  });

  it('refuses a format 3 structure a walk could leave, even when its CRC-32 matches', async () => {
    // Prepare: sections are found by their content (the layout the forest serves with).
    const layout = servingLayout(forest);
    if (layout.kind !== 'packed') throw new Error('expected the packed layout');
    const file = Buffer.from(bytes);
    const wordsAt = file.indexOf(Buffer.from(layout.words.buffer, layout.words.byteOffset, 64));
    const rootsAt = file.indexOf(
      Buffer.from(layout.roots.buffer, layout.roots.byteOffset, layout.roots.byteLength),
    );
    expect(wordsAt % 8).toBe(0);
    expect(rootsAt).toBeGreaterThan(0);
    /** The file with the u32 at `at` changed by `change` and its CRC-32 recomputed, as a load to run. */
    const broken = (at: number, change: (value: number) => number) => {
      const copy = bytes.slice();
      const view = new DataView(copy.buffer);
      view.setUint32(at, change(view.getUint32(at, true)) >>> 0, true);
      view.setUint32(12, crc32(copy.subarray(16)), true);
      return () => deserializeForest(copy);
    };
    const root = layout.words[0];
    expect(root & (1 << 14)).toBe(0);
    expect(broken(wordsAt, (word) => word)).not.toThrow();
    // Act / Assess: a split past the threshold table, a child past the tree's end, a node its own child,
    // a parent calling an internal child a leaf, roots out of order.
    expect(broken(wordsAt, (word) => word | 0x3fff)).toThrow(/malformed tree/);
    expect(broken(wordsAt, (word) => word | 0xffff_0000)).toThrow(/malformed tree/);
    expect(broken(wordsAt, (word) => word & 0xffff)).toThrow(/malformed tree/);
    expect(broken(wordsAt, (word) => word | (1 << 14))).toThrow(/malformed tree/);
    expect(broken(rootsAt + 4, () => 0)).toThrow(/bad tree roots/);
    // A classifier's leaves hold leaf indexes: one past the last leaf is refused.
    const { train: cancer } = breastCancer();
    const classifier = await getLearner('fast').fit(cancer, { nTrees: 2 }, { seed: 1, workers: 1 });
    const packed = servingLayout(classifier);
    if (packed.kind !== 'packed') throw new Error('expected the packed layout');
    const leafWord = packed.leafBits.findIndex((bits) => bits !== 0) * 8;
    const firstLeaf = Array.from({ length: 8 }, (_, k) => leafWord + k).find(
      (word) => (packed.leafBits[word >>> 3] >>> (word & 7)) & 1,
    )!;
    const classBytes = serializeForest(classifier);
    const classWordsAt = Buffer.from(classBytes).indexOf(
      Buffer.from(packed.words.buffer, packed.words.byteOffset, 64),
    );
    const leafCount = classifier.leafValues.length / 2;
    const tampered = classBytes.slice();
    const view = new DataView(tampered.buffer);
    view.setUint32(classWordsAt + 4 * firstLeaf, leafCount, true);
    view.setUint32(12, crc32(tampered.subarray(16)), true);
    expect(() => deserializeForest(tampered)).toThrow(/malformed tree/);
  });

  it('names an unsupported format version', () => {
    // Prepare
    const future = bytes.slice();
    new DataView(future.buffer).setUint16(4, 4, true);
    // Act / Assess
    expect(() => deserializeForest(future)).toThrow(/unsupported forest format version 4/);
  });

  it('refuses other files', () => {
    // Act / Assess
    const json = new TextEncoder().encode(JSON.stringify({ name: 'RFRegression', estimators: [] }));
    expect(() => deserializeForest(json)).toThrow(/bad magic/);
  });
});
