/**
 * `npm run bench:serve`: driftline's predict API on the local runtime against the FastAPI + scikit-learn
 * service it replaces, under the same load, in one run (issue 15's goals):
 *
 * 1. Side by side: a fresh runtime trains AirPassengers version 1 from the 1949-1958 drop; the peer
 *    (`bench/peer_sklearn.py`: uvicorn, a 100-tree RandomForestRegressor on the same lag features, the same
 *    request and response shape) starts beside it. After a 10-s warm-up of each (ours starts its predict
 *    containers), `wrk` POSTs the same one-instance request to each for `--seconds`, interleaved (peer,
 *    ours, peer, ours…) at 8 connections and at 1, `--rounds` times: requests/s, p50 and p99 of each, then
 *    the medians and the ratios. Goal: ours ≥ 5× the peer's requests/s at 8 connections with a p99 below
 *    the peer's.
 * 2. Batched: requests of 100 instances at 8 connections, predictions/s (goal ≥ 1,000), the peer's too.
 * 3. Soak: `--soak` requests (50,000) at 8 connections on the same runtime, with its throughput per 5,000
 *    and the runtime process's RSS sampled every second (goal: flat, the end within 10% of the RSS after
 *    the first 5,000).
 * 4. No decay, against a reference in the same run: the soaked runtime (which has served every load
 *    above) and a second runtime started and trained beside it at the start but idle since are loaded in
 *    turn, `AB_PAIRS` pairs of `AB_SECONDS`-s loads at 8 connections in alternating order (ABBA), after a
 *    `FRESH_WARMUP`-s load of the fresh one (its containers start cold, and its code reaches the soaked
 *    one's state of compilation only after thousands of requests: with 10 s the pairs' ratios fell from
 *    1.14 to 0.97 as it warmed); the soaked ÷ fresh requests/s of each pair, and their median (goal: within
 *    10%). This and not the soak's first 5,000 against its last is the verdict: those run a minute or
 *    more apart, and this machine's own speed drifts by more than 10% in that time even when idle
 *    (`bench/cpu-drift.ts`); loads a few seconds apart, in alternating order, cancel that drift.
 *
 * The runtime runs in this process (RSS is the runtime's: emulators, front door and every container
 * thread); `wrk` and the peer are processes of their own. Run it on an idle machine: the load average at
 * start and end is printed with the figures.
 *
 * Under `node --cpu-prof --cpu-prof-dir=<dir> bench/serve.ts` the runtime's threads write CPU profiles;
 * `bench/profile-summary.ts` groups them over the printed profile window (the first 8-connection load of
 * ours).
 *
 * Usage: npm run bench:serve [-- --seconds 15 --rounds 2 --connections 8,1 --soak 50000 --no-peer]
 *        npm run bench:serve -- --quick   (5-s loads, one round, a 10,000-request soak)
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { waitForRun } from '../bin/commands/remote.ts';
import { resolveTarget } from '../bin/target.ts';
import { startRuntime } from '../local/runtime.ts';

const repo = new URL('..', import.meta.url).pathname;
const quick = process.argv.includes('--quick');
const option = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const seconds = Number(option('seconds', quick ? '5' : '15'));
const rounds = Number(option('rounds', quick ? '1' : '2'));
const connectionCounts = option('connections', '8,1').split(',').map(Number);
const soakRequests = Number(option('soak', quick ? '10000' : '50000'));
const withPeer = !process.argv.includes('--no-peer');
/** The soak's throughput is reported per this many requests. */
const SEGMENT = 5000;
/** Pairs of loads of the soaked and the fresh runtime, and each load's length in seconds. */
const AB_PAIRS = quick ? 3 : 5;
const AB_SECONDS = 5;
/**
 * Seconds of load on the fresh runtime before the pairs: 30,000-40,000 requests, where the soaked one had
 * served some 50,000 when its soak began.
 */
const FRESH_WARMUP = quick ? 10 : 40;
const BATCH = 100;
if (soakRequests !== 0 && !(soakRequests >= 2 * SEGMENT)) {
  throw new RangeError(`--soak must be 0 or at least ${2 * SEGMENT} requests, got ${soakRequests}`);
}
const GOALS = { throughputRatio: 5, batchedPredictionsPerSecond: 1000, decay: 0.1, rssGrowth: 0.1 };

const history = readFileSync(join(repo, 'data/air-passengers.csv'), 'utf8')
  .trim()
  .split('\n')
  .slice(133, 145)
  .map((line) => Number(line.split(',')[1]));
