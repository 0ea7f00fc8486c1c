/**
 * The forest benchmark: the fast engine (all cores), ml-random-forest (where it finishes in reasonable
 * time) and scikit-learn (when a Python with it is found) on the same data, the same 75/25 split and 100
 * trees, each fitted with 5 seeds (forest seeds 1-5; scikit-learn's random_state 1-5). Prints a Markdown
 * table of mean ± sd over the seeds, with ratios to scikit-learn computed seed by seed within this run.
 *
 *   npm run bench:forest                 # everything (the 100k × 20 set costs ~15 min of scikit-learn)
 *   npm run bench:forest -- --skip-large # without the 100k × 20 set
 *   npm run bench:forest -- --seeds 10   # more seeds (at least 5)
 *   npm run bench:forest -- --ml-random-forest # also ml-random-forest on the 1k set and breast cancer
 *                                              # (its quadratic split search makes that minutes per seed)
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  deserializeForest,
  type FlatForest,
  getLearner,
  predictBatch,
  predictRow,
  serializeForest,
} from '#core/forest/index.ts';
import { friedman1, sliceRows, twoClassClusters } from '#core/forest/synthetic.ts';
import type { EngineName, TrainingSet } from '#core/types.ts';
import { r2, rocAuc } from '../lambdas/core/metrics.ts';

interface Dataset {
  name: string;
  train: TrainingSet;
  test: TrainingSet;
  /** ml-random-forest's split search is quadratic in rows: run it only where it ends in reasonable time. */
  runMlRandomForest: boolean;
}

/** One engine's numbers on one data set. */
interface Measurement {
  fitSeconds: number;
  singleRowMicros: number;
  batchMicrosPerRow: number;
  artifactBytes: number;
  loadMillis: number;
  score: number;
}

const TREES = 100;

function splitTrainTest(
  data: TrainingSet,
  isTest: (row: number) => boolean,
): { train: TrainingSet; test: TrainingSet } {
  const pick = (keep: boolean): TrainingSet => {
    const rows = Array.from({ length: data.rowCount }, (_, row) => row).filter((row) => isTest(row) === keep);
    const x = new Float64Array(rows.length * data.featureCount);
    rows.forEach((row, at) => {
      x.set(data.x.subarray(row * data.featureCount, (row + 1) * data.featureCount), at * data.featureCount);
    });
    return { ...data, x, y: Float64Array.from(rows, (row) => data.y[row]), rowCount: rows.length };
  };
  return { train: pick(false), test: pick(true) };
}

function firstQuarters(data: TrainingSet): { train: TrainingSet; test: TrainingSet } {
  const trainRows = Math.floor(data.rowCount * 0.75);
  return { train: sliceRows(data, 0, trainRows), test: sliceRows(data, trainRows, data.rowCount) };
}

/** data/breast-cancer.csv (target `benign`); rows with index % 4 === 3 are the holdout. */
function breastCancer(): { train: TrainingSet; test: TrainingSet } {
  const lines = readFileSync(new URL('../data/breast-cancer.csv', import.meta.url), 'utf8')
    .trim()
    .split('\n');
  const header = lines[0].split(',');
  const target = header.indexOf('benign');
  const rows = lines.slice(1).map((line) => line.split(',').map(Number));
  const data: TrainingSet = {
    task: 'classification',
    x: Float64Array.from(rows.flatMap((row) => row.filter((_, index) => index !== target))),
    y: Float64Array.from(rows, (row) => row[target]),
    rowCount: rows.length,
    featureCount: header.length - 1,
    featureNames: header.filter((_, index) => index !== target),
    classes: [0, 1],
  };
  return splitTrainTest(data, (row) => row % 4 === 3);
}

