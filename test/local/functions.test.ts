import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FunctionHost,
  FunctionNotFoundError,
  type InvokeResult,
  LambdaFunctionError,
  payloadOf,
  RequestTooLargeError,
} from '../../local/functions.ts';
import type { LogSink } from '../../local/log.ts';
import { MetricStore } from '../../local/metrics.ts';
import { type LocalFunction, repoRoot } from '../../local/template.ts';

const entry = `${repoRoot}test/local/fixtures/handlers.ts`;

function fixture(name: string, handler: string, timeoutSeconds = 10, file = entry): LocalFunction {
  return {
    logicalId: `${name}Logical`,
    name: `Test-${name}`,
    shortName: name,
    arn: `arn:aws:lambda:us-east-1:000000000000:function:Test-${name}`,
    entry: file,
    handler,
    environment: { TABLE_NAME: `table-of-${name}` },
    timeoutSeconds,
    memoryMb: 256,
    role: { logicalId: `${name}Role`, arn: '', name: `${name}Role`, statements: [], notes: [] },
  };
}

describe('FunctionHost', () => {
  const lines: string[] = [];
  const log: LogSink = { line: (source, text) => lines.push(`[${source}] ${text}`) };
  const metrics = new MetricStore();
  let host: FunctionHost;

  beforeAll(() => {
    host = new FunctionHost({
      functions: [
        fixture('counterA', 'counter'),
        fixture('counterB', 'counter'),
        fixture('fail', 'fail'),
        fixture('slow', 'slow', 1),
        fixture('emf', 'emf'),
        fixture('chatty', 'chatty'),
        fixture('missing', 'noSuchExport'),
        fixture('slowInit', 'handler', 1, `${repoRoot}test/local/fixtures/slow-init.ts`),
        { ...fixture('hog', 'hog'), memoryMb: 64 },
        { ...fixture('spinningHog', 'hog'), memoryMb: 64 },
      ],
      baseEnvironment: { AWS_REGION: 'us-east-1' },
      log,
      metrics,
      maxContainersPerFunction: 2,
    });
  });
  afterAll(() => host.close());

  it('keeps module state per container and per function, as warm Lambda sandboxes do', async () => {
    // Act: the two functions run the same file, each in its own container.
    const a1 = payloadOf(await host.invoke('counterA', { n: 1 })) as Record<string, unknown>;
    const a2 = payloadOf(await host.invoke('counterA', { n: 2 })) as Record<string, unknown>;
    const b1 = payloadOf(
      await host.invoke('arn:aws:lambda:us-east-1:000000000000:function:Test-counterB', {}),
    ) as Record<string, unknown>;

    // Assess
    expect([a1.invocations, a2.invocations, b1.invocations]).toEqual([1, 2, 1]);
    expect(a1).toMatchObject({
      functionName: 'Test-counterA',
      envFunctionName: 'Test-counterA',
      table: 'table-of-counterA',
      event: { n: 1 },
    });
    expect(b1.functionName).toBe('Test-counterB');
  });

  it('reports warm starts and request ids, and returns the lines an invocation logged', async () => {
    // counterB's container is warm from the test above.
    const warm = await host.invoke('counterB', {});
    const again = await host.invoke('counterB', {});

    expect(warm.coldStart).toBe(false);
    expect(again.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(again.requestId).toBe((payloadOf(again) as { requestId: string }).requestId);
    expect(again.logs).toEqual([expect.stringContaining('"message":"counted"')]);
    expect(lines).toContain(`[counterB] INFO counted {"invocations":3,"event":{}}`);
  });

  it('returns a thrown error as { errorType, errorMessage, trace }, named for Step Functions', async () => {
    // Act
    const result = await host.invoke('fail', {
      errorType: 'InvalidDataError',
      message: 'column y is missing',
    });

    // Assess
    expect(result.ok).toBe(false);
    const { error } = result as Extract<InvokeResult, { ok: false }>;
    expect(error.errorType).toBe('InvalidDataError');
    expect(error.errorMessage).toBe('column y is missing');
    expect(error.trace[0]).toBe('InvalidDataError: column y is missing');
    expect(() => payloadOf(result)).toThrow(LambdaFunctionError);
    try {
      payloadOf(result);
    } catch (thrown) {
      expect((thrown as Error).name).toBe('InvalidDataError');
    }
    expect(lines).toContain('[fail] ERROR Invoke Error InvalidDataError: column y is missing');
  });

  it("enforces the function's timeout and replaces the container it killed", async () => {
    // Prepare: a warm container.
    const warm = await host.invoke('slow', { ms: 10 });
    expect(warm.ok).toBe(true);

    // Act: the function's timeout is 1 s; this invocation would sleep for a minute.
    const timedOut = await host.invoke('slow', { ms: 60_000 });
    const after = await host.invoke('slow', { ms: 10 });

    // Assess
    expect(timedOut).toMatchObject({
      ok: false,
      error: {
        errorType: 'Sandbox.Timedout',
        errorMessage: `RequestId: ${timedOut.requestId} Error: Task timed out after 1.00 seconds`,
      },
    });
    expect(after.coldStart).toBe(true);
    const remaining = payloadOf(after) as { before: number; after: number };
    expect(remaining.before).toBeLessThanOrEqual(1_000);
    expect(remaining.before).toBeGreaterThan(remaining.after);
  });

  it('does not count a cold start against the timeout: the init phase has its own limit, as on Lambda', async () => {
    // Act: the module's init takes 1.5 s, the timeout is 1 s.
    const started = performance.now();
    const first = await host.invoke('slowInit', {});
    const elapsed = performance.now() - started;
    const second = await host.invoke('slowInit', {});

    // Assess: the handler ran, with its whole timeout ahead of it when it started.
    expect(first.coldStart).toBe(true);
    const { remaining } = payloadOf(first) as { remaining: number };
    expect(remaining).toBeGreaterThan(0);
    expect(remaining).toBeLessThanOrEqual(1_000);
    // The init is reported apart from the invocation's Duration, on the REPORT line too; only once.
    // (timers round to the millisecond, so the 1.5 s sleep may measure a little under)
    expect(first.initDurationMs).toBeGreaterThanOrEqual(1_490);
    expect(first.initDurationMs! + first.durationMs).toBeLessThanOrEqual(Math.ceil(elapsed) + 1);
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^\\[slowInit\\] REPORT RequestId: ${first.requestId} Duration: ${first.durationMs} ms .* Init Duration: ${first.initDurationMs} ms$`,
        ),
      ),
    );
    expect(second.coldStart).toBe(false);
    expect(second.initDurationMs).toBeUndefined();
    expect(lines.find((line) => line.includes(`REPORT RequestId: ${second.requestId}`))).not.toContain(
      'Init Duration',
    );
  });

  it('scales out while containers are busy, up to the limit, then queues', async () => {
    // Act: three concurrent 300 ms invocations on a limit of two containers.
    const started = Date.now();
    const results = await Promise.all([1, 2, 3].map(() => host.invoke('slow', { ms: 300 })));
    const took = Date.now() - started;

    // Assess: two ran side by side, the third waited for one of them.
    expect(results.every((r) => r.ok)).toBe(true);
    expect(host.containerCount('slow')).toBe(2);
    expect(took).toBeGreaterThanOrEqual(600);
  });

  it("returns an invocation's lines whole and in order, however they were written, before its result", async () => {
    // Act: one line in two writes, two lines in one, bytes on stderr, a last line without its newline.
    const first = await host.invoke('chatty', {});
    const second = await host.invoke('chatty', {});

    // Assess: each invocation has exactly its own lines.
    const expected = ['first half, second half', 'next line', 'from stderr', 'no newline at the end'];
    expect(payloadOf(first)).toEqual({ wrote: 4 });
    expect(first.logs).toEqual(expected);
    expect(second.logs).toEqual(expected);
    expect(lines).toContain('[chatty] first half, second half');
  });

  it('hands EMF lines to the metric store and keeps them off the console', async () => {
    await host.invoke('emf', { model: 'air', latency: [12, 30] });

    expect(
      metrics
        .query({ namespace: 'Driftline', metricName: 'PredictLatency', dimensions: { model: 'air' } })
        .map((d) => d.value),
    ).toEqual([12, 30]);
    expect(lines).toContain('[emf] INFO scored {"model":"air"}');
    expect(lines.some((line) => line.includes('_aws'))).toBe(false);
  });

  it('settles once every asynchronous invocation has run to its end', async () => {
    // Act: two Event invocations, one of them sleeping 300 ms; nothing is polled for
    host.invokeAsync('emf', { model: 'settled', latency: [7] });
    const slow = host.invokeAsync('slow', { ms: 300 });
    await host.settled();
    // Assess: both finished: the EMF datapoint is stored, the sleeper's REPORT line written
    expect(
      metrics
        .query({ namespace: 'Driftline', metricName: 'PredictLatency', dimensions: { model: 'settled' } })
        .map((d) => d.value),
    ).toEqual([7]);
    expect(lines.some((line) => line.startsWith(`[slow] REPORT RequestId: ${slow} `))).toBe(true);
  });

  it('bounds a container by its MemorySize over off-heap memory too, and reports the peak as Max Memory Used', async () => {
    // Act: 16 MB of typed arrays fits in 64 MB; 64 MB more (held, as a module-scope cache) does not, though
    // the V8 heap stays small: typed-array memory lives outside it.
    const within = await host.invoke('hog', { mb: 16 });
    const over = await host.invoke('hog', { mb: 64 });
    const after = await host.invoke('hog', { mb: 1 });

    // Assess
    expect(within.ok).toBe(true);
    expect(within.maxMemoryUsedMb).toBeGreaterThanOrEqual(16);
    expect(within.maxMemoryUsedMb).toBeLessThanOrEqual(64);
    expect(lines).toContainEqual(
      `[hog] REPORT RequestId: ${within.requestId} Duration: ${within.durationMs} ms Memory Size: 64 MB Max Memory Used: ${within.maxMemoryUsedMb} MB Init Duration: ${within.initDurationMs} ms`,
    );
    expect(over).toMatchObject({ ok: false, error: { errorType: 'Runtime.OutOfMemory' } });
    const { error } = over as Extract<InvokeResult, { ok: false }>;
    expect(error.errorMessage).toMatch(
      new RegExp(
        `^RequestId: ${over.requestId} Error: Runtime exited with error: signal: killed \\(Test-hog ran out of memory: \\d+ MB used, MemorySize 64 MB;`,
      ),
    );
    expect(over.maxMemoryUsedMb).toBeGreaterThan(64);
    // The killed container's memory went with it: the next invocation starts a fresh one.
    expect(after).toMatchObject({ ok: true, coldStart: true });
    expect(payloadOf(after)).toMatchObject({ heldMb: 1 });
  });

  it('kills a container over its MemorySize while the handler still runs, before its timeout', async () => {
    // Act: the handler allocates 100 MB, then computes forever (its timeout is 10 s).
    const killed = await host.invoke('spinningHog', { mb: 100, spin: true });

    // Assess
    expect(killed).toMatchObject({
      ok: false,
      error: { errorType: 'Runtime.OutOfMemory', errorMessage: expect.stringContaining('MemorySize 64 MB') },
    });
    expect(killed.durationMs).toBeLessThan(10_000);
  });

  it('names the runtime errors of a missing handler export, an unknown function and an oversized request', async () => {
    const missing = await host.invoke('missing', {});

    expect(missing).toMatchObject({ ok: false, error: { errorType: 'Runtime.HandlerNotFound' } });
    // A failed init discards the container: Lambda initializes a fresh one for the next invocation.
    expect(host.containerCount('missing')).toBe(0);
    await expect(host.invoke('nope', {})).rejects.toThrow(FunctionNotFoundError);
    await expect(host.invoke('counterA', { blob: 'x'.repeat(6 * 1024 * 1024) })).rejects.toThrow(
      RequestTooLargeError,
    );
  });

  it('fails invocations in flight when it closes, instead of leaving them hanging', async () => {
    const own = new FunctionHost({ functions: [fixture('slow', 'slow', 10)], baseEnvironment: {}, log });
    const inFlight = own.invoke('slow', { ms: 5_000 });
    await sleep(200);

    await own.close();

    expect(await inFlight).toMatchObject({ ok: false, error: { errorType: 'Runtime.Shutdown' } });
  });
});