const bodyOf = (instances: number) =>
  JSON.stringify({ instances: Array.from({ length: instances }, () => ({ history })) });

const scratch = mkdtempSync(join(tmpdir(), 'driftline-bench-serve-'));

/**
 * A wrk script POSTing `body`. Its `done` prints one JSON line: requests, seconds, p50/p99 (µs) and
 * errors. With `limit` > 0 the (single) thread writes that line itself after `limit` responses, with the
 * seconds at which each `SEGMENT`-th response came (LuaJIT's FFI reads the clock), and exits.
 */
function wrkScript(body: string, limit: number): string {
  const path = join(scratch, `load-${limit}-${body.length}.lua`);
  writeFileSync(
    path,
    `wrk.method = "POST"
wrk.body = ${JSON.stringify(body)}
wrk.headers["Content-Type"] = "application/json"
local limit, segment = ${limit}, ${SEGMENT}
${
  limit > 0
    ? `local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_usec; } bench_timeval; int gettimeofday(bench_timeval *tv, void *tz); ]]
local tv = ffi.new("bench_timeval")
local function now() ffi.C.gettimeofday(tv, nil); return tonumber(tv.tv_sec) + tonumber(tv.tv_usec) / 1e6 end
count, bad, t0, marks = 0, 0, 0, {}
function init(args) t0 = now() end
function response(status, headers, body)
  count = count + 1
  if status ~= 200 then bad = bad + 1 end
  if count % segment == 0 then marks[#marks + 1] = string.format('%.6f', now() - t0) end
  if count == limit then
    -- wrk's own stop would wait out -d: the soak writes its line here and ends the process.
    io.write(string.format('\\n{"requests":%d,"seconds":%.6f,"p50":0,"p99":0,"non2xx":%d,"socketErrors":0,"soak":{"count":%d,"non200":%d,"marks":[%s]}}\\n',
      count, now() - t0, bad, count, bad, table.concat(marks, ',')))
    io.flush()
    os.exit(0)
  end
end`
    : ''
}
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\n{"requests":%d,"seconds":%.6f,"p50":%d,"p99":%d,"non2xx":%d,"socketErrors":%d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
`,
  );
  return path;
}

interface Load {
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  failed: number;
  /** Of a soak: responses, non-200 responses, and the seconds from the start at every `SEGMENT`-th response. */
  soak?: { count: number; non200: number; marks: number[] };
}

