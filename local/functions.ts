/**
 * Lambda functions run like containers: each container is a worker thread with the function's
 * environment and its own module state (a handler's module-scope cache lives as long as its container, as
 * on AWS), one invocation at a time. When all of a function's containers are busy another starts, up to a
 * limit; past it invocations queue. A timed-out invocation kills its container, as Lambda does.
 *
 * Everything a container writes to stdout/stderr arrives as messages ahead of its result and is split into
 * lines: EMF lines go to the metric store, the rest to the console prefixed with the function's name.
 */
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { formatFunctionLine, type LogSink } from './log.ts';
import type { MetricStore } from './metrics.ts';
import type { LocalFunction } from './template.ts';
import type {
  ContainerData,
  InitDoneMessage,
  InvocationOutcome,
  InvokeMessage,
  LogMessage,
  ResultMessage,
} from './worker.ts';

/** The error payload Lambda's Node.js runtime returns for a failed invocation. */
export interface LambdaErrorPayload {
  errorType: string;
  errorMessage: string;
  trace: string[];
}

/** The outcome of one invocation. */
export type InvokeResult = {
  requestId: string;
  functionName: string;
  durationMs: number;
  coldStart: boolean;
  /**
   * A cold start's init phase: from the container's start to its handler module loaded (Lambda's `Init
   * Duration`; `durationMs` is the invocation after it, as on Lambda).
   */
  initDurationMs?: number;
  /** The lines the invocation wrote (what `LogType: Tail` returns). */
  logs: string[];
  /** The container's peak memory during the invocation, in MB (Lambda's `Max Memory Used`). */
  maxMemoryUsedMb: number;
} & ({ ok: true; payload: string } | { ok: false; error: LambdaErrorPayload });

/**
 * A function error as the caller sees it: `name` is the handler's error type, so Step Functions'
 * `Retry`/`Catch` (and callers) match it by name; `payload` is the full Lambda error payload.
 */
export class LambdaFunctionError extends Error {
  readonly payload: LambdaErrorPayload;
  constructor(payload: LambdaErrorPayload) {
    super(payload.errorMessage);
    this.name = payload.errorType;
    this.payload = payload;
  }
}

/** `ResourceNotFoundException`: no function by that name or ARN. */
export class FunctionNotFoundError extends Error {
  override readonly name = 'ResourceNotFoundException';
}

/** `RequestEntityTooLargeException`: a synchronous request payload over 6 MB. */
export class RequestTooLargeError extends Error {
  override readonly name = 'RequestEntityTooLargeException';
}

/**
 * Lambda's init phase limit (10 s): a cold container's module import is not counted against the
 * function's timeout, which starts when the handler does.
 */
export const INIT_TIMEOUT_MS = 10_000;

/** Synchronous invocation request and response limit (6 MB). */
export const SYNC_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024;

/**
 * The parsed payload of a successful invocation.
 * @throws {LambdaFunctionError} named after the handler's error when the invocation failed.
 */
export function payloadOf(result: InvokeResult): unknown {
  if (!result.ok) throw new LambdaFunctionError(result.error);
  return JSON.parse(result.payload);
}

/** Options of {@link FunctionHost}. */
export interface FunctionHostOptions {
  functions: readonly LocalFunction[];
  /** Environment every container gets (region, credentials, endpoints); the function's own comes first. */
  baseEnvironment: Record<string, string>;
  log: LogSink;
  metrics?: MetricStore;
  /** Containers per function before invocations queue. @default 4 */
  maxContainersPerFunction?: number;
  /** A container idle this long is stopped (the next invocation is a cold start). @default 10 minutes */
  idleTimeoutMs?: number;
  /** Recent log lines kept per function. @default 500 */
  recentLogLines?: number;
  /**
   * Where containers keep V8's code cache of the modules they load (`module.enableCompileCache`), so a
   * cold start compiles a bundle once per change rather than once per container. @default no cache
   */
  compileCacheDir?: string;
  /**
   * The container bootstrap each worker thread runs: `local/worker.ts` built to JavaScript
   * (`bundleContainerBootstrap`), so a cold container does not load the TypeScript stripper first.
   * @default local/worker.ts itself
   */
  bootstrap?: string;
}

interface Pending {
  requestId: string;
  logs: string[];
  timeoutMs: number;
  timer?: NodeJS.Timeout;
  /** (Re)starts the deadline: the init limit plus the timeout while cold, then the timeout alone. */
  startTimer(ms: number): void;
  done: (outcome: { result: InvocationOutcome; logs: string[] }) => void;
}