function datasets(skipLarge: boolean): Dataset[] {
  const sets: Dataset[] = [
    { name: 'Friedman #1 1k × 12', ...firstQuarters(friedman1(1_000, 12, 1, 101)), runMlRandomForest: true },
    {
      name: 'Friedman #1 10k × 12',
      ...firstQuarters(friedman1(10_000, 12, 1, 102)),
      runMlRandomForest: false,
    },
  ];
  if (!skipLarge) {
    sets.push({
      name: 'Friedman #1 100k × 20',
      ...firstQuarters(friedman1(100_000, 20, 1, 103)),
      runMlRandomForest: false,
    });
  }
  sets.push(
    {
      name: 'two-class clusters 10k × 20',
      ...firstQuarters(twoClassClusters(10_000, 20, 104)),
      runMlRandomForest: false,
    },
    { name: 'breast cancer 569 × 30', ...breastCancer(), runMlRandomForest: true },
  );
  return sets;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function holdoutScore(forest: FlatForest, test: TrainingSet): number {
  const predictions = predictBatch(forest, test.x, test.rowCount);
  if (test.task === 'regression') return r2(test.y, predictions);
  return rocAuc(
    test.y,
    predictions.filter((_, index) => index % 2 === 1),
  );
}

/** Median time of one `predictRow` call over a few thousand calls cycling through the holdout rows. */
function singleRowMicros(forest: FlatForest, test: TrainingSet): number {
  const rows = Array.from({ length: Math.min(test.rowCount, 500) }, (_, row) =>
    test.x.slice(row * test.featureCount, (row + 1) * test.featureCount),
  );
  const probabilities = new Float64Array(Math.max(1, forest.classes.length));
  const times: number[] = [];
  let sink = 0;
  for (let call = 0; call < 5_000; call++) {
    const row = rows[call % rows.length];
    const started = process.hrtime.bigint();
    sink += predictRow(forest, row, probabilities);
    times.push(Number(process.hrtime.bigint() - started) / 1_000);
  }
  if (Number.isNaN(sink)) throw new Error('prediction produced NaN');
  return median(times.slice(500));
}

function batchMicrosPerRow(forest: FlatForest, test: TrainingSet): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    const started = performance.now();
    predictBatch(forest, test.x, test.rowCount);
    best = Math.min(best, performance.now() - started);
  }
  return (best * 1_000) / test.rowCount;
}

async function measureEngine(
  engine: EngineName,
  workers: number,
  { train, test }: Dataset,
  seed: number,
): Promise<Measurement> {
  // Warm up first (worker start-up, JIT), as in a warm Lambda container or the second fit of a search.
  if (engine === 'fast') await getLearner(engine).fit(train, { nTrees: 4 }, { seed: seed + 1000, workers });
  const started = performance.now();
  const forest = await getLearner(engine).fit(train, { nTrees: TREES }, { seed, workers });
  const fitSeconds = (performance.now() - started) / 1_000;
  const bytes = serializeForest(forest);
  const loadTimes: number[] = [];
  let served = forest;
  for (let round = 0; round < 5; round++) {
    const loadStarted = performance.now();
    served = deserializeForest(bytes);
    loadTimes.push(performance.now() - loadStarted);
  }
  // Predictions are timed and scored on the loaded copy: what the predict handler holds (`loadModel`).
  return {
    fitSeconds,
    singleRowMicros: singleRowMicros(served, test),
    batchMicrosPerRow: batchMicrosPerRow(served, test),
    artifactBytes: bytes.length,
    loadMillis: median(loadTimes),
    score: holdoutScore(served, test),
  };
}

/** The first Python that imports scikit-learn: Debian's, then whatever `python3` is on PATH. */
function findPython(): string | undefined {
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    const probe = spawnSync(candidate, ['-c', 'import sklearn'], { stdio: 'ignore' });
    if (probe.status === 0) return candidate;
  }
  return undefined;
}