async function wrk(url: string, body: string, connections: number, duration: string, limit = 0) {
  const { stdout } = await promisify(execFile)(
    'wrk',
    ['-t1', `-c${connections}`, `-d${duration}`, '--timeout', '30s', '-s', wrkScript(body, limit), url],
    { maxBuffer: 1 << 20 },
  );
  const line = stdout.trim().split('\n').at(-1) ?? '';
  const raw = JSON.parse(line) as {
    requests: number;
    seconds: number;
    p50: number;
    p99: number;
    non2xx: number;
    socketErrors: number;
    soak?: Load['soak'];
  };
  return {
    requests: raw.requests,
    perSecond: raw.requests / raw.seconds,
    p50: raw.p50 / 1000,
    p99: raw.p99 / 1000,
    failed: raw.non2xx + raw.socketErrors,
    ...(raw.soak ? { soak: raw.soak } : {}),
  } satisfies Load;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts the FastAPI + scikit-learn peer and resolves once it answers a prediction. */
async function startPeer(): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const child = spawn(
    '/usr/bin/python3',
    [join(repo, 'bench/peer_sklearn.py'), join(repo, 'data/air-passengers.csv'), String(port)],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const url = `http://127.0.0.1:${port}/models/air-passengers/predict`;
  try {
    await untilAnswering(url, Date.now() + 120_000, child);
  } catch (error) {
    child.kill();
    throw error;
  }
  return { url, stop: () => child.kill() };
}

async function untilAnswering(url: string, deadline: number, child: ChildProcess): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the peer exited with ${child.exitCode}`);
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: bodyOf(1),
      });
      if (response.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error('the peer did not answer within 120 s');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const fmt = (value: number, digits = 0) =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pass = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/**
 * Starts a runtime in `home`, trains AirPassengers version 1 from the 1949-1958 drop on it and returns
 * the runtime and its predict URL.
 */
async function runtimeServingVersion1(home: string) {
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
  } catch (error) {
    await runtime.stop();
    throw error;
  }
  return { runtime, url: `${runtime.apiUrl}models/air-passengers/predict` };
}

const started = new Date();
console.log(
  `bench:serve ${started.toISOString()}, load average ${load()}; ${seconds}-s loads × ${rounds} round(s) at ${connectionCounts.join(' and ')} connection(s), soak ${fmt(soakRequests)} requests`,
);
const { runtime, url: ours } = await runtimeServingVersion1(join(scratch, 'home'));
// The soak's reference: the same stack, trained the same way, idle until the soak is over.
const fresh = soakRequests > 0 ? await runtimeServingVersion1(join(scratch, 'fresh')) : undefined;
const peer = withPeer ? await startPeer() : undefined;
try {
  const systems = [...(peer ? [['peer', peer.url] as const] : []), ['ours', ours] as const];

  // Warm-up, not counted: the first 8-connection load starts ours' predict containers (cold starts).
  for (const [system, url] of systems) {
    const warmup = await wrk(url, bodyOf(1), 8, '10s');
    console.log(
      `warm-up ${system}: ${fmt(warmup.requests)} requests in 10 s, p99 ${fmt(warmup.p99, 1)} ms, ${warmup.failed} failed`,
    );
  }

  // 1. Side by side, interleaved.
  console.log('\n| round | system | connections | requests | requests/s | p50 ms | p99 ms | failed |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  const results: Record<string, Load[]> = {};
  let profileWindow = '';
  for (let round = 1; round <= rounds; round++) {
    for (const connections of connectionCounts) {
      for (const [system, url] of systems) {
        const from = process.hrtime.bigint() / 1000n;
        const result = await wrk(url, bodyOf(1), connections, `${seconds}s`);
        if (system === 'ours' && connections === 8 && !profileWindow)
          profileWindow = `${from} ${process.hrtime.bigint() / 1000n}`;
        results[`${system}@${connections}`] = [...(results[`${system}@${connections}`] ?? []), result];
        console.log(
          `| ${round} | ${system} | ${connections} | ${fmt(result.requests)} | ${fmt(result.perSecond)} | ${fmt(result.p50, 1)} | ${fmt(result.p99, 1)} | ${result.failed} |`,
        );
      }
    }
  }

  // 2. Batched.
  const batched: Record<string, Load> = {};
  for (const [system, url] of systems) batched[system] = await wrk(url, bodyOf(BATCH), 8, `${seconds}s`);

  // 3. Soak on the same runtime, RSS sampled every second.
  const rss: number[] = [];
  const sampler = setInterval(() => rss.push(process.memoryUsage.rss()), 1000);
  const soak = soakRequests > 0 ? await wrk(ours, bodyOf(1), 8, '3600s', soakRequests) : undefined;
  clearInterval(sampler);
  const rssAfterFirst = soak?.soak
    ? rss[Math.min(rss.length - 1, Math.ceil(soak.soak.marks[0]))]
    : Number.NaN;

  // 4. The soaked runtime against the fresh one, interleaved (ABBA), after the fresh one's warm-up.
  const pairs: { soaked: number; fresh: number }[] = [];
  if (soak && fresh) {
    await wrk(fresh.url, bodyOf(1), 8, `${FRESH_WARMUP}s`);
    for (let pair = 0; pair < AB_PAIRS; pair++) {
      const urls = { soaked: ours, fresh: fresh.url };
      const loads = { soaked: 0, fresh: 0 };
      for (const name of pair % 2 === 0 ? (['soaked', 'fresh'] as const) : (['fresh', 'soaked'] as const)) {
        const result = await wrk(urls[name], bodyOf(1), 8, `${AB_SECONDS}s`);
        if (result.failed > 0) throw new Error(`${result.failed} requests to the ${name} runtime failed`);
        loads[name] = result.perSecond;
      }
      pairs.push(loads);
    }
  }

  console.log(`\nmedians over ${rounds} round(s):`);
  console.log('| system | connections | requests/s | p50 ms | p99 ms |');
  console.log('| --- | --- | --- | --- | --- |');
  const med = (name: string, pick: (load: Load) => number) => median((results[name] ?? []).map(pick));
  for (const connections of connectionCounts) {
    for (const [system] of systems) {
      const name = `${system}@${connections}`;
      console.log(
        `| ${system} | ${connections} | ${fmt(med(name, (r) => r.perSecond))} | ${fmt(
          med(name, (r) => r.p50),
          1,
        )} | ${fmt(
          med(name, (r) => r.p99),
          1,
        )} |`,
      );
    }
  }

  console.log('\n| goal | measured | verdict |');
  console.log('| --- | --- | --- |');
  if (peer) {
    for (const connections of connectionCounts) {
      const ratio =
        med(`ours@${connections}`, (r) => r.perSecond) / med(`peer@${connections}`, (r) => r.perSecond);
      const p99 = [med(`ours@${connections}`, (r) => r.p99), med(`peer@${connections}`, (r) => r.p99)];
      const gated = connections === 8;
      console.log(
        `| ${gated ? `ours/peer requests/s ≥ ${GOALS.throughputRatio}×` : 'ours/peer requests/s (no goal)'}, ${connections} connection(s) | ${ratio.toFixed(2)}× | ${gated ? pass(ratio >= GOALS.throughputRatio) : '—'} |`,
      );
      console.log(
        `| ${gated ? 'our p99 < peer p99' : 'our p99 vs peer p99 (no goal)'}, ${connections} connection(s) | ${fmt(p99[0], 1)} vs ${fmt(p99[1], 1)} ms (${(p99[0] / p99[1]).toFixed(2)}×) | ${gated ? pass(p99[0] < p99[1]) : '—'} |`,
      );
    }
  }
  for (const [system] of systems) {
    const perSecond = batched[system].perSecond * BATCH;
    const gated = system === 'ours';
    console.log(
      `| ${gated ? `batched (${BATCH} instances/request, 8 connections) ≥ ${fmt(GOALS.batchedPredictionsPerSecond)} predictions/s` : `peer batched (${BATCH}/request), predictions/s`} | ${fmt(perSecond)} predictions/s (p99 ${fmt(batched[system].p99, 1)} ms, ${batched[system].failed} failed) | ${gated ? pass(perSecond >= GOALS.batchedPredictionsPerSecond) : '—'} |`,
    );
  }
  if (soak?.soak) {
    const ratios = pairs.map(({ soaked, fresh }) => soaked / fresh);
    const ratio = median(ratios);
    console.log(
      `| after the soak: soaked ÷ fresh runtime's requests/s within ${GOALS.decay * 100}% (median of ${AB_PAIRS} interleaved pairs of ${AB_SECONDS}-s loads) | ${ratio.toFixed(3)} (pairs ${ratios.map((r) => r.toFixed(3)).join(', ')}; soaked ${fmt(median(pairs.map((p) => p.soaked)))}, fresh ${fmt(median(pairs.map((p) => p.fresh)))} requests/s); soak ${soak.soak.non200} non-200 | ${pass(Math.abs(ratio - 1) <= GOALS.decay && soak.soak.non200 === 0)} |`,
    );
    const { marks } = soak.soak;
    const perSegment = marks.map((at, i) => SEGMENT / (at - (i > 0 ? marks[i - 1] : 0)));
    console.log(
      `| soak ${fmt(soak.soak.count)} requests: first ${fmt(SEGMENT)} → last ${fmt(SEGMENT)} (no goal: the machine's speed drifts, see 4.) | ${fmt(perSegment[0])} → ${fmt(perSegment[perSegment.length - 1])} requests/s (${((perSegment[perSegment.length - 1] / perSegment[0] - 1) * 100).toFixed(1)}%) | — |`,
    );
    const growth = (rss[rss.length - 1] - rssAfterFirst) / rssAfterFirst;
    console.log(
      `| soak: RSS flat (end within ${GOALS.rssGrowth * 100}% of after the first ${fmt(SEGMENT)}) | ${fmt(rssAfterFirst / 2 ** 20)} → ${fmt(rss[rss.length - 1] / 2 ** 20)} MB (max ${fmt(Math.max(...rss) / 2 ** 20)} MB; ${(growth * 100).toFixed(1)}%) | ${pass(growth <= GOALS.rssGrowth)} |`,
    );
    console.log(`soak requests/s per ${fmt(SEGMENT)}: ${perSegment.map((r) => fmt(r)).join(' ')}`);
    const step = Math.max(1, Math.floor(rss.length / 10));
    console.log(
      `soak RSS every ${step} s (MB): ${rss
        .filter((_, i) => i % step === 0)
        .map((bytes) => fmt(bytes / 2 ** 20))
        .join(' ')}`,
    );
  }
  console.log(`\nload average at end ${load()}`);
  if (profileWindow) console.log(`profile window (monotonic µs): ${profileWindow}`);
} finally {
  peer?.stop();
  await fresh?.runtime.stop();
  await runtime.stop();
  rmSync(scratch, { recursive: true, force: true });
}
