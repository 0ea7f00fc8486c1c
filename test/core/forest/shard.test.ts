import { describe, expect, it } from 'vitest';
import { getLearner, mergeForests, serializeForest, trainShard } from '#core/forest/index.ts';
import { friedman1, twoClassClusters } from '#core/forest/synthetic.ts';

const data = friedman1(500, 8, 1, 41);

describe('sharded training', () => {
  it('merges shards into exactly the forest fitted in one go', async () => {
    // Act: three shards, trained with different worker counts and merged out of order
    const shards = await Promise.all([
      trainShard(data, { nTrees: 15 }, 77, 0, 4, { workers: 1 }),
      trainShard(data, { nTrees: 15 }, 77, 4, 6, { workers: 2 }),
      trainShard(data, { nTrees: 15 }, 77, 10, 5, { workers: 1 }),
    ]);
    const merged = mergeForests([shards[2], shards[0], shards[1]]);
    const whole = await getLearner('fast').fit(data, { nTrees: 15 }, { seed: 77, workers: 1 });
    // Assess
    expect(merged.nTrees).toBe(15);
    expect(Buffer.from(serializeForest(merged)).equals(Buffer.from(serializeForest(whole)))).toBe(true);
  });

  it('merges classifier shards too', async () => {
    // Prepare
    const classes = twoClassClusters(300, 10, 2);
    // Act
    const merged = mergeForests([
      await trainShard(classes, { nTrees: 6 }, 5, 0, 3, { workers: 1 }),
      await trainShard(classes, { nTrees: 6 }, 5, 3, 3, { workers: 1 }),
    ]);
    const whole = await getLearner('fast').fit(classes, { nTrees: 6 }, { seed: 5, workers: 1 });
    // Assess
    expect(Buffer.from(serializeForest(merged)).equals(Buffer.from(serializeForest(whole)))).toBe(true);
  });

  it('refuses shards of different forests, gaps and bad ranges', async () => {
    // Prepare
    const first = await trainShard(data, { nTrees: 6 }, 1, 0, 2, { workers: 1 });
    const otherSeed = await trainShard(data, { nTrees: 6 }, 2, 2, 2, { workers: 1 });
    const gap = await trainShard(data, { nTrees: 6 }, 1, 4, 2, { workers: 1 });
    // Act / Assess
    expect(() => mergeForests([first, otherSeed])).toThrow(/different forests/);
    expect(() => mergeForests([first, gap])).toThrow(/starting at tree 2/);
    expect(() => mergeForests([])).toThrow(RangeError);
    await expect(trainShard(data, { nTrees: 6 }, 1, 5, 2)).rejects.toThrow(/outside a forest of 6/);
  });
});
