/**
 * Builds trees on a pool of worker threads (or in this thread). The binned data and the target live in
 * SharedArrayBuffers, so handing a job to a worker copies nothing but its small settings; each worker is
 * given the next tree index as soon as it returns one, which balances uneven trees.
 *
 * Workers outlive a fit: they are leased to one fit at a time and returned idle (unref'd, so they never
 * keep the process alive), which saves their start-up and JIT warm-up on the next fit — a hyperparameter
 * search fits many forests in a row.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type GrownTree, TreeBuilder, type TreeJob } from './tree.ts';
import type { WorkerRequest } from './worker.ts';

/** Where the worker module sits next to this file when running from source. */
export const DEFAULT_WORKER_SCRIPT = new URL('./worker.ts', import.meta.url);

let warnedInThread = false;

/** Says once per process that trees are built in-thread because the worker module is unusable. */
function warnInThread(reason: string): void {
  if (warnedInThread) return;
  warnedInThread = true;
  process.emitWarning(
    `forest: building trees in-thread (${reason}); pass FitOptions.workerScript to use workers`,
    {
      code: 'DRIFTLINE_FOREST_IN_THREAD',
    },
  );
}

/** Whether the worker module can be found (only file locations can be checked; others are tried). */
function workerScriptExists(script: string | URL): boolean {
  if (script instanceof URL) return script.protocol !== 'file:' || existsSync(fileURLToPath(script));
  return existsSync(script.startsWith('file:') ? fileURLToPath(script) : script);
}

function buildInThread(job: TreeJob, treeIndexes: number[]): GrownTree[] {
  const builder = new TreeBuilder(job);
  return treeIndexes.map((treeIndex) => builder.build(treeIndex));
}

type WorkerMessage = { type: 'ready' } | { type: 'tree'; treeIndex: number; tree: GrownTree };

/** Idle workers per worker script. */
const idleWorkers = new Map<string, Worker[]>();

/** Starts a worker and resolves once its module has loaded, or rejects if it cannot start. */
function startWorker(script: string | URL): Promise<Worker> {
  return new Promise((resolve, reject) => {
    let worker: Worker;
    try {
      worker = new Worker(script);
    } catch (error) {
      reject(error);
      return;
    }
    const onError = (error: Error): void => reject(error);
    worker.once('error', onError);
    worker.once('message', (message: WorkerMessage) => {
      worker.off('error', onError);
      if (message.type === 'ready') resolve(worker);
      else reject(new Error(`forest worker sent ${message.type} before it was ready`));
    });
  });
}

/** Leases `count` workers for one fit: idle ones first, new ones for the rest. */
async function leaseWorkers(script: string | URL, count: number): Promise<PromiseSettledResult<Worker>[]> {
  const idle = idleWorkers.get(String(script)) ?? [];
  const reused = idle.splice(0, count);
  const started = await Promise.allSettled(
    Array.from({ length: count - reused.length }, () => startWorker(script)),
  );
  const leased: PromiseSettledResult<Worker>[] = [
    ...reused.map((worker): PromiseFulfilledResult<Worker> => ({ status: 'fulfilled', value: worker })),
    ...started,
  ];
  for (const result of leased) if (result.status === 'fulfilled') result.value.ref();
  return leased;
}

/** Returns healthy workers to the idle pool (up to one per core); ends the others. */
async function releaseWorkers(script: string | URL, workers: Worker[], healthy: boolean): Promise<void> {
  const idle = idleWorkers.get(String(script)) ?? [];
  idleWorkers.set(String(script), idle);
  const ending: Worker[] = [];
  for (const worker of workers) {
    worker.removeAllListeners('message');
    worker.removeAllListeners('error');
    worker.removeAllListeners('exit');
    if (healthy && idle.length < availableParallelism()) {
      worker.postMessage({ type: 'done' } satisfies WorkerRequest);
      worker.unref();
      idle.push(worker);
    } else ending.push(worker);
  }
  await Promise.all(ending.map((worker) => worker.terminate()));
}

/** Sends the job, then tree indexes one at a time to each worker, and collects the trees in index order. */
function dispatch(workers: Worker[], job: TreeJob, treeIndexes: number[]): Promise<GrownTree[]> {
  return new Promise((resolve, reject) => {
    const trees = new Map<number, GrownTree>();
    let nextToSend = 0;
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    const sendNext = (worker: Worker): void => {
      if (nextToSend < treeIndexes.length) {
        worker.postMessage({ type: 'tree', treeIndex: treeIndexes[nextToSend++] } satisfies WorkerRequest);
      }
    };
    for (const worker of workers) {
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`forest worker exited with code ${code}`)));
      worker.on('message', (message: WorkerMessage) => {
        if (message.type !== 'tree' || settled) return;
        trees.set(message.treeIndex, message.tree);
        if (trees.size === treeIndexes.length) {
          settled = true;
          resolve(treeIndexes.map((index) => trees.get(index)!));
        } else sendNext(worker);
      });
      worker.postMessage({ type: 'job', job } satisfies WorkerRequest);
      sendNext(worker);
    }
  });
}

/**
 * Grows the trees `treeIndexes` of a job, on `workerCount` threads when more than one.
 * Falls back to this thread (with a one-time process warning) when the worker module cannot be found or
 * fails to load. The trees are identical either way: each depends only on the job and its index.
 */
export async function growTrees(
  job: TreeJob,
  treeIndexes: number[],
  workerCount: number,
  workerScript: string | URL = DEFAULT_WORKER_SCRIPT,
): Promise<GrownTree[]> {
  const threads = Math.min(workerCount, treeIndexes.length);
  if (threads <= 1) return buildInThread(job, treeIndexes);
  if (!workerScriptExists(workerScript)) {
    warnInThread(`worker module ${String(workerScript)} not found`);
    return buildInThread(job, treeIndexes);
  }
  const leased = await leaseWorkers(workerScript, threads);
  const workers = leased.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failure = leased.find((result) => result.status === 'rejected');
  if (failure !== undefined) {
    await releaseWorkers(workerScript, workers, true);
    warnInThread(`worker module ${String(workerScript)} failed to load: ${String(failure.reason)}`);
    return buildInThread(job, treeIndexes);
  }
  let healthy = false;
  try {
    const trees = await dispatch(workers, job, treeIndexes);
    healthy = true;
    return trees;
  } finally {
    await releaseWorkers(workerScript, workers, healthy);
  }
}
