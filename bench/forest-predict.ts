/**
 * Single-row prediction (#15: ≤ 20 µs at every size of `bench:forest`), timed against a baseline
 * interleaved in one process, so a busy machine slows both alike: the fast engine's 100-tree forests of
 * the bench's regression and classification sets (same data, same 75/25 split, default parameters),
 * forest seeds 1-5. Each round times 2,500 `predictRow` calls per variant, each call on its own, cycling
 * through 500 holdout rows (as `bench:forest` does), variants in alternating order; a variant's figure
 * for a seed is the median over rounds of each round's median call. `current` predicts with the forest as
 * fitted, `served` with its serialized-then-loaded copy (what the predict handler holds: format 3, the
 * packed layout, for every forest here), `format 1` with its copy loaded from format 1 (the two-word
 * layout, what a model saved before format 2 serves with, and what every forest served with before).
 *
 * The baseline is the plain walk of the node arrays, one tree after the other (`leafOf`), unless
 * `--baseline` names another revision's `predict.ts`, e.g. the one before a change:
 *
 *   npx node bench/forest-predict.ts
 *   git archive main lambdas/core | tar -x -C /tmp/base
 *   npx node bench/forest-predict.ts --baseline /tmp/base/lambdas/core/forest/predict.ts --seeds 3
 *   npx node bench/forest-predict.ts --sets 100k   # only the sets whose name contains "100k"
 */
import { availableParallelism, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  deserializeForest,
  type FlatForest,
  getLearner,
  predictRow,
  serializeForest,
  valuesPerLeaf,
} from '#core/forest/index.ts';
import { leafOf } from '#core/forest/predict.ts';
import { friedman1, sliceRows, twoClassClusters } from '#core/forest/synthetic.ts';
import type { TrainingSet } from '#core/types.ts';

type Predict = (forest: FlatForest, row: ArrayLike<number>, out?: Float64Array) => number;

function option(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at < 0 ? undefined : process.argv[at + 1];
}

/** The node-array walk, one tree after the other, trees summed in order (what `predictRow` must equal). */
const nodeArrayWalk: Predict = (forest, row, out) => {
  const perLeaf = valuesPerLeaf(forest);
  const sum = out ?? new Float64Array(perLeaf);
  sum.fill(0, 0, perLeaf);
  for (let tree = 0; tree < forest.nTrees; tree++) {
    const base = leafOf(forest, forest.treeRoots[tree], row) * perLeaf;
    for (let k = 0; k < perLeaf; k++) sum[k] += forest.leafValues[base + k];
  }
  for (let k = 0; k < perLeaf; k++) sum[k] /= forest.nTrees;
  return perLeaf === 1 ? sum[0] : sum[1] > sum[0] ? 1 : 0;
};

const baselinePath = option('--baseline');
const baseline: Predict =
  baselinePath === undefined
    ? nodeArrayWalk
    : ((await import(pathToFileURL(resolve(baselinePath)).href)) as { predictRow: Predict }).predictRow;
const seedCount = Number(option('--seeds') ?? '5');
const rounds = Number(option('--rounds') ?? '8');
const setFilter = option('--sets') ?? '';
const workers = availableParallelism();

function split(data: TrainingSet): { train: TrainingSet; test: TrainingSet } {
  const trainRows = Math.floor(data.rowCount * 0.75);
  return { train: sliceRows(data, 0, trainRows), test: sliceRows(data, trainRows, data.rowCount) };
}

const sets = [
  { name: 'Friedman #1 10k × 12', ...split(friedman1(10_000, 12, 1, 102)) },
  { name: 'Friedman #1 100k × 20', ...split(friedman1(100_000, 20, 1, 103)) },
  { name: 'two-class clusters 10k × 20', ...split(twoClassClusters(10_000, 20, 104)) },
].filter((set) => set.name.includes(setFilter));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function meanSd(values: number[], digits: number): string {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  if (values.length < 2) return mean.toFixed(digits);
  const sd = Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1));
  return `${mean.toFixed(digits)} ± ${sd.toFixed(digits)}`;
}