const BOOTSTRAP_SOURCE = new URL('./worker.ts', import.meta.url);

/**
 * How often a busy container's memory is sampled. Lambda's own out-of-memory kill is not instant either;
 * the sample taken before the result is reported catches what an invocation left allocated.
 */
export const MEMORY_SAMPLE_MS = 50;

const MB = 1024 * 1024;

/** What a container holds: V8's heap (resident), V8's own mallocs and off-heap ArrayBuffer/Buffer memory. */
async function containerBytes(worker: Worker): Promise<number | undefined> {
  try {
    const heap = await worker.getHeapStatistics();
    return heap.total_physical_size + heap.malloced_memory + heap.external_memory;
  } catch {
    // The worker ended between the sample's request and its answer.
    return undefined;
  }
}

/** Lambda's out-of-memory payload, naming the function and the MemorySize it went over. */
function outOfMemory(requestId: string, fn: LocalFunction, usedMb?: number): LambdaErrorPayload {
  const used = usedMb === undefined ? 'its V8 heap filled' : `${usedMb} MB used`;
  return {
    errorType: 'Runtime.OutOfMemory',
    errorMessage:
      `RequestId: ${requestId} Error: Runtime exited with error: signal: killed ` +
      `(${fn.name} ran out of memory: ${used}, MemorySize ${fn.memoryMb} MB; raise the function's MemorySize or give it less data)`,
    trace: [],
  };
}

/** One worker thread running one function. */
class Container {
  readonly worker: Worker;
  invocations = 0;
  /** The init phase ended (the handler module is loaded). */
  initialized = false;
  /** When the container was started, and when its init phase ended (`performance.now()`). */
  readonly startedAt = performance.now();
  initEndedAt?: number;
  dead = false;
  busy = false;
  idleTimer?: NodeJS.Timeout;
  /** The peak of the memory samples of the invocation in flight, in bytes. */
  peakBytes = 0;
  private pending?: Pending;
  /** Text written after the last complete line (a line is logged once its newline arrives). */
  private partial = '';
  private readonly onLine: (line: string) => void;
  private readonly fn: LocalFunction;
  private memoryTimer?: NodeJS.Timeout;
  private sampling = false;

