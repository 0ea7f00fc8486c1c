/**
 * `npm run bench:serve`: the local runtime serving AirPassengers predictions under load. Starts a fresh
 * runtime in a temp folder, trains version 1 from the 1949-1958 drop, then loads `POST /predict` (the
 * same 12-value request throughout) from a separate process: `--connections` keep-alive loops for
 * `--seconds`, repeated `--rounds` times on the same runtime (a later round slower than the first would
 * be decay), printing requests/s, p50 and p99 per round and the runtime's heap after each.
 *
 * Run it under `node --cpu-prof --cpu-prof-dir=<dir> bench/serve.ts` to profile the runtime's main thread
 * and its containers (worker threads write their own profiles); `bench/profile-summary.ts` groups them.
 *
 * Usage: npm run bench:serve [-- --connections 8 --seconds 20 --rounds 3 --batch 1]
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { waitForRun } from '../bin/commands/remote.ts';
import { resolveTarget } from '../bin/target.ts';
import { startRuntime } from '../local/runtime.ts';

const repo = new URL('..', import.meta.url).pathname;
const option = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const connections = option('connections', 8);
const seconds = option('seconds', 20);
const rounds = option('rounds', 3);
const batch = option('batch', 1);
const history = readFileSync(join(repo, 'data/air-passengers.csv'), 'utf8')
  .trim()
  .split('\n')
  .slice(133, 145)
  .map((line) => Number(line.split(',')[1]));
const body = JSON.stringify({ instances: Array.from({ length: batch }, () => ({ history })) });

const home = mkdtempSync(join(tmpdir(), 'driftline-bench-serve-'));
const runtime = await startRuntime({ home, port: 0, quiet: true, schedules: false });
try {
  const target = await resolveTarget({ home });
  await target.registry.putSpec(
    'air-passengers',
    JSON.parse(readFileSync(join(repo, 'data/specs/air-passengers.json'), 'utf8')),
  );
  const key = 'incoming/air-passengers/first.csv';
  await target.s3.send(
    new PutObjectCommand({
      Bucket: target.outputs.BucketName,
      Key: key,
      Body: readFileSync(join(repo, 'data/drops/air-passengers-1949-1958.csv')),
    }),
  );
  await waitForRun(target, 'air-passengers', key, { quiet: true });
  const url = `${runtime.apiUrl}models/air-passengers/predict`;
  console.log(
    `runtime ${runtime.apiUrl}, ${connections} connections, ${seconds} s × ${rounds}, ${batch} instance(s)/request`,
  );
  console.log('| round | requests | requests/s | predictions/s | p50 ms | p99 ms | non-200 | heap MB |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  // The load window on the monotonic clock CPU profiles use (µs), for bench/profile-summary.ts.
  const loadStart = process.hrtime.bigint() / 1000n;
  for (let round = 1; round <= rounds; round++) {
    const { stdout } = await promisify(execFile)(process.execPath, [
      join(repo, 'bench/load.ts'),
      url,
      body,
      String(connections),
      String(seconds),
    ]);
    const result = JSON.parse(stdout) as {
      requests: number;
      perSecond: number;
      p50: number;
      p99: number;
      statuses: Record<string, number>;
    };
    const failed = Object.entries(result.statuses)
      .filter(([status]) => status !== '200')
      .reduce((sum, [, n]) => sum + n, 0);
    const heap = process.memoryUsage().heapUsed / 2 ** 20;
    console.log(
      `| ${round} | ${result.requests} | ${result.perSecond.toFixed(0)} | ${(result.perSecond * batch).toFixed(0)} | ${result.p50.toFixed(1)} | ${result.p99.toFixed(1)} | ${failed} | ${heap.toFixed(0)} |`,
    );
  }
  console.log(`profile window (monotonic µs): ${loadStart} ${process.hrtime.bigint() / 1000n}`);
} finally {
  await runtime.stop();
  rmSync(home, { recursive: true, force: true });
}
