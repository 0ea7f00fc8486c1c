/**
 * How the fast engine's default leaf size was chosen, over seeds: holdout R², node count, serialized size
 * and fit CPU time of 100-tree regression forests on the forest bench's Friedman #1 10k × 12 set (7,500
 * training rows) for minSamplesLeaf 1, 2, 3, 5 and 8, each over forest seeds 1-5 (mean ± sd), one worker.
 *
 *   npx node bench/forest-leaf.ts
 */
import { getLearner, predictBatch, serializeForest } from '#core/forest/index.ts';
import { friedman1, sliceRows } from '#core/forest/synthetic.ts';
import { r2 } from '#core/metrics.ts';

const SEEDS = [1, 2, 3, 4, 5];

function meanSd(values: number[], digits: number): string {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const sd = Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1));
  return `${mean.toFixed(digits)} ± ${sd.toFixed(digits)}`;
}

const data = friedman1(10_000, 12, 1, 102);
const train = sliceRows(data, 0, 7_500);
const test = sliceRows(data, 7_500, 10_000);
console.log('| minSamplesLeaf | holdout R² | nodes (k) | serialized MB | fit CPU s |');
console.log('| --- | --- | --- | --- | --- |');
for (const minSamplesLeaf of [1, 2, 3, 5, 8]) {
  const scores: number[] = [];
  const nodes: number[] = [];
  const sizes: number[] = [];
  const seconds: number[] = [];
  for (const seed of SEEDS) {
    const started = process.cpuUsage();
    const forest = await getLearner('fast').fit(train, { minSamplesLeaf }, { seed, workers: 1 });
    const used = process.cpuUsage(started);
    seconds.push((used.user + used.system) / 1e6);
    scores.push(r2(test.y, predictBatch(forest, test.x, test.rowCount)));
    nodes.push(forest.nodeFeature.length / 1000);
    sizes.push(serializeForest(forest).length / 2 ** 20);
  }
  console.log(
    `| ${minSamplesLeaf} | ${meanSd(scores, 4)} | ${meanSd(nodes, 0)} | ${meanSd(sizes, 2)} | ${meanSd(seconds, 2)} |`,
  );
}
console.log(`\nMean ± sd over forest seeds ${SEEDS.join(', ')}; 100 trees; Node ${process.versions.node}.`);