  constructor(
    fn: LocalFunction,
    env: Record<string, string>,
    onLine: (line: string) => void,
    options: { compileCacheDir?: string; bootstrap?: string },
  ) {
    const { compileCacheDir, bootstrap } = options;
    this.fn = fn;
    this.onLine = onLine;
    const data: ContainerData = {
      entry: fn.code ?? fn.entry,
      handler: fn.handler,
      ...(compileCacheDir === undefined ? {} : { compileCacheDir }),
      functionName: fn.name,
      functionArn: fn.arn,
      memoryMb: fn.memoryMb,
      logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    };
    // The container's stdout and stderr come as LogMessages (see local/worker.ts); the streams are piped
    // here only so nothing written around that path reaches the terminal unattributed.
    this.worker = new Worker(bootstrap ?? BOOTSTRAP_SOURCE, {
      workerData: data,
      env,
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: fn.memoryMb },
    });
    for (const stream of [this.worker.stdout, this.worker.stderr]) {
      stream.setEncoding('utf8').on('data', (text: string) => this.write(text));
    }
    this.worker.on('message', (message: ResultMessage | InitDoneMessage | LogMessage) => {
      if ('log' in message) {
        this.write(message.log);
        return;
      }
      const pending = this.pending;
      if (pending?.requestId !== message.requestId) return;
      if ('initDone' in message) {
        this.initialized = true;
        this.initEndedAt = performance.now();
        pending.startTimer(pending.timeoutMs);
        return;
      }
      // Memory the invocation left allocated counts even if no periodic sample saw it.
      if (!this.withinMemory(message.memoryBytes)) return;
      const { memoryBytes: _, ...result } = message;
      this.settle(result);
    });
    this.worker.on('error', (error) => void this.die(crashPayload(error, fn, this.pending?.requestId)));
    this.worker.on('exit', (code) => {
      const requestId = this.pending?.requestId ?? '';
      void this.die({
        errorType: 'Runtime.ExitError',
        errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: exit status ${code}`,
        trace: [],
      });
    });
  }

  /** Runs one invocation; resolves once the result and every log line it wrote have arrived. */
  invoke(
    requestId: string,
    payload: string,
    timeoutMs: number,
  ): Promise<{ result: InvocationOutcome; logs: string[] }> {
    this.invocations += 1;
    return new Promise((resolve) => {
      const pending: Pending = {
        requestId,
        logs: [],
        timeoutMs,
        startTimer: (ms) => {
          clearTimeout(pending.timer);
          pending.timer = setTimeout(() => {
            void this.die({
              errorType: 'Sandbox.Timedout',
              errorMessage: `RequestId: ${requestId} Error: Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
              trace: [],
            });
          }, ms);
        },
        done: resolve,
      };
      // A suppressed init (past the 10 s limit) goes on inside the invocation, under the function's timeout.
      pending.startTimer(this.initialized ? timeoutMs : INIT_TIMEOUT_MS + timeoutMs);
      this.pending = pending;
      this.peakBytes = 0;
      this.memoryTimer = setInterval(() => {
        if (!this.sampling) void this.sampleMemory();
      }, MEMORY_SAMPLE_MS);
      const message: InvokeMessage = { requestId, payload, timeoutMs };
      this.worker.postMessage(message);
    });
  }

  /**
   * Samples the container's memory into {@link peakBytes}; kills the container with `Runtime.OutOfMemory`
   * when it is over its MemorySize.
   * @returns whether the container is within its memory.
   */
  private async sampleMemory(): Promise<boolean> {
    this.sampling = true;
    const bytes = await containerBytes(this.worker);
    this.sampling = false;
    if (bytes === undefined || this.dead) return !this.dead;
    return this.withinMemory(bytes);
  }

  /** Records a memory sample; kills the container with `Runtime.OutOfMemory` when it is over its MemorySize. */
  private withinMemory(bytes: number): boolean {
    this.peakBytes = Math.max(this.peakBytes, bytes);
    if (bytes <= this.fn.memoryMb * MB) return true;
    void this.die(outOfMemory(this.pending?.requestId ?? '', this.fn, Math.ceil(bytes / MB)));
    return false;
  }

  /** Splits what the container wrote into lines: each is the invocation's (if one runs) and the function's. */
  private write(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  private line(text: string): void {
    this.pending?.logs.push(text);
    this.onLine(text);
  }

  private settle(result: InvocationOutcome): void {
    const pending = this.pending;
    if (!pending) return;
    // A last line without its newline still belongs to the invocation that wrote it.
    if (this.partial !== '') {
      this.line(this.partial);
      this.partial = '';
    }
    clearTimeout(pending.timer);
    clearInterval(this.memoryTimer);
    this.pending = undefined;
    pending.done({ result, logs: pending.logs });
    if (!result.ok && result.fatal) void this.die(result.error);
  }

  /** Marks the container dead (crash, exit, timeout, shutdown) and fails the invocation in flight with `error`. */
  async die(error: LambdaErrorPayload): Promise<void> {
    if (this.dead) return;
    this.dead = true;
    clearTimeout(this.idleTimer);
    clearInterval(this.memoryTimer);
    const requestId = this.pending?.requestId;
    if (requestId !== undefined) this.settle({ requestId, ok: false, error });
    await this.worker.terminate();
  }
}

function crashPayload(error: unknown, fn: LocalFunction, requestId = ''): LambdaErrorPayload {
  const { name, message, stack, code } = error as Error & { code?: string };
  if (code === 'ERR_WORKER_OUT_OF_MEMORY') return outOfMemory(requestId, fn);
  return {
    errorType: name || 'Runtime.ExitError',
    errorMessage: message ?? String(error),
    trace: (stack ?? '').split('\n'),
  };
}

/** The containers of one function and the invocations waiting for one. */
class FunctionPool {
  readonly fn: LocalFunction;
  readonly containers: Container[] = [];
  readonly waiting: { resolve: (container: Container) => void; reject: (error: Error) => void }[] = [];
  readonly recent: string[] = [];

  constructor(fn: LocalFunction) {
    this.fn = fn;
  }
}

/**
 * Runs the template's functions in worker-thread containers.
 * @example
 * const host = new FunctionHost({ functions: stack.functions, baseEnvironment, log });
 * payloadOf(await host.invoke('predict', { body: '...' }));
 */
export class FunctionHost {
  private readonly pools: Map<string, FunctionPool>;
  private readonly options: FunctionHostOptions;
  private readonly maxContainers: number;
  private readonly idleTimeoutMs: number;
  private readonly background = new Set<Promise<unknown>>();
  private closed = false;

