/**
 * What the history window buys: a model retrained on drop after drop, with and without a window, the
 * merge and drift steps' core work timed at every retrain and the peak memory of each whole sequence.
 *
 * Each retrain does what the merge step does with the baseline and a new drop (`mergeHistory`, the row
 * hashes, the table file's parts) and what the drift step does with the next drop against the baseline
 * (`keepHistory`, `driftFrames`, `detectDrift`); S3 and DynamoDB aside. Drops are seeded, D rows × 20
 * numeric columns (19 normal × 10 features and their sum), generated in memory. The reference run is the
 * same sequence with an unbounded history (what every retrain did before windows) in the same script.
 * Each configuration and seed runs in a fresh process, so its peak RSS is its own. Mean ± sd over seeds.
 *
 *   npm run bench:history                # 10 retrains of 30k-row drops, window 90k rows, seeds 1-5
 *   npm run bench:history -- --quick     # 4 retrains of 20k-row drops, window 40k rows, seeds 1-2
 */
import { spawnSync } from 'node:child_process';
import { detectDrift } from '#core/drift.ts';
import { driftFrames } from '#core/drift-frames.ts';
import { keepHistory, mergeHistory } from '#core/merge.ts';
import { seededRandom } from '#core/random.ts';
import { parseSpec } from '#core/spec.ts';
import { rowHashes } from '#core/splits.ts';
import { encodeTableParts } from '#core/table-file.ts';
import type { Table } from '#core/types.ts';
import { COLUMN_NAMES, COLUMNS } from './drops.ts';

const quick = process.argv.includes('--quick');
const RETRAINS = quick ? 4 : 10;
const DROP_ROWS = quick ? 20_000 : 30_000;
const WINDOW_ROWS = quick ? 40_000 : 90_000;
const SEEDS = quick ? [1, 2] : [1, 2, 3, 4, 5];
/** An unbounded history: a window no sequence here reaches. */
const UNBOUNDED_ROWS = Number.MAX_SAFE_INTEGER;

/** A seeded drop of `rows` rows × 20 columns, as validate leaves it in memory. */
function drop(rows: number, seed: number): Table {
  const uniform = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  const columns = COLUMN_NAMES.map((name) => ({
    name,
    kind: 'numeric' as const,
    values: new Float64Array(rows),
  }));
  for (let row = 0; row < rows; row++) {
    let sum = 0;
    for (let column = 0; column < COLUMNS - 1; column++) {
      const value = Math.round(normal() * 10 * 1e5) / 1e5;
      columns[column].values[row] = value;
      sum += value;
    }
    columns[COLUMNS - 1].values[row] = sum;
  }
  return { columns, rowCount: rows };
}

interface Retrain {
  rows: number;
  mergeMs: number;
  driftMs: number;
}

/** Child: one sequence of retrains with the given window; prints each retrain and the peak RSS as JSON. */
function child(windowRows: number, seed: number): void {
  const spec = parseSpec({ name: 'bench', task: 'regression', target: 'y', history: { rows: windowRows } });
  let baseline = drop(DROP_ROWS, seed * 1000);
  const retrains: Retrain[] = [];
  for (let r = 1; r <= RETRAINS; r++) {
    const next = drop(DROP_ROWS, seed * 1000 + r);
    const t0 = performance.now();
    const { table: reference } = keepHistory(spec, baseline);
    const frames = driftFrames(spec, reference, next);
    detectDrift(frames.reference, frames.current, frames.options);
    const t1 = performance.now();
    const merged = mergeHistory(spec, [
      { name: 'baseline', table: baseline },
      { name: `drop-${r}`, table: next },
    ]);
    encodeTableParts({ table: merged.table, rowHashes: rowHashes(spec, merged.table) });
    const t2 = performance.now();
    baseline = merged.table;
    retrains.push({ rows: baseline.rowCount, driftMs: t1 - t0, mergeMs: t2 - t1 });
  }
  console.log(JSON.stringify({ retrains, peakMb: (process.resourceUsage().maxRSS * 1024) / 2 ** 20 }));
}

function runChild(windowRows: number, seed: number): { retrains: Retrain[]; peakMb: number } {
  const result = spawnSync(
    process.execPath,
    [
      new URL(import.meta.url).pathname,
      '--child',
      String(windowRows),
      String(seed),
      ...(quick ? ['--quick'] : []),
    ],
    { encoding: 'utf8', maxBuffer: 16 * 2 ** 20 },
  );
  if (result.status !== 0) throw new Error(`child ${windowRows}/${seed} failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!);
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const sd = (values: number[]) => {
  const m = mean(values);
  return Math.sqrt(values.reduce((sum, v) => sum + (v - m) ** 2, 0) / Math.max(1, values.length - 1));
};
const pm = (values: number[], digits = 0) =>
  `${mean(values).toFixed(digits)} ± ${sd(values).toFixed(digits)}`;

function main(): void {
  console.log(
    `${RETRAINS} retrains of ${DROP_ROWS.toLocaleString('en-US')}-row drops × ${COLUMNS} columns, window ${WINDOW_ROWS.toLocaleString('en-US')} rows vs unbounded; seeds ${SEEDS.join(', ')}`,
  );
  const runs = {
    windowed: [] as ReturnType<typeof runChild>[],
    unbounded: [] as ReturnType<typeof runChild>[],
  };
  for (const seed of SEEDS) {
    runs.unbounded.push(runChild(UNBOUNDED_ROWS, seed));
    runs.windowed.push(runChild(WINDOW_ROWS, seed));
  }
  console.log(
    '\n| retrain | rows: unbounded → windowed | merge ms: unbounded | windowed | drift ms: unbounded | windowed |',
  );
  console.log('|---|---|---|---|---|---|');
  for (let r = 0; r < RETRAINS; r++) {
    const of = (config: keyof typeof runs, field: keyof Retrain) =>
      runs[config].map((run) => run.retrains[r][field]);
    console.log(
      `| ${r + 1} | ${runs.unbounded[0].retrains[r].rows.toLocaleString('en-US')} → ${runs.windowed[0].retrains[r].rows.toLocaleString('en-US')} | ${pm(of('unbounded', 'mergeMs'))} | ${pm(of('windowed', 'mergeMs'))} | ${pm(of('unbounded', 'driftMs'))} | ${pm(of('windowed', 'driftMs'))} |`,
    );
  }
  const last = RETRAINS - 1;
  const ratio = (field: keyof Retrain) =>
    SEEDS.map((_, i) => runs.windowed[i].retrains[last][field] / runs.unbounded[i].retrains[last][field]);
  const peaks = (config: keyof typeof runs) => runs[config].map((run) => run.peakMb);
  console.log(
    `\nlast retrain, windowed ÷ unbounded: merge ${pm(ratio('mergeMs'), 2)}, drift ${pm(ratio('driftMs'), 2)}; peak RSS of the whole sequence: unbounded ${pm(peaks('unbounded'))} MB, windowed ${pm(peaks('windowed'))} MB`,
  );
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) child(Number(process.argv[childAt + 1]), Number(process.argv[childAt + 2]));
else main();