/** Median µs of one call over 2,500 calls cycling through `rows`. */
function medianCall(predict: Predict, forest: FlatForest, rows: Float64Array[], out: Float64Array): number {
  const times = new Float64Array(2_500);
  let sink = 0;
  for (let call = 0; call < times.length; call++) {
    const row = rows[call % rows.length];
    const started = process.hrtime.bigint();
    sink += predict(forest, row, out);
    times[call] = Number(process.hrtime.bigint() - started) / 1_000;
  }
  if (Number.isNaN(sink)) throw new Error('prediction produced NaN');
  return median(Array.from(times));
}

const startLoad = loadavg()[0];
const label = baselinePath === undefined ? 'node-array walk' : `baseline (${baselinePath})`;
console.log(
  `| data | ${label} µs | format 1 µs | current µs | served µs | current ÷ baseline | served ÷ baseline | served ÷ format 1 | model MB (format 1 MB) |`,
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const { name, train, test } of sets) {
  const figures: Record<string, number[]> = {
    base: [],
    pairs: [],
    current: [],
    served: [],
    currentRatio: [],
    servedRatio: [],
    packedRatio: [],
    mb: [],
    mb1: [],
  };
  const rows = Array.from({ length: Math.min(test.rowCount, 500) }, (_, row) =>
    test.x.slice(row * test.featureCount, (row + 1) * test.featureCount),
  );
  for (let seed = 1; seed <= seedCount; seed++) {
    process.stderr.write(`${name}, seed ${seed}\n`);
    const forest = await getLearner('fast').fit(train, { nTrees: 100 }, { seed, workers });
    const bytes = serializeForest(forest);
    const served = deserializeForest(bytes);
    const formatOne = serializeForest(forest, { formatVersion: 1 });
    const pairs = deserializeForest(formatOne);
    const out = new Float64Array(Math.max(1, forest.classes.length));
    // Every variant must give the same answers before its time means anything.
    for (const row of rows.slice(0, 50)) {
      const expected = baseline(forest, row, out);
      if (
        predictRow(forest, row, out) !== expected ||
        predictRow(served, row, out) !== expected ||
        predictRow(pairs, row, out) !== expected
      ) {
        throw new Error(`${name}, seed ${seed}: predictions differ from the baseline`);
      }
    }
    const variants: [string, Predict, FlatForest][] = [
      ['base', baseline, forest],
      ['pairs', predictRow, pairs],
      ['current', predictRow, forest],
      ['served', predictRow, served],
    ];
    const perRound: Record<string, number[]> = { base: [], pairs: [], current: [], served: [] };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const [key, predict, model] of order) perRound[key].push(medianCall(predict, model, rows, out));
    }
    const base = median(perRound.base);
    const current = median(perRound.current);
    const servedMicros = median(perRound.served);
    const pairsMicros = median(perRound.pairs);
    figures.pairs.push(pairsMicros);
    figures.packedRatio.push(servedMicros / pairsMicros);
    figures.mb1.push(formatOne.length / 2 ** 20);
    figures.base.push(base);
    figures.current.push(current);
    figures.served.push(servedMicros);
    figures.currentRatio.push(current / base);
    figures.servedRatio.push(servedMicros / base);
    figures.mb.push(bytes.length / 2 ** 20);
  }
  console.log(
    `| ${name} | ${meanSd(figures.base, 1)} | ${meanSd(figures.pairs, 1)} | ${meanSd(figures.current, 1)} | ${meanSd(figures.served, 1)} | ${meanSd(figures.currentRatio, 2)} | ${meanSd(figures.servedRatio, 2)} | ${meanSd(figures.packedRatio, 2)} | ${meanSd(figures.mb, 2)} (${meanSd(figures.mb1, 2)}) |`,
  );
}
console.log(
  `\n- ${seedCount} forest seeds (mean ± sd; ratios taken seed by seed), ${rounds} rounds of 2,500 calls per variant; Node ${process.versions.node}, ${workers} cores; load average ${startLoad.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end.`,
);
