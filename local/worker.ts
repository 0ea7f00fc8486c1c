/**
 * The bootstrap of one local "container": runs inside a worker thread, imports the handler module once
 * (its module scope lives as long as the container, like a warm Lambda sandbox) and runs one invocation
 * at a time on request from the function host.
 *
 * What the container writes to stdout and stderr goes to the host as messages on the same port as the
 * results, so every line an invocation wrote arrives before its result (in order, with no end markers and
 * no stdio-stream round trip per chunk), and a line written before a hang or a crash arrives at once.
 */

import { enableCompileCache, flushCompileCache } from 'node:module';
import { pathToFileURL } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';

/** What the host passes when it starts the container. */
export interface ContainerData {
  /** The module to load: the function's bundle, or its source. */
  entry: string;
  /** Folder for V8's code cache of what the container loads; none when absent. */
  compileCacheDir?: string;
  handler: string;
  functionName: string;
  functionArn: string;
  memoryMb: number;
  logGroupName: string;
  logStreamName: string;
}

/** One invocation request. */
export interface InvokeMessage {
  requestId: string;
  /** The event as JSON text (Lambda hands handlers a fresh parse of the payload). */
  payload: string;
  /** The function's timeout: it runs from when the handler starts, after the init phase (as on Lambda). */
  timeoutMs: number;
}

/** Sent once, when the init phase (the handler module's import) ended and the first invocation starts. */
export interface InitDoneMessage {
  requestId: string;
  initDone: true;
}

/** Text the container wrote to stdout or stderr (any part of a line, or several lines). */
export interface LogMessage {
  log: string;
}

/**
 * How an invocation ended: the result as JSON text, or a Lambda error payload; `fatal` when the init failed
 * (Lambda starts a fresh sandbox for the next invocation).
 */
export type InvocationOutcome =
  | { requestId: string; ok: true; payload: string }
  | {
      requestId: string;
      ok: false;
      error: { errorType: string; errorMessage: string; trace: string[] };
      fatal?: boolean;
    };

/**
 * The container's answer: the outcome, and what the container held when the invocation ended (measured
 * here, so the host needs no second round trip to check it against the MemorySize).
 */
export type ResultMessage = InvocationOutcome & { memoryBytes: number };

const port = parentPort;
if (!port) throw new Error('local/worker.ts runs only as a worker thread of the function host');

// Before anything can log: Powertools' logger, console and the runtime's own lines all write through these.
for (const stream of [process.stdout, process.stderr]) {
  stream.write = ((
    chunk: string | Uint8Array,
    encoding?: BufferEncoding | ((error?: Error | null) => void),
    callback?: (error?: Error | null) => void,
  ) => {
    const text =
      typeof chunk !== 'string'
        ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString()
        : typeof encoding === 'string' && !/^utf-?8$/i.test(encoding)
          ? Buffer.from(chunk, encoding).toString()
          : chunk;
    port.postMessage({ log: text } satisfies LogMessage);
    const done = typeof encoding === 'function' ? encoding : callback;
    if (done) process.nextTick(done, null);
    return true;
  }) as typeof stream.write;
}

/** What the container holds, as the host measures it: V8's heap (resident), its mallocs and off-heap memory. */
function memoryBytes(): number {
  const heap = getHeapStatistics();
  return heap.total_physical_size + heap.malloced_memory + heap.external_memory;
}

type Handler = (
  event: unknown,
  context: unknown,
  callback?: (error: unknown, result?: unknown) => void,
) => unknown;

const data = workerData as ContainerData;

/** The Node.js runtime's error payload: `errorType` is the error's `name`, `trace` its stack lines. */
function errorPayload(error: unknown, fallbackType = 'Error') {
  if (error instanceof Error) {
    return {
      errorType: error.name || fallbackType,
      errorMessage: error.message,
      trace: (error.stack ?? '').split('\n'),
    };
  }
  return { errorType: fallbackType, errorMessage: String(error), trace: [] };
}

class RuntimeError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

async function loadHandler(): Promise<Handler> {
  if (data.compileCacheDir !== undefined) enableCompileCache(data.compileCacheDir);
  let module: Record<string, unknown>;
  try {
    module = await import(pathToFileURL(data.entry).href);
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') {
      throw new RuntimeError('Runtime.ImportModuleError', `Error: ${(error as Error).message}`);
    }
    throw error;
  }
  // Written now rather than at thread exit, which a terminated container never reaches.
  if (data.compileCacheDir !== undefined) flushCompileCache();
  const handler = module[data.handler];
  if (typeof handler !== 'function') {
    throw new RuntimeError(
      'Runtime.HandlerNotFound',
      `${data.entry}.${data.handler} is undefined or not exported`,
    );
  }
  return handler as Handler;
}

// Started at once, like Lambda's init phase; the first invocation waits for it.
const handlerPromise = loadHandler();
handlerPromise.catch(() => undefined);

function contextFor(message: InvokeMessage) {
  const deadline = Date.now() + message.timeoutMs;
  return {
    functionName: data.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: data.functionArn,
    memoryLimitInMB: String(data.memoryMb),
    awsRequestId: message.requestId,
    logGroupName: data.logGroupName,
    logStreamName: data.logStreamName,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

/** Runs the handler as Lambda's Node.js runtime does: a returned promise, or the callback for 3-arg handlers. */
async function run(handler: Handler, event: unknown, context: unknown): Promise<unknown> {
  if (handler.length < 3) return handler(event, context);
  return new Promise((resolve, reject) => {
    const returned = handler(event, context, (error, result) => (error ? reject(error) : resolve(result)));
    if (returned && typeof (returned as Promise<unknown>).then === 'function') {
      (returned as Promise<unknown>).then(resolve, reject);
    }
  });
}

let initialized = false;

async function invoke(message: InvokeMessage): Promise<InvocationOutcome> {
  let handler: Handler;
  try {
    handler = await handlerPromise;
  } catch (error) {
    const payload = errorPayload(error);
    console.error(`ERROR Init Error ${JSON.stringify(payload)}`);
    return { requestId: message.requestId, ok: false, error: payload, fatal: true };
  }
  if (!initialized) {
    initialized = true;
    port?.postMessage({ requestId: message.requestId, initDone: true } satisfies InitDoneMessage);
  }
  try {
    const result = await run(handler, JSON.parse(message.payload), contextFor(message));
    let payload: string;
    try {
      payload = JSON.stringify(result === undefined ? null : result);
    } catch (error) {
      throw new RuntimeError(
        'Runtime.MarshalError',
        `Unable to stringify response body: ${(error as Error).message}`,
      );
    }
    return { requestId: message.requestId, ok: true, payload };
  } catch (error) {
    const payload = errorPayload(error);
    console.error(`ERROR Invoke Error ${JSON.stringify(payload)}`);
    return { requestId: message.requestId, ok: false, error: payload };
  }
}

port.on('message', async (message: InvokeMessage) => {
  const outcome = await invoke(message);
  port.postMessage({ ...outcome, memoryBytes: memoryBytes() } satisfies ResultMessage);
});
