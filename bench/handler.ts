/**
 * `npm run bench:handler`: the predict handler's own work, in process: parse, zod, model cache, forest,
 * the prediction-log write and the EMF line, without API Gateway or the Lambda runtime (what a user pays
 * for on AWS beyond the platform). S3 and DynamoDB are the emulators on loopback in a child process
 * (`bench/emulator-process.ts`), as the services are elsewhere on AWS: the emulated DynamoDB's server-side
 * work is not the handler's.
 *
 * Trains AirPassengers version 1 through the pipeline (the real state machine, its handlers in process),
 * then calls the middy-wrapped handler `--warmup` times and times `--calls` sequential calls per round,
 * `--rounds` times. Each call is measured three ways: wall time (the loopback round trip to the emulator
 * and its answer included); the CPU time of this process (`process.cpuUsage`; the emulators run in
 * another): the handler's own work plus what the client does on the caller's side of the write (sign,
 * send, read the answer), garbage collection included; and the CPU time of the handler's thread alone
 * (the process's less V8's helper threads: parallel and concurrent GC, background compilation). The target
 * (p50 ≤ 1 ms, p99 ≤ 5 ms) is judged on the process's CPU time; each is split into the awaited
 * prediction-log write (timed around `PredictionLog.put`) and the rest. EMF is on, as on AWS: each call
 * builds and writes its metrics line (to /dev/null while timing, so this output stays readable); the bench
 * checks there is exactly one per call.
 *
 * Every round of the served handler is run next to a round of the reference, the same handler with the
 * log's item sent as an SDK `PutItemCommand` (what the log did before `lambdas/shared/item-writer.ts`),
 * alternating which goes first; the ratios are taken round by round, so load that comes and goes on a
 * shared machine falls on both alike.
 *
 * The calls run under the predict function's `NODE_OPTIONS` from the synthesized stack (the V8 heap sizes
 * Lambda's runtime gives its memory, `lambdaHeapOptions` in `infra/driftline-function.ts`): the bench
 * re-runs itself with them. How often V8 collects garbage during the calls depends on them, so each round
 * also reports the share of calls a garbage collection overlapped and the share during which the kernel
 * preempted this process (an involuntary context switch of any of its threads, counted by `getrusage`: the
 * machine's other processes), the two causes of the tail. A collection reported late (the observer's
 * callback runs on a later tick) may count toward the next round's number of collections.
 * `--node-defaults` runs under Node's own heap sizes instead, for comparison.
 *
 * Usage: npm run bench:handler [-- --calls 2000 --warmup 200 --rounds 5] [-- --node-defaults]
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { loadStack, readLocalStack } from '../local/template.ts';
import { pointSdkAt, registryTables } from '../test/support/emulators.ts';
import {
  loadPipeline,
  loadSteps,
  prepareHandlerEnvironment,
  uploadDrop,
} from '../test/support/pipeline-steps.ts';
import { startEmulatorProcess } from './emulator-process.ts';

const option = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const calls = option('calls', 2000);
const warmup = option('warmup', 200);
const rounds = option('rounds', 5);
const repo = new URL('..', import.meta.url).pathname;

/** Set in the re-run: the NODE_OPTIONS it runs under, or 'node defaults'. */
const HEAP_MARK = 'DRIFTLINE_BENCH_HEAP';
if (process.env[HEAP_MARK] === undefined) {
  let nodeOptions: string | undefined;
  if (!process.argv.includes('--node-defaults')) {
    const stack = readLocalStack(
      await loadStack({ outdir: join(repo, 'node_modules/.cache/driftline/bench-handler-cdk.out') }),
      { region: 'us-east-1', apiUrl: 'http://127.0.0.1:1/' },
    );
    nodeOptions = stack.functions.find((fn) => fn.shortName === 'predict')?.environment.NODE_OPTIONS;
    if (!nodeOptions) throw new Error('the synthesized predict function has no NODE_OPTIONS');
  }
  const rerun = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: {
      ...process.env,
      ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
      [HEAP_MARK]: nodeOptions ?? 'node defaults',
    },
  });
  process.exit(rerun.status ?? 1);
}
const lines = readFileSync(`${repo}data/air-passengers.csv`, 'utf8').trim().split('\n');
const history = lines.slice(109, 121).map((line) => Number(line.split(',')[1]));

