/**
 * The data path benchmark, against pandas and SciPy in the same run:
 *
 * 1. Drop → validated table: what the validate step does with a drop of N rows × 20 numeric columns, S3
 *    aside — stream the file through sha256 and `validateDrop` (the streaming column reader and the gate),
 *    hash each row's holdout key (`rowHashes`) and write the table file from the columns' memory
 *    (`encodeTableParts`, as `putParts` sends it) — in a fresh process per file, vs pandas `read_csv` of
 *    the same file in a fresh Python. Rows per second (and the seconds of each phase) and peak RSS above
 *    the process's RSS before reading, next to the size of the typed data (N × 20 × 8 bytes).
 * 2. Drift 1M vs 1M rows × 20 columns, KS + PSI per column: `detectDrift` (every column's test forced to
 *    KS, PSI always computed) vs `scipy.stats.ks_2samp` plus a numpy PSI over the same 10 reference-quantile
 *    bins. The statistics' time alone (data already in memory), and reading both files plus the statistics.
 *
 * Data are generated here (seeded, 5 decimals, a shifted mean in 5 of the 20 current columns) into a
 * temporary folder that is removed at the end. Figures are mean ± sd over seeds 1-5.
 *
 *   npm run bench:data               # 100k, 540k (~100 MB) and 1M rows; drift 1M vs 1M (several minutes)
 *   npm run bench:data -- --quick    # 100k rows and drift 100k vs 100k, 2 seeds (a smoke run)
 *   npm run bench:data -- --drift-only  # the drift comparison alone
 *   npm run bench:data -- --validate-only  # drop → validated table alone (100k, 540k and 1M rows)
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectDrift } from '#core/drift.ts';
import { parseSpec } from '#core/spec.ts';
import { rowHashes } from '#core/splits.ts';
import { encodeTableParts } from '#core/table-file.ts';
import type { Table } from '#core/types.ts';
import { validateDrop } from '#core/validate.ts';
import { COLUMNS, COLUMN_NAMES as names, writeDrop } from './drops.ts';
import { readChunks, readOptions, runValidatePath } from './validate-path.ts';

const PYTHON = '/usr/bin/python3';
const spec = parseSpec({ name: 'bench', task: 'regression', target: 'y' });

const MB = 2 ** 20;

async function readTable(path: string): Promise<Table> {
  const report = await validateDrop(readChunks(path), spec, readOptions(path));
  if (!report.ok || !report.table)
    throw new Error(`${path} failed validation: ${JSON.stringify(report.problems)}`);
  return report.table;
}

/**
 * Child: the validate step on one file (lambdas/validate/handler.ts, with a file for S3): the drop
 * streamed through sha256 and the reader, the row hashes, the table file written part by part. Prints
 * the seconds of each phase and the peak memory as JSON.
 */
async function childValidate(path: string, tablePath: string): Promise<void> {
  const baseRss = process.memoryUsage().rss;
  const times = await runValidatePath({ validateDrop, rowHashes, encodeTableParts, spec }, path, tablePath);
  const peakRss = process.resourceUsage().maxRSS * 1024;
  console.log(JSON.stringify({ ...times, bytes: statSync(tablePath).size, peakAbove: peakRss - baseRss }));
}

/** Child: read two files and compare them, KS + PSI per column; prints the times as JSON. */
async function childDrift(referencePath: string, currentPath: string): Promise<void> {
  const started = performance.now();
  const [reference, current] = [await readTable(referencePath), await readTable(currentPath)];
  const read = (performance.now() - started) / 1000;
  const computeStarted = performance.now();
  const report = detectDrift(reference, current, {
    columns: names,
    perColumn: Object.fromEntries(names.map((name) => [name, { test: 'ks' as const }])),
  });
  const compute = (performance.now() - computeStarted) / 1000;
  console.log(JSON.stringify({ read, compute, drifted: report.driftedColumns.length }));
}

const PANDAS_READ = `
import json, resource, sys, time
import pandas as pd
def rss():
    with open('/proc/self/status') as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith('VmRSS'))
base = rss()
t = time.perf_counter()
d = pd.read_csv(sys.argv[1])
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "rows": len(d), "peakAbove": peak - base}))
`;

const SCIPY_DRIFT = `
import json, sys, time
import numpy as np, pandas as pd
from scipy.stats import ks_2samp
t = time.perf_counter()
ref = pd.read_csv(sys.argv[1]); cur = pd.read_csv(sys.argv[2])
read = time.perf_counter() - t
t = time.perf_counter()
drifted = 0
for name in ref.columns:
    r = ref[name].to_numpy(); c = cur[name].to_numpy()
    r = r[np.isfinite(r)]; c = c[np.isfinite(c)]
    p = ks_2samp(r, c).pvalue
    edges = np.unique(np.quantile(r, np.linspace(0, 1, 11)[1:-1]))
    rs = np.bincount(np.searchsorted(edges, r, side='left'), minlength=len(edges) + 1) / len(r)
    cs = np.bincount(np.searchsorted(edges, c, side='left'), minlength=len(edges) + 1) / len(c)
    rs = np.where(rs == 0, 1e-4, rs); cs = np.where(cs == 0, 1e-4, cs)
    psi = float(np.sum((cs - rs) * np.log(cs / rs)))
    drifted += p < 0.05
compute = time.perf_counter() - t
print(json.dumps({"read": read, "compute": compute, "drifted": int(drifted)}))
`;

