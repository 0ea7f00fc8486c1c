/**
 * What the predict function pays when a new version is promoted: the model artifact fetched from the S3
 * emulator (`getObjectHashed`, the predict path's own read, hashing the bytes as they arrive), then
 * `loadModel` (that sha256 checked against the registry's, artifact header parsed, forest decoded) and the
 * first prediction. The S3 emulator runs in a child process (`bench/emulator-process.ts`), as S3 is
 * elsewhere on AWS. Artifacts are 100-tree fast-engine regression forests fitted on Friedman #1 as in `bench/forest.ts`, with unbounded trees (`maxLeaves: 0`, the 13 MB model):
 * 10k × 12 (1.4 MB) and 100k × 20 (13.4 MB in format 1) rows, and at 100k × 20 also with the default
 * leaf cap (what a fit that leaves `maxLeaves` unset grows: 12.9 MB in format 3), forest seeds 1-5; a fitted forest's bytes
 * are cached in the temporary folder (the fit is deterministic, and costs minutes at 100k rows). Each
 * model is stored twice, its forest in format 1 (decoded into the two-word layout, as every model before
 * format 2) and in format 3 (the packed layout, read in place), and the two are loaded in alternating
 * order in the same process. Per model, the first load in the process (code not yet optimised, as in a
 * fresh container) is reported apart from the median of 10 loads after it.
 *
 *   npx node bench/forest-load.ts                # every model, seeds 1-5
 *   npx node bench/forest-load.ts --skip-large   # 10k × 12 only
 *   npx node bench/forest-load.ts --seeds 1      # fewer seeds (fewer fits)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { TabularFeaturizer } from '#core/features.ts';
import { deserializeForest, getLearner, serializeForest } from '#core/forest/index.ts';
import { friedman1, sliceRows } from '#core/forest/synthetic.ts';
import { loadModel, type ModelMeta, packModel, predictInstances, sha256Hex } from '#core/model.ts';
import { pointSdkAt } from '../test/support/emulators.ts';
import { startEmulatorProcess } from './emulator-process.ts';

const BUCKET = 'forest-load';
const LOADS = 10;

interface Timing {
  fetch: number;
  load: number;
  /** CPU time of the load (sha256 + parse + decode, synchronous): what it costs without other processes' share. */
  loadCpu: number;
  firstPredict: number;
}

/** The forest's bytes, fitted once per (rows, features, seed) and cached in the temporary folder. */
async function forestBytes(
  rows: number,
  features: number,
  dataSeed: number,
  seed: number,
  leafCap: 'unbounded' | 'default',
): Promise<Uint8Array> {
  const cache = join(tmpdir(), 'driftline-forest-load');
  const capped = leafCap === 'default' ? '-default-cap' : '';
  const path = join(cache, `friedman1-${rows}x${features}-${dataSeed}${capped}-seed${seed}.dlff`);
  if (existsSync(path)) return new Uint8Array(readFileSync(path));
  process.stderr.write(`fitting ${rows} × ${features}, seed ${seed}\n`);
  const data = friedman1(rows, features, 1, dataSeed);
  const train = sliceRows(data, 0, Math.floor(rows * 0.75));
  const params = leafCap === 'default' ? {} : { maxLeaves: 0 };
  const forest = await getLearner('fast').fit(train, params, { seed });
  const bytes = serializeForest(forest);
  mkdirSync(cache, { recursive: true });
  writeFileSync(path, bytes);
  return bytes;
}

/** The model artifact of a forest, its forest in format 1 (as before format 2) or format 3. */
function artifact(
  forestBytes: Uint8Array,
  rows: number,
  features: number,
  seed: number,
  formatVersion: 1 | 3,
): Uint8Array {
  const forest = deserializeForest(forestBytes);
  const featureNames = Array.from({ length: features }, (_, index) => `x${index}`);
  const featurizer: TabularFeaturizer = {
    kind: 'tabular',
    task: 'regression',
    target: 'y',
    numeric: featureNames.map((name) => ({ name, fill: 0.5, min: 0, max: 1 })),
    categorical: [],
    featureNames,
  };
  const meta: ModelMeta = {
    model: 'friedman',
    task: 'regression',
    engine: 'fast',
    params: forest.params,
    seed,
    signature: { target: 'y', features: featureNames },
    data: { rows, trainRows: Math.floor(rows * 0.75), holdoutRows: rows - Math.floor(rows * 0.75) },
    metrics: {},
    codeVersion: 'bench',
    createdAt: '2026-12-04T00:00:00.000Z',
  };
  return packModel({ meta, featurizer, forest }, { formatVersion });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

function meanSd(values: number[], digits = 1): string {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  if (values.length < 2) return mean.toFixed(digits);
  const sd = Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1));
  return `${mean.toFixed(digits)} ± ${sd.toFixed(digits)}`;
}

const FORMATS = [1, 3] as const;