/** The p-quantile of sorted values. */
const quantile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
const meanSd = (values: number[]) => {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / Math.max(1, values.length - 1));
  return `${mean.toFixed(2)} ± ${sd.toFixed(2)}`;
};

/** Runs `act` with stdout going to /dev/null, returning how many EMF lines it wrote. */
async function emfToDevNull(act: () => Promise<void>): Promise<number> {
  const devNull = openSync('/dev/null', 'w');
  const original = process.stdout.write.bind(process.stdout);
  let lines = 0;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    if (String(chunk).includes('"_aws"')) lines += 1;
    if (typeof chunk === 'string') writeSync(devNull, chunk);
    else writeSync(devNull, chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    await act();
  } finally {
    process.stdout.write = original;
    closeSync(devNull);
  }
  return lines;
}

/**
 * This process's CPU time so far, in ms: the handler's thread and V8's helper threads (garbage collection),
 * the emulators being in another process. `process.threadCpuUsage` would be this thread alone, but Linux
 * counts it in scheduler ticks (4 ms here), too coarse for a call; the process's total is to the µs.
 */
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/**
 * The CPU time of this thread alone so far, in ms, to the ns: the scheduler's own account
 * (`/proc/<pid>/task/<tid>/schedstat`, the main thread's tid being the pid), which unlike
 * `process.threadCpuUsage` is not counted in ticks. The difference to {@link cpuMs} is V8's helper threads.
 */
const schedstat = openSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, 'r');
const schedstatBytes = Buffer.alloc(96);
const threadCpuMs = () => {
  const read = readSync(schedstat, schedstatBytes, 0, schedstatBytes.length, 0);
  return Number(schedstatBytes.toString('latin1', 0, read).split(' ')[0]) / 1e6;
};