  constructor(options: FunctionHostOptions) {
    this.options = options;
    this.maxContainers = options.maxContainersPerFunction ?? 4;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 10 * 60_000;
    if (!(this.maxContainers >= 1)) {
      throw new RangeError(`maxContainersPerFunction must be at least 1, got ${this.maxContainers}`);
    }
    this.pools = new Map(options.functions.map((fn) => [fn.name, new FunctionPool(fn)]));
  }

  /** The functions, as read from the template. */
  get functions(): LocalFunction[] {
    return [...this.pools.values()].map((pool) => pool.fn);
  }

  /**
   * The function named by physical name, ARN (with or without a qualifier), `driftline:name` or logical id.
   */
  find(nameOrArn: string): LocalFunction | undefined {
    return this.pool(nameOrArn)?.fn;
  }

  /** How many containers a function has running (warm or busy). */
  containerCount(nameOrArn: string): number {
    return this.pool(nameOrArn)?.containers.length ?? 0;
  }

  /** The last lines a function logged, oldest first. */
  recentLogs(nameOrArn: string): string[] {
    return [...(this.pool(nameOrArn)?.recent ?? [])];
  }

  /**
   * Invokes a function synchronously (RequestResponse) with a JSON-serializable event.
   * @throws {FunctionNotFoundError} for an unknown function; {RequestTooLargeError} over 6 MB.
   */
  async invoke(nameOrArn: string, event: unknown): Promise<InvokeResult> {
    return this.invokeJson(nameOrArn, JSON.stringify(event === undefined ? null : event));
  }

  /** Like {@link invoke}, with the payload as JSON text (as the Invoke API receives it). */
  async invokeJson(
    nameOrArn: string,
    payload: string,
    requestId: string = randomUUID(),
  ): Promise<InvokeResult> {
    const pool = this.pool(nameOrArn);
    if (!pool) throw new FunctionNotFoundError(`Function not found: ${nameOrArn}`);
    if (Buffer.byteLength(payload) > SYNC_PAYLOAD_LIMIT_BYTES) {
      throw new RequestTooLargeError(
        `Request must be smaller than ${SYNC_PAYLOAD_LIMIT_BYTES} bytes for the Invoke operation`,
      );
    }
    const container = await this.acquire(pool);
    const coldStart = container.invocations === 0;
    const started = performance.now();
    const { result, logs } = await container.invoke(requestId, payload, pool.fn.timeoutSeconds * 1000);
    const ended = performance.now();
    const { initEndedAt } = container;
    // Lambda reports a cold start's init apart from the invocation that waited for it.
    const initDurationMs =
      coldStart && initEndedAt !== undefined ? Math.round(initEndedAt - container.startedAt) : undefined;
    const durationMs = Math.round(ended - Math.max(started, coldStart ? (initEndedAt ?? started) : started));
    const maxMemoryUsedMb = Math.ceil(container.peakBytes / MB);
    this.release(pool, container);
    this.onLine(
      pool,
      `REPORT RequestId: ${requestId} Duration: ${durationMs} ms Memory Size: ${pool.fn.memoryMb} MB Max Memory Used: ${maxMemoryUsedMb} MB${
        initDurationMs === undefined ? '' : ` Init Duration: ${initDurationMs} ms`
      }`,
    );
    const base = {
      requestId,
      functionName: pool.fn.name,
      durationMs,
      coldStart,
      ...(initDurationMs === undefined ? {} : { initDurationMs }),
      logs,
      maxMemoryUsedMb,
    };
    if (!result.ok) return { ...base, ok: false, error: result.error };
    if (Buffer.byteLength(result.payload) > SYNC_PAYLOAD_LIMIT_BYTES) {
      const error = {
        errorType: 'Function.ResponseSizeTooLarge',
        errorMessage: `Response payload size exceeded maximum allowed payload size (${SYNC_PAYLOAD_LIMIT_BYTES} bytes).`,
        trace: [],
      };
      return { ...base, ok: false, error };
    }
    return { ...base, ok: true, payload: result.payload };
  }

  /**
   * Invokes a function asynchronously (`Event`): returns at once; a failure is logged, not thrown.
   * @returns the request id.
   * @throws {FunctionNotFoundError} for an unknown function.
   */
  invokeAsync(nameOrArn: string, event: unknown): string {
    const pool = this.pool(nameOrArn);
    if (!pool) throw new FunctionNotFoundError(`Function not found: ${nameOrArn}`);
    const requestId = randomUUID();
    const run = this.invokeJson(pool.fn.name, JSON.stringify(event === undefined ? null : event), requestId)
      .then((result) => {
        if (!result.ok) {
          this.options.log.line(
            pool.fn.shortName,
            `async invocation failed: ${result.error.errorType}: ${result.error.errorMessage}`,
          );
        }
      })
      .catch((error: Error) =>
        this.options.log.line(pool.fn.shortName, `async invocation failed: ${error.message}`),
      )
      .finally(() => this.background.delete(run));
    this.background.add(run);
    return requestId;
  }

