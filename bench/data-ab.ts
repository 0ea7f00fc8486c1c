/**
 * The validate path of `bench:data` (drop → validated table, `./validate-path.ts`: the drop streamed
 * through sha256 and `validateDrop`, the row hashes, the table file written part by part) run with
 * this checkout's code and with another commit's, interleaved in fresh processes on the same files, and
 * pandas `read_csv` between them: for changes whose effect is smaller than what a shared machine's load moves the absolute
 * figures by. Ratios are taken pair by pair (same file, back to back, the order alternating) and their
 * median over the rounds is given for each seed.
 *
 * Besides the wall time it reports the process's CPU (`process.cpuUsage`: the compiler, GC and I/O
 * threads included) and the main thread's alone (`/proc/self/task/<pid>/schedstat`, Linux): the main
 * thread's is what the wall time is made of on an idle machine, and moves least with the load.
 *
 *   node bench/data-ab.ts main~3                        # 100k rows × 20, seeds 1-5, 5 rounds
 *   node bench/data-ab.ts a086eb7 --rows 540000 --seeds 1 --rounds 3
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDrop } from './drops.ts';
import { runValidatePath } from './validate-path.ts';

const MB = 2 ** 20;
const repo = new URL('..', import.meta.url).pathname;
const self = new URL(import.meta.url).pathname;

/** CPU seconds the main thread has run (the scheduler's count, in nanoseconds). */
const mainThreadSeconds = () =>
  Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e9;

/** Child: what `bench:data`'s validate child does, with the code under `root`. Prints its figures as JSON. */
async function child(root: string, path: string, tablePath: string): Promise<void> {
  const { parseSpec } = await import(`${root}/lambdas/core/spec.ts`);
  const { rowHashes } = await import(`${root}/lambdas/core/splits.ts`);
  const { encodeTableParts } = await import(`${root}/lambdas/core/table-file.ts`);
  const { validateDrop } = await import(`${root}/lambdas/core/validate.ts`);
  const spec = parseSpec({ name: 'bench', task: 'regression', target: 'y' });
  const baseRss = process.memoryUsage().rss;
  const cpu = process.cpuUsage();
  const main = mainThreadSeconds();
  const times = await runValidatePath({ validateDrop, rowHashes, encodeTableParts, spec }, path, tablePath);
  const used = process.cpuUsage(cpu);
  console.log(
    JSON.stringify({
      ...times,
      cpu: (used.user + used.system) / 1e6,
      mainThread: mainThreadSeconds() - main,
      peakMB: (process.resourceUsage().maxRSS * 1024 - baseRss) / MB,
      // Both sides must have read the same table.
      digest: createHash('sha256').update(readFileSync(tablePath)).digest('hex').slice(0, 16),
    }),
  );
}

const PANDAS_READ = `
import json, sys, time
import pandas as pd
t = time.perf_counter()
pd.read_csv(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - t}))
`;

function run(command: string, args: string[]): Record<string, number> {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 16 * MB });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

async function main(): Promise<void> {
  const [ref, ...rest] = process.argv.slice(2);
  if (!ref || ref.startsWith('--'))
    throw new Error('usage: node bench/data-ab.ts <git ref> [--rows N] [--seeds 1,2] [--rounds N]');
  const option = (name: string, fallback: string) => {
    const at = rest.indexOf(`--${name}`);
    return at >= 0 ? rest[at + 1] : fallback;
  };
  const rows = Number(option('rows', '100000'));
  const seeds = option('seeds', '1,2,3,4,5').split(',').map(Number);
  const rounds = Number(option('rounds', '5'));
  const folder = mkdtempSync(join(tmpdir(), 'driftline-bench-data-ab-'));
  try {
    // The other commit's code, resolving its packages from this checkout's node_modules.
    const other = join(folder, 'other');
    const archive = spawnSync('sh', [
      '-c',
      `mkdir -p '${other}' && git -C '${repo}' archive '${ref}' lambdas package.json | tar -x -C '${other}'`,
    ]);
    if (archive.status !== 0) throw new Error(`git archive ${ref} failed: ${archive.stderr}`);
    symlinkSync(join(repo, 'node_modules'), join(other, 'node_modules'));
    const sides = { [ref]: other, this: repo.replace(/\/$/, '') };
    const names = Object.keys(sides);
    const results = new Map<string, Record<string, number>[]>();
    const record = (key: string, figures: Record<string, number>) =>
      results.set(key, [...(results.get(key) ?? []), figures]);
    const loads: number[] = [];
    for (const seed of seeds) await writeDrop(join(folder, `drop-${seed}.csv`), rows, seed);
    for (let round = 0; round < rounds; round++) {
      for (const seed of seeds) {
        const path = join(folder, `drop-${seed}.csv`);
        const order = (round + seed) % 2 === 0 ? names : [...names].reverse();
        for (const name of order) {
          record(
            `${name}|${seed}`,
            run(process.execPath, [self, '--child', sides[name], path, join(folder, 'table')]),
          );
        }
        record(`pandas|${seed}`, run('/usr/bin/python3', ['-c', PANDAS_READ, path]));
        loads.push(loadavg()[0]);
      }
      console.error(`round ${round + 1} of ${rounds} done`);
    }
    const of = (name: string, seed: number, field: string) =>
      results.get(`${name}|${seed}`)!.map((m) => m[field]);
    const paired = (a: number[], b: number[]) => median(a.map((value, i) => value / b[i]));
    const list = (values: number[], digits = 3) => values.map((value) => value.toFixed(digits)).join(', ');
    console.log(
      `${rows.toLocaleString('en')} rows × 20, seeds ${seeds.join(', ')}, ${rounds} rounds; ${ref} ÷ this checkout, per seed (median of paired ratios; above 1: this checkout is faster):\n`,
    );
    console.log(`| figure | ${ref} ÷ this, per seed | ${ref} (median) | this (median) |`);
    console.log('| --- | --- | --- | --- |');
    for (const field of ['seconds', 'read', 'rowHashes', 'write', 'cpu', 'mainThread', 'peakMB']) {
      const ratios = seeds.map((seed) => paired(of(ref, seed, field), of('this', seed, field)));
      const medians = (name: string) =>
        list(
          seeds.map((seed) => median(of(name, seed, field))),
          field === 'peakMB' ? 1 : 3,
        );
      console.log(`| ${field} | ${list(ratios)} | ${medians(ref)} | ${medians('this')} |`);
    }
    for (const name of names) {
      const ratios = seeds.map((seed) => paired(of('pandas', seed, 'seconds'), of(name, seed, 'seconds')));
      console.log(`\npandas seconds ÷ ${name} seconds (throughput ÷ pandas'), per seed: ${list(ratios)}`);
    }
    const same = seeds.every(
      (seed) => results.get(`${ref}|${seed}`)![0].digest === results.get(`this|${seed}`)![0].digest,
    );
    console.log(
      `\nSame table files on both sides: ${same}. One-minute load average ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}.`,
    );
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) {
  const [root, path, tablePath] = process.argv.slice(childAt + 1);
  await child(root, path, tablePath);
} else {
  await main();
}