function run(command: string, args: string[]): Record<string, number> {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 16 * MB });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!);
}

const self = new URL(import.meta.url).pathname;
const node = (args: string[]) => run(process.execPath, [self, '--child', ...args]);
const python = (script: string, args: string[]) => run(PYTHON, ['-c', script, ...args]);

function meanSd(values: number[]): { mean: number; sd: number } {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance =
    values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / Math.max(1, values.length - 1);
  return { mean, sd: Math.sqrt(variance) };
}

const show = (values: number[], digits = 2) => {
  const { mean, sd } = meanSd(values);
  return `${mean.toFixed(digits)} ± ${sd.toFixed(digits)}`;
};

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const driftOnly = process.argv.includes('--drift-only');
  const validateOnly = process.argv.includes('--validate-only');
  const sizes = driftOnly ? [] : quick ? [100_000] : [100_000, 540_000, 1_000_000];
  const seeds = quick ? [1, 2] : [1, 2, 3, 4, 5];
  const driftRows = quick ? 100_000 : 1_000_000;
  const folder = mkdtempSync(join(tmpdir(), 'driftline-bench-data-'));
  try {
    console.log(
      `| rows × 20 | file MB | typed MB | driftline rows/s | pandas rows/s | driftline ÷ pandas throughput | of it: read + gate s | row hashes s | write s | read + gate alone ÷ pandas | driftline peak MB | pandas peak MB | driftline peak ÷ typed |`,
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const rows of sizes) {
      const ours: Record<string, number>[] = [];
      const theirs: Record<string, number>[] = [];
      let fileBytes = 0;
      for (const seed of seeds) {
        const path = join(folder, `drop-${rows}-${seed}.csv`);
        await writeDrop(path, rows, seed);
        fileBytes = statSync(path).size;
        const tablePath = `${path}.table`;
        ours.push(node(['validate', path, tablePath]));
        theirs.push(python(PANDAS_READ, [path]));
        console.error(
          `${rows} rows, seed ${seed}: driftline ${JSON.stringify(ours.at(-1))}, pandas ${JSON.stringify(theirs.at(-1))}`,
        );
        rmSync(path);
        rmSync(tablePath);
      }
      const typed = (rows * COLUMNS * 8) / MB;
      const ourRate = ours.map((m) => rows / m.seconds);
      const theirRate = theirs.map((m) => rows / m.seconds);
      const ratio = ours.map((m, i) => theirs[i].seconds / m.seconds);
      console.log(
        `| ${rows.toLocaleString('en')} | ${(fileBytes / MB).toFixed(0)} | ${typed.toFixed(0)} | ${show(ourRate, 0)} | ${show(theirRate, 0)} | ${show(ratio)}× | ${show(ours.map((m) => m.read))} | ${show(ours.map((m) => m.rowHashes))} | ${show(ours.map((m) => m.write))} | ${show(ours.map((m, i) => theirs[i].seconds / m.read))}× | ${show(
          ours.map((m) => m.peakAbove / MB),
          0,
        )} | ${show(
          theirs.map((m) => m.peakAbove / MB),
          0,
        )} | ${show(ours.map((m) => m.peakAbove / MB / typed))}× |`,
      );
    }
    if (validateOnly) return;

    console.log(
      `\nDrift ${driftRows.toLocaleString('en')} vs ${driftRows.toLocaleString('en')} rows × 20, KS + PSI per column:\n`,
    );
    console.log('| seconds | driftline | SciPy + numpy | driftline ÷ SciPy |');
    console.log('| --- | --- | --- | --- |');
    const ours: Record<string, number>[] = [];
    const theirs: Record<string, number>[] = [];
    for (const seed of seeds) {
      const reference = join(folder, `reference-${seed}.csv`);
      const current = join(folder, `current-${seed}.csv`);
      await writeDrop(reference, driftRows, seed);
      await writeDrop(current, driftRows, seed + 1000, 0.5);
      ours.push(node(['drift', reference, current]));
      theirs.push(python(SCIPY_DRIFT, [reference, current]));
      // Each seed as it ends, so a long run shows progress.
      console.error(
        `seed ${seed}: driftline ${JSON.stringify(ours.at(-1))}, SciPy ${JSON.stringify(theirs.at(-1))}`,
      );
      if (ours.at(-1)!.drifted !== theirs.at(-1)!.drifted) {
        throw new Error(`drifted columns differ: ${ours.at(-1)!.drifted} vs SciPy ${theirs.at(-1)!.drifted}`);
      }
      rmSync(reference);
      rmSync(current);
    }
    const row = (label: string, pick: (m: Record<string, number>) => number) =>
      console.log(
        `| ${label} | ${show(ours.map(pick))} | ${show(theirs.map(pick))} | ${show(ours.map((m, i) => pick(m) / pick(theirs[i])))}× |`,
      );
    row('KS + PSI, 20 columns (data in memory)', (m) => m.compute);
    row('read both files + KS + PSI', (m) => m.read + m.compute);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) {
  const [mode, ...paths] = process.argv.slice(childAt + 1);
  if (mode === 'validate') await childValidate(paths[0], paths[1]);
  else await childDrift(paths[0], paths[1]);
} else {
  await main();
}