const emulators = await startEmulatorProcess();
const loadAtStart = loadavg()[0];
try {
  pointSdkAt(emulators.s3, emulators.dynamo);
  const names = { bucket: 'bench-data', table: 'bench-registry', logTable: 'bench-log' };
  await prepareHandlerEnvironment(names);
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  const { Registry } = await import('../lambdas/shared/registry.ts');
  const { PredictionLog } = await import('../lambdas/shared/prediction-log.ts');
  const registry = new Registry(registryTables(names.table));
  const steps = await loadSteps();
  const spec = JSON.parse(readFileSync(`${repo}data/specs/air-passengers.json`, 'utf8'));
  await registry.putSpec('air-passengers', spec);
  const body = `${lines.slice(0, 121).join('\n')}\n`;
  await emfToDevNull(async () => {
    const first = await uploadDrop(names.bucket, 'incoming/air-passengers/first.csv', body);
    const trained = await (await loadPipeline()).run(first, 'bench-1');
    if (trained.state.registration?.outcome !== 'promoted')
      throw new Error(`the first run did not promote: ${trained.status} ${trained.cause ?? ''}`);
  });

  // The log write's share: wall and CPU time while the handler awaits `PredictionLog.put` (bench
  // instrumentation only; nothing else runs in this process meanwhile).
  const put = PredictionLog.prototype.put;
  let writeMs = 0;
  let writeCpuMs = 0;
  PredictionLog.prototype.put = async function timedPut(this: InstanceType<typeof PredictionLog>, entry) {
    const started = performance.now();
    const cpu = cpuMs();
    try {
      await put.call(this, entry);
    } finally {
      writeMs = performance.now() - started;
      writeCpuMs = cpuMs() - cpu;
    }
  };

  // The reference: the same item through the SDK's `PutItemCommand` pipeline, as the log wrote it before
  // `ItemWriter` (a plain client with `cacheMiddleware`), swapped in for the reference's rounds.
  const { ItemWriter } = await import('../lambdas/shared/item-writer.ts');
  const { DynamoDBClient, PutItemCommand } = await import('@aws-sdk/client-dynamodb');
  const writerPut = ItemWriter.prototype.put;
  const referenceClient = new DynamoDBClient({ cacheMiddleware: true });
  const referencePut: typeof writerPut = async (TableName, Item) => {
    await referenceClient.send(new PutItemCommand({ TableName, Item }));
  };
  const variants = { served: writerPut, reference: referencePut };
  type Variant = keyof typeof variants;

  const event = {
    resource: '/models/{name}/predict',
    path: '/models/air-passengers/predict',
    httpMethod: 'POST',
    pathParameters: { name: 'air-passengers' },
    body: JSON.stringify({ instances: [{ history }] }),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEvent;
  for (const variant of ['served', 'reference'] as const) {
    ItemWriter.prototype.put = variants[variant];
    const emfLines = await emfToDevNull(async () => {
      for (let i = 0; i < warmup; i++) await steps.predict(event);
    });
    if (emfLines !== warmup) throw new Error(`expected one EMF line per call, got ${emfLines} for ${warmup}`);
  }
  // Garbage collections during the calls, to tell which calls one overlapped.
  const collections: { start: number; end: number }[] = [];
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      collections.push({ start: entry.startTime, end: entry.startTime + entry.duration });
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const parts = ['cpu', 'cpuThread', 'cpuWrite', 'cpuOwn', 'wall', 'wallWrite', 'wallOwn'] as const;
  type Part = (typeof parts)[number];
  /** Per round: % of calls a garbage collection overlapped, collections, % of calls preempted. */
  type Causes = { gcCalls: number; collections: number; preempted: number };
  const perRound: Record<Variant, Record<Part, number[]>[]> = { served: [], reference: [] };
  const causes: Record<Variant, Causes[]> = { served: [], reference: [] };

  async function measureRound(variant: Variant) {
    ItemWriter.prototype.put = variants[variant];
    const measured = Object.fromEntries(parts.map((part) => [part, [] as number[]])) as Record<
      Part,
      number[]
    >;
    collections.length = 0;
    const windows: number[] = [];
    let preempted = 0;
    const emitted = await emfToDevNull(async () => {
      for (let i = 0; i < calls; i++) {
        writeMs = Number.NaN;
        writeCpuMs = Number.NaN;
        const switches = process.resourceUsage().involuntaryContextSwitches;
        const thread = threadCpuMs();
        const started = performance.now();
        const cpu = cpuMs();
        const response = await steps.predict(event);
        const cpuUsed = cpuMs() - cpu;
        const elapsed = performance.now() - started;
        measured.cpuThread.push(threadCpuMs() - thread);
        if (process.resourceUsage().involuntaryContextSwitches > switches) preempted += 1;
        windows.push(started, started + elapsed);
        if (response.statusCode !== 200)
          throw new Error(`call ${i}: ${response.statusCode} ${response.body}`);
        measured.cpu.push(cpuUsed);
        measured.cpuWrite.push(writeCpuMs);
        measured.cpuOwn.push(cpuUsed - writeCpuMs);
        measured.wall.push(elapsed);
        measured.wallWrite.push(writeMs);
        measured.wallOwn.push(elapsed - writeMs);
      }
    });
    if (emitted !== calls) throw new Error(`expected one EMF line per call, got ${emitted} for ${calls}`);
    perRound[variant].push(measured);
    // The observer reports a collection on a later tick: let the last ones arrive.
    await new Promise((resolve) => setImmediate(resolve));
    let gcCalls = 0;
    for (let i = 0; i < windows.length; i += 2) {
      if (collections.some(({ start, end }) => start < windows[i + 1] && end > windows[i])) gcCalls += 1;
    }
    causes[variant].push({
      gcCalls: (100 * gcCalls) / calls,
      collections: collections.length,
      preempted: (100 * preempted) / calls,
    });
  }
  // Interleaved, alternating which goes first, so load that comes and goes falls on both alike.
  for (let round = 0; round < rounds; round++) {
    const order: Variant[] = round % 2 === 0 ? ['served', 'reference'] : ['reference', 'served'];
    for (const variant of order) await measureRound(variant);
  }
  gcObserver.disconnect();
  ItemWriter.prototype.put = writerPut;

  const sortedOf = (variant: Variant, part: Part) =>
    perRound[variant].map((round) => [...round[part]].sort((a, b) => a - b));
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const stats = (sorted: number[][]) => [
    sorted.map((s) => quantile(s, 0.5)),
    sorted.map((s) => quantile(s, 0.99)),
    sorted.map(mean),
  ];
  const rows: [string, Variant, Part][] = [
    [
      "**predict handler's CPU per call, the log write's client side and the EMF line included**",
      'served',
      'cpu',
    ],
    [
      'of which the prediction-log write: `ItemWriter.put` in this process (sign, send, read the answer)',
      'served',
      'cpuWrite',
    ],
    ["of which the handler's own work (all but the write)", 'served', 'cpuOwn'],
    [
      "CPU of the handler's thread alone (the rest of the process's: V8's GC and compiler threads)",
      'served',
      'cpuThread',
    ],
    [
      'wall time per call (the loopback round trip to the emulator process and its answer included)',
      'served',
      'wall',
    ],
    ['of which the awaited write (client + loopback + the emulated DynamoDB)', 'served', 'wallWrite'],
    ['of which the rest', 'served', 'wallOwn'],
    [
      'reference (the write as an SDK `PutItemCommand`): CPU per call, everything as in the first row',
      'reference',
      'cpu',
    ],
    ['of which the write', 'reference', 'cpuWrite'],
    ["reference: CPU of the handler's thread alone", 'reference', 'cpuThread'],
  ];
  console.log(
    `predict handler in process, emulators in a child process: ${rounds} rounds × ${calls} calls after ${warmup} warm-up, the served write and the reference interleaved round by round; ms, mean ± sd over rounds`,
  );
  console.log('| measure | p50 ms | p99 ms | mean ms |');
  console.log('| --- | --- | --- | --- |');
  for (const [label, variant, part] of rows) {
    const [p50, p99, means] = stats(sortedOf(variant, part));
    console.log(`| ${label} | ${meanSd(p50)} | ${meanSd(p99)} | ${meanSd(means)} |`);
  }
  // Ratios round by round (each served round beside the reference round run next to it).
  const ratio = (part: Part) => {
    const [servedStats, referenceStats] = [
      stats(sortedOf('served', part)),
      stats(sortedOf('reference', part)),
    ];
    return servedStats.map((values, k) => meanSd(values.map((value, r) => value / referenceStats[k][r])));
  };
  for (const [label, part] of [
    ['served ÷ reference: CPU per call', 'cpu'],
    ['served ÷ reference: the write', 'cpuWrite'],
  ] as const)
    console.log(`| ${label} (×) | ${ratio(part).join(' | ')} |`);
  // V8 keeps compiling hot code on background threads for thousands of calls after the warm-up: their
  // CPU is the process's, not the handler thread's, and falls round by round.
  for (const variant of ['served', 'reference'] as const) {
    const byRound = (part: Part) =>
      sortedOf(variant, part)
        .map((s) => quantile(s, 0.99).toFixed(2))
        .join(' ');
    console.log(
      `${variant}: p99 ms round by round, process CPU ${byRound('cpu')}; the handler's thread ${byRound('cpuThread')}`,
    );
  }
  for (const variant of ['served', 'reference'] as const) {
    const column = (pick: (round: Causes) => number) => meanSd(causes[variant].map(pick));
    console.log(
      `${variant}: calls a garbage collection overlapped: ${column((r) => r.gcCalls)} % (${column((r) => r.collections)} collections per round); calls during which the kernel preempted this process: ${column((r) => r.preempted)} %`,
    );
  }
  console.log(
    `heap: ${process.env[HEAP_MARK]}; target: p50 ≤ 1 ms, p99 ≤ 5 ms for the CPU per call; load average ${loadAtStart.toFixed(2)} at the start, ${loadavg()[0].toFixed(2)} at the end`,
  );
} finally {
  await emulators.close();
}