  /**
   * Resolves once every asynchronous invocation has finished, those started meanwhile included (an alarm's
   * rollback that publishes to a topic whose subscriber is a function): what a schedule, a rule or a
   * topic set off has then run, so a caller awaits it instead of polling against a deadline.
   */
  async settled(): Promise<void> {
    while (this.background.size > 0) await Promise.all([...this.background]);
  }

  /** Stops every container; invocations in flight or waiting for a container fail. */
  async close(): Promise<void> {
    this.closed = true;
    const shutdown = { errorType: 'Runtime.Shutdown', errorMessage: 'the local runtime stopped', trace: [] };
    const terminations: Promise<void>[] = [];
    for (const pool of this.pools.values()) {
      for (const waiter of pool.waiting.splice(0)) waiter.reject(new Error(shutdown.errorMessage));
      for (const container of pool.containers.splice(0)) terminations.push(container.die(shutdown));
    }
    await Promise.all(terminations);
  }

  private pool(nameOrArn: string): FunctionPool | undefined {
    const direct = this.pools.get(nameOrArn);
    if (direct) return direct;
    const name = /^arn:aws[\w-]*:lambda:[^:]*:\d*:function:([^:]+)/.exec(nameOrArn)?.[1] ?? nameOrArn;
    return [...this.pools.values()].find(
      ({ fn }) => fn.name === name || fn.shortName === name || fn.logicalId === name,
    );
  }

  private acquire(pool: FunctionPool): Promise<Container> {
    if (this.closed) return Promise.reject(new Error('the function host is closed'));
    // A container that crashed between invocations no longer counts against the limit.
    for (let i = pool.containers.length - 1; i >= 0; i--) {
      if (pool.containers[i].dead && !pool.containers[i].busy) pool.containers.splice(i, 1);
    }
    const idle = pool.containers.find((c) => !c.dead && !c.busy);
    if (idle) {
      clearTimeout(idle.idleTimer);
      idle.busy = true;
      return Promise.resolve(idle);
    }
    if (pool.containers.length < this.maxContainers) {
      const container = this.start(pool);
      container.busy = true;
      return Promise.resolve(container);
    }
    return new Promise((resolve, reject) => pool.waiting.push({ resolve, reject }));
  }

  private release(pool: FunctionPool, container: Container): void {
    container.busy = false;
    if (container.dead) {
      pool.containers.splice(pool.containers.indexOf(container), 1);
      const next = pool.waiting.shift();
      if (next && !this.closed) {
        const fresh = this.start(pool);
        fresh.busy = true;
        next.resolve(fresh);
      }
      return;
    }
    const next = pool.waiting.shift();
    if (next) {
      container.busy = true;
      next.resolve(container);
      return;
    }
    container.idleTimer = setTimeout(() => {
      void container.die({ errorType: 'Runtime.Shutdown', errorMessage: 'idle', trace: [] });
      pool.containers.splice(pool.containers.indexOf(container), 1);
    }, this.idleTimeoutMs).unref();
  }

  private start(pool: FunctionPool): Container {
    const { fn } = pool;
    const streamId = `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${randomUUID().replaceAll('-', '')}`;
    const env: Record<string, string> = {
      ...(process.env.PATH === undefined ? {} : { PATH: process.env.PATH }),
      ...fn.environment,
      ...this.options.baseEnvironment,
      AWS_LAMBDA_FUNCTION_NAME: fn.name,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: streamId,
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      LAMBDA_TASK_ROOT: dirname(fn.code ?? fn.entry),
      _HANDLER: `index.${fn.handler}`,
    };
    const container = new Container(fn, env, (line) => this.onLine(pool, line), this.options);
    pool.containers.push(container);
    return container;
  }

  private onLine(pool: FunctionPool, line: string): void {
    pool.recent.push(line);
    if (pool.recent.length > (this.options.recentLogLines ?? 500)) pool.recent.shift();
    try {
      if (this.options.metrics?.putLogLine(line, pool.fn.shortName)) return;
    } catch (error) {
      this.options.log.line(pool.fn.shortName, `malformed EMF line: ${(error as Error).message}`);
    }
    this.options.log.line(pool.fn.shortName, formatFunctionLine(line));
  }
}