async function main(): Promise<void> {
  const sizes: [number, number, number, 'unbounded' | 'default'][] = [[10_000, 12, 102, 'unbounded']];
  if (!process.argv.includes('--skip-large'))
    sizes.push([100_000, 20, 103, 'unbounded'], [100_000, 20, 103, 'default']);
  const seedsAt = process.argv.indexOf('--seeds');
  const seeds = Array.from({ length: seedsAt < 0 ? 5 : Number(process.argv[seedsAt + 1]) }, (_, i) => i + 1);
  const emulators = await startEmulatorProcess();
  pointSdkAt(emulators.s3, emulators.dynamo);
  // Imported after the endpoint is set: the storage module's client reads it once.
  const { getObjectHashed, putBytes } = await import('../lambdas/shared/storage.ts');
  await new S3Client({ forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: BUCKET }));
  const startLoad = loadavg()[0];
  const lines = [
    '| model | forest format | artifact MB | first load in process: fetch + sha256 + load ms | fetch ms (sha256 as the bytes arrive) | load ms | load CPU ms | first predict µs | sha256 alone ms | forest load alone ms |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  try {
    for (const [rows, features, dataSeed, leafCap] of sizes) {
      const label = `${rows.toLocaleString('en')} × ${features}${leafCap === 'default' ? ' (default leaf cap)' : ''}`;
      const first = { 1: [] as number[], 3: [] as number[] };
      const warm = { 1: [] as Timing[], 3: [] as Timing[] };
      const shaTimes = { 1: [] as number[], 3: [] as number[] };
      const loadTimes = { 1: [] as number[], 3: [] as number[] };
      const ratios: number[] = [];
      const megabytes = { 1: 0, 3: 0 };
      for (const seed of seeds) {
        const cached = await forestBytes(rows, features, dataSeed, seed, leafCap);
        const forests = {
          1: serializeForest(deserializeForest(cached), { formatVersion: 1 }),
          3: serializeForest(deserializeForest(cached)),
        };
        const models = FORMATS.map((format) => {
          const bytes = artifact(forests[format], rows, features, seed, format);
          megabytes[format] = bytes.length / 2 ** 20;
          return {
            format,
            bytes,
            key: `models/${rows}x${features}-${leafCap}-${seed}-f${format}.bin`,
            sha256: sha256Hex(bytes),
          };
        });
        for (const { bytes, key } of models) await putBytes(BUCKET, key, bytes, 'application/octet-stream');
        const rounds = { 1: [] as Timing[], 3: [] as Timing[] };
        for (let round = 0; round <= LOADS; round++) {
          // Interleaved, the order alternating, so a busy machine slows both formats alike.
          for (const { format, key, sha256 } of round % 2 === 0 ? models : [...models].reverse()) {
            const started = performance.now();
            // The predict path's read: the sha256 computed as the bytes arrive.
            const fetched = await getObjectHashed(BUCKET, key);
            const fetchedAt = performance.now();
            const cpu = process.cpuUsage();
            const model = loadModel(fetched.bytes, sha256, fetched.sha256);
            const loadedAt = performance.now();
            const used = process.cpuUsage(cpu);
            const [prediction] = predictInstances(model, [
              Object.fromEntries(model.featurizer.featureNames.map((name) => [name, 0.5])),
            ]);
            const predictedAt = performance.now();
            if (!Number.isFinite(prediction.value)) throw new Error('prediction is not a number');
            rounds[format].push({
              fetch: fetchedAt - started,
              load: loadedAt - fetchedAt,
              loadCpu: (used.user + used.system) / 1000,
              firstPredict: (predictedAt - loadedAt) * 1000,
            });
          }
        }
        for (const format of FORMATS) {
          first[format].push(rounds[format][0].fetch + rounds[format][0].load);
          const later = rounds[format].slice(1);
          warm[format].push({
            fetch: median(later.map((timing) => timing.fetch)),
            load: median(later.map((timing) => timing.load)),
            loadCpu: median(later.map((timing) => timing.loadCpu)),
            firstPredict: median(later.map((timing) => timing.firstPredict)),
          });
          const shas: number[] = [];
          const loads: number[] = [];
          for (let round = 0; round < LOADS; round++) {
            let started = performance.now();
            sha256Hex(models[FORMATS.indexOf(format)].bytes);
            shas.push(performance.now() - started);
            started = performance.now();
            deserializeForest(forests[format]);
            loads.push(performance.now() - started);
          }
          shaTimes[format].push(median(shas));
          loadTimes[format].push(median(loads));
        }
        const total = (timing: Timing) => timing.fetch + timing.load;
        ratios.push(total(warm[3].at(-1)!) / total(warm[1].at(-1)!));
        process.stderr.write(
          `${label} seed ${seed}: fetch + load, format 1 ${total(warm[1].at(-1)!).toFixed(1)} ms, format 3 ${total(warm[3].at(-1)!).toFixed(1)} ms\n`,
        );
      }
      for (const format of FORMATS) {
        lines.push(
          `| ${label} | ${format} | ${megabytes[format].toFixed(2)} | ${meanSd(first[format])} | ${meanSd(warm[format].map((timing) => timing.fetch))} | ${meanSd(warm[format].map((timing) => timing.load))} | ${meanSd(warm[format].map((timing) => timing.loadCpu))} | ${meanSd(warm[format].map((timing) => timing.firstPredict))} | ${meanSd(shaTimes[format])} | ${meanSd(loadTimes[format])} |`,
        );
        lines.push(
          `| ${label}: fetch + sha256 + load, median of ${LOADS} | ${format} | ${megabytes[format].toFixed(2)} | **${meanSd(warm[format].map((timing) => timing.fetch + timing.load))} ms** | | | | | | |`,
        );
      }
      lines.push(
        `| ${label}: format 3 ÷ format 1, fetch + sha256 + load | | | **${meanSd(ratios, 2)}** | | | | | | |`,
      );
    }
  } finally {
    await emulators.close();
  }
  console.log(lines.join('\n'));
  console.log(
    `\nMean ± sd over forest seeds ${seeds.join(', ')} of each seed's median of ${LOADS} loads (after the first, reported apart), the two formats' loads interleaved; ratios seed by seed. ${availableParallelism()} cores, Node ${process.versions.node}, load average ${startLoad.toFixed(1)} at the start and ${loadavg()[0].toFixed(1)} at the end.`,
  );
}

await main();
