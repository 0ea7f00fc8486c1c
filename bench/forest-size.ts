/**
 * How big the fast engine's regression trees may grow by default (#14): for Friedman #1 × 20 features
 * (noise 1) at 10k, 100k and, opt-in, 1M rows (75/25 split, 100 trees), each leaf-count cap against
 * unbounded trees (`maxLeaves: 0`, leaves of 3 draws): leaves per tree, serialized size, load time
 * (`deserializeForest`, median of 5), 1-row predict (median of 4,500 `predictRow` calls), fit wall
 * time, holdout R² and RMSE, and R² minus the unbounded forest's, seed by seed. Mean ± sd over the seeds.
 * MAPE is not reported: Friedman #1's target crosses zero, where MAPE is undefined.
 *
 *   npx node bench/forest-size.ts                           # 10k and 100k rows, seeds 1-3
 *   npx node bench/forest-size.ts --rows 1000000 --seeds 1  # 1M rows (minutes per fit)
 *   npx node bench/forest-size.ts --caps 0,8192,4096        # which maxLeaves values to compare
 */
import { availableParallelism } from 'node:os';
import {
  deserializeForest,
  getLearner,
  predictBatch,
  predictRow,
  serializeForest,
} from '#core/forest/index.ts';
import { friedman1, sliceRows } from '#core/forest/synthetic.ts';
import { r2, rmse } from '#core/metrics.ts';

function option(name: string, fallback: string): number[] {
  const at = process.argv.indexOf(name);
  return (at < 0 ? fallback : process.argv[at + 1]).split(',').map(Number);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

function meanSd(values: number[], digits: number): string {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  if (values.length < 2) return mean.toFixed(digits);
  const sd = Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1));
  return `${mean.toFixed(digits)} ± ${sd.toFixed(digits)}`;
}

const rowCounts = option('--rows', '10000,100000');
const seeds = Array.from({ length: option('--seeds', '3')[0] }, (_, i) => i + 1);
const caps = option('--caps', '0,16384,8192,4096');
const workers = availableParallelism();

console.log(
  '| rows × 20 | maxLeaves | leaves per tree | serialized MB | load ms | 1-row predict µs | fit s | holdout R² | R² − unbounded | RMSE |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const rows of rowCounts) {
  const data = friedman1(rows, 20, 1, 103);
  const trainRows = Math.floor(rows * 0.75);
  const train = sliceRows(data, 0, trainRows);
  const test = sliceRows(data, trainRows, rows);
  const probe = Array.from({ length: 500 }, (_, row) => test.x.slice(row * 20, (row + 1) * 20));
  const unboundedR2 = new Map<number, number>();
  for (const maxLeaves of caps) {
    const figures = {
      leaves: [],
      mb: [],
      load: [],
      predict: [],
      fit: [],
      r2: [],
      delta: [],
      rmse: [],
    } as Record<string, number[]>;
    for (const seed of seeds) {
      process.stderr.write(`${rows} rows, maxLeaves ${maxLeaves}, seed ${seed}\n`);
      const started = performance.now();
      const forest = await getLearner('fast').fit(train, { maxLeaves }, { seed, workers });
      figures.fit.push((performance.now() - started) / 1000);
      const bytes = serializeForest(forest);
      const loads: number[] = [];
      for (let round = 0; round < 5; round++) {
        const loadStarted = performance.now();
        deserializeForest(bytes);
        loads.push(performance.now() - loadStarted);
      }
      const times: number[] = [];
      let sink = 0;
      for (let call = 0; call < 5000; call++) {
        const callStarted = process.hrtime.bigint();
        sink += predictRow(forest, probe[call % probe.length]);
        times.push(Number(process.hrtime.bigint() - callStarted) / 1000);
      }
      if (Number.isNaN(sink)) throw new Error('prediction produced NaN');
      const predictions = predictBatch(forest, test.x, test.rowCount);
      const score = r2(test.y, predictions);
      if (maxLeaves === 0) unboundedR2.set(seed, score);
      figures.leaves.push((forest.nodeFeature.length + forest.nTrees) / 2 / forest.nTrees);
      figures.mb.push(bytes.length / 2 ** 20);
      figures.load.push(median(loads));
      figures.predict.push(median(times.slice(500)));
      figures.r2.push(score);
      figures.rmse.push(rmse(test.y, predictions));
      const reference = unboundedR2.get(seed);
      if (reference !== undefined) figures.delta.push(score - reference);
    }
    console.log(
      `| ${rows.toLocaleString('en')} | ${maxLeaves === 0 ? 'unbounded' : maxLeaves} | ${meanSd(figures.leaves, 0)} | ${meanSd(figures.mb, 2)} | ${meanSd(figures.load, 1)} | ${meanSd(figures.predict, 1)} | ${meanSd(figures.fit, 1)} | ${meanSd(figures.r2, 4)} | ${figures.delta.length ? meanSd(figures.delta, 4) : 'n/a'} | ${meanSd(figures.rmse, 4)} |`,
    );
  }
}
console.log(
  `\nMean ± sd over forest seeds ${seeds.join(', ')}; 100 trees, ${workers} workers, Node ${process.versions.node}.`,
);
process.exit(0);