function writeCsv(path: string, { train, test }: Dataset): void {
  const lines: string[] = [];
  for (const part of [train, test]) {
    for (let row = 0; row < part.rowCount; row++) {
      const features = part.x.subarray(row * part.featureCount, (row + 1) * part.featureCount);
      lines.push(`${features.join(',')},${part.y[row]}`);
    }
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

function measureSklearn(python: string, dataset: Dataset, directory: string, seed: number): Measurement {
  const path = join(directory, 'data.csv');
  writeCsv(path, dataset);
  const script = new URL('./sklearn_forest.py', import.meta.url).pathname;
  const output = execFileSync(
    python,
    [script, path, dataset.train.task, String(dataset.train.rowCount), String(seed)],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  return JSON.parse(output) as Measurement;
}

function formatBytes(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(2)} MB` : `${(bytes / 1024).toFixed(0)} kB`;
}

/**
 * Mean ± sd (sample sd) of numbers, printed with `digits` decimals, or (`digits` undefined) with two
 * significant digits of the mean, for ratios that span orders of magnitude.
 */
function meanSd(values: number[], digits?: number): string {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const sd = Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1));
  const decimals = digits ?? Math.max(0, 1 - Math.floor(Math.log10(Math.abs(mean) || 1)));
  return `${mean.toFixed(decimals)} ± ${sd.toFixed(decimals)}`;
}

/** One table row: every figure as mean ± sd over the seeds; ratios to scikit-learn taken seed by seed. */
function row(dataset: string, engine: string, runs: Measurement[], reference?: Measurement[]): string {
  const of = (key: keyof Measurement) => runs.map((run) => run[key]);
  const ratio = (key: keyof Measurement) =>
    reference === undefined ? '' : ` (${meanSd(runs.map((run, i) => run[key] / reference[i][key]))}×)`;
  const difference =
    reference === undefined
      ? ''
      : ` (${meanSd(
          runs.map((run, i) => run.score - reference[i].score),
          4,
        )})`;
  return [
    dataset,
    engine,
    `${meanSd(of('fitSeconds'), 2)}${ratio('fitSeconds')}`,
    `${meanSd(of('singleRowMicros'), 1)}${ratio('singleRowMicros')}`,
    meanSd(of('batchMicrosPerRow'), 2),
    formatBytes(of('artifactBytes').reduce((sum, bytes) => sum + bytes, 0) / runs.length),
    meanSd(of('loadMillis'), 1),
    `${meanSd(of('score'), 4)}${difference}`,
  ].join(' | ');
}

async function main(): Promise<void> {
  const skipLarge = process.argv.includes('--skip-large');
  const withLibrary = process.argv.includes('--ml-random-forest');
  const seedsAt = process.argv.indexOf('--seeds');
  const seedCount = seedsAt < 0 ? 5 : Number(process.argv[seedsAt + 1]);
  if (!(Number.isInteger(seedCount) && seedCount >= 5))
    throw new RangeError('--seeds must be an integer ≥ 5');
  const seeds = Array.from({ length: seedCount }, (_, i) => i + 1);
  const cores = availableParallelism();
  const python = findPython();
  const notes: string[] = [];
  if (python === undefined)
    notes.push(
      'No Python with scikit-learn found (tried /usr/bin/python3, python3): sklearn column skipped.',
    );
  const directory = mkdtempSync(join(tmpdir(), 'forest-bench-'));
  const lines = [
    `| data | engine | fit s (÷ sklearn) | 1-row predict µs (÷ sklearn) | batch µs/row | artifact (mean) | load ms | holdout ${'R²/AUC'} (− sklearn) |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  try {
    for (const dataset of datasets(skipLarge)) {
      const metric = dataset.train.task === 'regression' ? 'R²' : 'AUC';
      const sklearn: Measurement[] = [];
      const fast: Measurement[] = [];
      const library: Measurement[] = [];
      for (const seed of seeds) {
        process.stderr.write(`${dataset.name}, seed ${seed}: `);
        if (python !== undefined) sklearn.push(measureSklearn(python, dataset, directory, seed));
        process.stderr.write('sklearn ');
        fast.push(await measureEngine('fast', cores, dataset, seed));
        process.stderr.write('fast ');
        if (withLibrary && dataset.runMlRandomForest) {
          library.push(await measureEngine('ml-random-forest', 1, dataset, seed));
          process.stderr.write('ml-random-forest');
        }
        process.stderr.write('\n');
      }
      const name = `${dataset.name} (${metric})`;
      const reference = python === undefined ? undefined : sklearn;
      if (reference !== undefined) lines.push(`| ${row(name, 'scikit-learn, n_jobs=1', sklearn)} |`);
      lines.push(`| ${row(name, `fast, ${cores} workers`, fast, reference)} |`);
      if (withLibrary && dataset.runMlRandomForest) {
        lines.push(`| ${row(name, 'ml-random-forest (as FlatForest)', library, reference)} |`);
      }
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  notes.push(
    `Every figure is mean ± sd over ${seeds.length} seeds (forest seeds ${seeds[0]}-${seeds.at(-1)}, scikit-learn random_state the same); ratios and differences to scikit-learn are taken seed by seed, then summarised.`,
    withLibrary
      ? 'ml-random-forest runs only on the 1k regression set and breast cancer: its split search is quadratic in rows (about 48 minutes for 100 trees at 10k rows).'
      : 'ml-random-forest left out (add --ml-random-forest).',
    'fast: fit timed after an untimed 4-tree warm-up fit (worker start-up and JIT, as in a warm container); 1-row predict is the median of 4,500 predictRow calls, batch the best of 3 predictBatch runs over the holdout, both (and the holdout score) on the forest loaded from its bytes, as the predict handler holds it; load is deserializeForest (median of 5).',
    `Machine: ${cores} cores, Node ${process.versions.node}. sklearn: RandomForest*(n_estimators=100, n_jobs=1, random_state=seed); pickled size and pickle.loads time.`,
  );
  console.log(lines.join('\n'));
  console.log();
  for (const note of notes) console.log(`- ${note}`);
}

await main();
