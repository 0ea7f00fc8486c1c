/**
 * Worker thread entry of the fast engine. A worker lives in a pool across fits: it receives a job (the
 * shared binned data and settings), then builds the trees it is asked for, one message per tree, and
 * hands each back with its buffers transferred.
 */
import { parentPort } from 'node:worker_threads';
import { TreeBuilder, type TreeJob } from './tree.ts';

/** Messages a worker accepts: a new job, a tree of the current job, or the end of the job. */
export type WorkerRequest =
  | { type: 'job'; job: TreeJob }
  | { type: 'tree'; treeIndex: number }
  | { type: 'done' };

const port = parentPort;
if (port === null) throw new Error('forest worker must run in a worker thread');
let builder: TreeBuilder | undefined;
port.on('message', (request: WorkerRequest) => {
  if (request.type === 'job') {
    builder = new TreeBuilder(request.job);
    return;
  }
  if (request.type === 'done') {
    // Let the finished job's shared data be collected while the worker waits idle in the pool.
    builder = undefined;
    return;
  }
  if (builder === undefined) throw new Error('forest worker was asked for a tree before a job');
  const tree = builder.build(request.treeIndex);
  port.postMessage({ type: 'tree', treeIndex: request.treeIndex, tree }, [
    tree.feature.buffer,
    tree.splitBin.buffer,
    tree.next.buffer,
    tree.leafValues.buffer,
    tree.importances.buffer,
  ]);
});
port.postMessage({ type: 'ready' });
