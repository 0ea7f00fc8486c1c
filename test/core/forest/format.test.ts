import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  deserializeForest,
  ForestFormatError,
  getLearner,
  predictBatch,
  serializeForest,
} from '#core/forest/index.ts';
import { friedman1, sliceRows } from '#core/forest/synthetic.ts';
import { breastCancer } from './fixtures.ts';

const data = friedman1(400, 6, 1, 21);
const train = sliceRows(data, 0, 300);
const test = sliceRows(data, 300, 400);
const forest = await getLearner('fast').fit(train, { nTrees: 8 }, { seed: 3, workers: 1 });
const bytes = serializeForest(forest);

describe('serialized forests', () => {
  it('start with the magic and format version 1', () => {
    // Assess
    expect(Buffer.from(bytes.subarray(0, 4)).toString('ascii')).toBe('DLFF');
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint16(4, true)).toBe(1);
  });

  it('load with every field and identical predictions', () => {
    // Act
    const loaded = deserializeForest(bytes);
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
    // Assess
    expect(loaded.classes).toEqual([0, 1]);
    expect(predictBatch(loaded, cancerTest.x, cancerTest.rowCount)).toEqual(
      predictBatch(classifier, cancerTest.x, cancerTest.rowCount),
    );
  });

  it('refuses truncated bytes with ForestFormatError', () => {
    for (const length of [0, 10, 16, bytes.length - 8, bytes.length - 1]) {
      expect(() => deserializeForest(bytes.subarray(0, length))).toThrow(ForestFormatError);
    }
  });

  it('refuses garbled bytes anywhere with ForestFormatError', () => {
    for (const position of [0, 5, 9, 13, 20, 100, Math.floor(bytes.length / 2), bytes.length - 1]) {
      // Prepare
      const garbled = bytes.slice();
      garbled[position] ^= 0x5a;
      // Act / Assess
      expect(() => deserializeForest(garbled), `byte ${position}`).toThrow(ForestFormatError);
    }
  });

  it('refuses a broken tree structure even when its CRC-32 matches', () => {
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

  it('names an unsupported format version', () => {
    // Prepare
    const future = bytes.slice();
    new DataView(future.buffer).setUint16(4, 2, true);
    // Act / Assess
    expect(() => deserializeForest(future)).toThrow(/unsupported forest format version 2/);
  });

  it('refuses other files', () => {
    // Act / Assess
    const json = new TextEncoder().encode(JSON.stringify({ name: 'RFRegression', estimators: [] }));
    expect(() => deserializeForest(json)).toThrow(/bad magic/);
  });
});
