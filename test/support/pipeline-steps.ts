/**
 * The pipeline as the state machine runs it, for tests against the emulators: `statemachines/retrain.asl.json`
 * itself on the local runtime's Step Functions interpreter (`local/stepfunctions.ts`), each Task invoking
 * the real handler in process with its input and output through JSON, as Lambda passes them. Single
 * handlers (the API's, or one step on its own) are called through {@link loadSteps}. Handlers read their
 * configuration at import, so `loadSteps()` and `loadPipeline()` must run after the environment points at
 * the emulators.
 */
import { randomUUID } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import {
  PIPELINE_FUNCTION_KEYS,
  type PipelineFunctionKey,
  retrainDefinition,
  substituteFunctionArns,
} from '../../infra/retrain-definition.ts';
import type {
  Admission,
  DriftResult,
  Evaluation,
  Failure,
  Features,
  MergeResult,
  Registration,
  RunInput,
  Selection,
  ShardResult,
  TrialResult,
  Validation,
} from '../../lambdas/shared/contract.ts';
import type { InvokeResult } from '../../local/functions.ts';
import { type ExecutionRecord, StepFunctions, walkStates } from '../../local/stepfunctions.ts';
import { createBucket, createPredictionLogTable, createRegistryTable, registryTables } from './emulators.ts';

/**
 * Creates the bucket and tables the handlers use on the running emulators and sets the environment the
 * handlers read at import (quiet Powertools: errors only, no EMF output).
 */
export async function prepareHandlerEnvironment(names: { bucket: string; table: string; logTable: string }) {
  await createBucket(names.bucket);
  await createRegistryTable(names.table);
  await createPredictionLogTable(names.logTable);
  process.env.DATA_BUCKET = names.bucket;
  process.env.REGISTRY_TABLE = registryTables(names.table).registry;
  process.env.RUNS_TABLE = registryTables(names.table).runs;
  process.env.PREDICTION_LOG_TABLE = names.logTable;
  process.env.RUN_LEASE_SECONDS = '3600';
  process.env.RUN_LEASE_WAIT_SECONDS = '3600';
  process.env.POWERTOOLS_DEV = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
}

/** A handler as its Lambda is invoked: the input in, the output out (the context is the invoker's). */
export type Invoke<F extends (...args: never[]) => Promise<unknown>> = (
  input: Parameters<F>[0],
) => ReturnType<F>;

/** A wrapped (middy) handler called with a Lambda-like context, typed as it is invoked (see {@link Invoke}). */
export function lambda<F extends (event: never) => Promise<unknown>>(module: { handler: unknown }): F {
  const wrapped = module.handler as (event: unknown, context: unknown) => Promise<unknown>;
  return ((event: unknown) =>
    wrapped(event, {
      functionName: 'test',
      awsRequestId: `req-${Math.random()}`,
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:test',
      getRemainingTimeInMillis: () => 60_000,
    })) as unknown as F;
}

export interface Steps {
  admit: Invoke<typeof import('../../lambdas/admit/handler.ts').admit>;
  validate: Invoke<typeof import('../../lambdas/validate/handler.ts').validate>;
  drift: Invoke<typeof import('../../lambdas/drift/handler.ts').drift>;
  merge: Invoke<typeof import('../../lambdas/merge/handler.ts').merge>;
  featurize: Invoke<typeof import('../../lambdas/featurize/handler.ts').featurize>;
  train: Invoke<typeof import('../../lambdas/train/handler.ts').train>;
  select: Invoke<typeof import('../../lambdas/select/handler.ts').select>;
  evaluate: Invoke<typeof import('../../lambdas/evaluate/handler.ts').evaluate>;
  register: Invoke<typeof import('../../lambdas/register/handler.ts').register>;
  recordFailure: Invoke<typeof import('../../lambdas/recordFailure/handler.ts').recordFailure>;
  predict: Invoke<typeof import('../../lambdas/predict/handler.ts').predict>;
  feedback: Invoke<typeof import('../../lambdas/feedback/handler.ts').feedback>;
}

/** Imports every pipeline and API handler (after the environment is set). */
export async function loadSteps(): Promise<Steps> {
  return {
    admit: lambda(await import('../../lambdas/admit/handler.ts')),
    validate: lambda(await import('../../lambdas/validate/handler.ts')),
    drift: lambda(await import('../../lambdas/drift/handler.ts')),
    merge: lambda(await import('../../lambdas/merge/handler.ts')),
    featurize: lambda(await import('../../lambdas/featurize/handler.ts')),
    train: lambda(await import('../../lambdas/train/handler.ts')),
    select: lambda(await import('../../lambdas/select/handler.ts')),
    evaluate: lambda(await import('../../lambdas/evaluate/handler.ts')),
    register: lambda(await import('../../lambdas/register/handler.ts')),
    recordFailure: lambda(await import('../../lambdas/recordFailure/handler.ts')),
    predict: lambda(await import('../../lambdas/predict/handler.ts')),
    feedback: lambda(await import('../../lambdas/feedback/handler.ts')),
  };
}

/**
 * Stores a drop under `key` and returns the EventBridge "Object Created" event S3 sends for it (what
 * starts a run).
 */
export async function uploadDrop(bucket: string, key: string, body: string) {
  const { ETag } = await new S3Client({ forcePathStyle: true }).send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }),
  );
  return {
    source: 'aws.s3' as const,
    'detail-type': 'Object Created',
    detail: { bucket: { name: bucket }, object: { key, size: Buffer.byteLength(body), etag: ETag ?? '' } },
  };
}

/** The event `driftline retrain <model>` starts an execution with: train on what is held back, drift or not. */
/** A drift step that finds no drift in the run's drop alone: a stub handler for `loadPipeline`. */
export async function noDrift(event: unknown): Promise<DriftResult> {
  const { run } = event as RunInput;
  return {
    status: 'no_drift',
    share: 0,
    threshold: 0.5,
    driftedColumns: [],
    summary: 'no drift in 0 of 30 columns',
    columns: [],
    pooled: { drops: [run.drop!.key], rows: run.drop!.rows ?? 0 },
    reportKey: `runs/${run.model}/${run.runId}/drift.json`,
  };
}

export const retrainEvent = (model: string) => ({ source: 'driftline.retrain' as const, detail: { model } });

/** A pipeline function's handler as the harness calls it: the event as Lambda delivers it, and a context. */
export type StepHandler = (event: unknown, context: Context) => Promise<unknown>;

/** Options of {@link loadPipeline}. */
export interface PipelineOptions {
  /**
   * Runs before each invocation of a function with the event it receives; what it throws fails that
   * invocation as the function's error (a `TransientError` the ASL retries, a fault to inject, …).
   */
  beforeInvoke?: (key: PipelineFunctionKey, event: unknown) => void | Promise<void>;
  /** Handlers in place of the real ones (the contract tests' stubs). @default the real handler of each */
  handlers?: Partial<Record<PipelineFunctionKey, StepHandler>>;
}

/** The state after the state machine stopped: each step's result at its `ResultPath` (what ran). */
export interface PipelineState {
  event: unknown;
  admission?: Admission;
  run?: Validation['run'];
  validation?: Validation['validation'];
  drift?: DriftResult;
  merge?: MergeResult;
  features?: Features;
  search?: TrialResult[];
  selection?: Selection;
  shards?: ShardResult[];
  evaluation?: Evaluation;
  registration?: Registration;
  error?: { Error: string; Cause: string };
  failure?: Failure;
}

/** An execution that stopped, with its final state typed (the failed state's, for a `FAILED` one). */
export interface PipelineExecution extends ExecutionRecord {
  state: PipelineState;
}

/** The retraining state machine on the local interpreter, its Tasks bound to the handlers in process. */
export interface LocalPipeline {
  /** Starts an execution named `name` (the run id) with the trigger `input` and waits for it to stop. */
  run(input: unknown, name?: string): Promise<PipelineExecution>;
  /** The functions invoked so far, in order, with the event each received. */
  readonly invocations: { key: PipelineFunctionKey; event: unknown }[];
}

const FUNCTION_ARN_PREFIX = 'arn:aws:lambda:us-east-1:000000000000:function:driftline-';

const HANDLER_MODULES: Record<PipelineFunctionKey, () => Promise<{ handler: unknown }>> = {
  admit: () => import('../../lambdas/admit/handler.ts'),
  validate: () => import('../../lambdas/validate/handler.ts'),
  drift: () => import('../../lambdas/drift/handler.ts'),
  merge: () => import('../../lambdas/merge/handler.ts'),
  featurize: () => import('../../lambdas/featurize/handler.ts'),
  train: () => import('../../lambdas/train/handler.ts'),
  select: () => import('../../lambdas/select/handler.ts'),
  evaluate: () => import('../../lambdas/evaluate/handler.ts'),
  register: () => import('../../lambdas/register/handler.ts'),
  recordFailure: () => import('../../lambdas/recordFailure/handler.ts'),
};

/** The Lambda error payload of what a handler threw: `errorType` is the error's name, as the runtime reports. */
function errorOf(error: unknown): Extract<InvokeResult, { ok: false }>['error'] {
  if (error instanceof Error)
    return { errorType: error.name, errorMessage: error.message, trace: (error.stack ?? '').split('\n') };
  return { errorType: 'Error', errorMessage: String(error), trace: [] };
}

/**
 * Loads `statemachines/retrain.asl.json` with each function placeholder bound to its handler, run in
 * process: the event and the result cross JSON (as Lambda serialises them), a thrown error becomes the
 * Lambda error payload named after the error, so the definition's `Retry` and `Catch` match it as on AWS.
 * Retries and `Wait` states do not wait.
 */
export async function loadPipeline(options: PipelineOptions = {}): Promise<LocalPipeline> {
  const handlers = Object.fromEntries(
    await Promise.all(
      PIPELINE_FUNCTION_KEYS.map(async (key) => [
        key,
        options.handlers?.[key] ?? ((await HANDLER_MODULES[key]()).handler as StepHandler),
      ]),
    ),
  ) as Record<PipelineFunctionKey, StepHandler>;
  const definition = substituteFunctionArns(retrainDefinition(), (key) => `${FUNCTION_ARN_PREFIX}${key}`);
  // Each function's time limit is its Task's TimeoutSeconds (the stack sets the Lambda's timeout to it).
  const timeoutMs = new Map<string, number>();
  for (const { state } of walkStates(definition as unknown as Record<string, unknown>)) {
    if (state.Type !== 'Task') continue;
    const resource = String(state.Resource);
    timeoutMs.set(resource, Math.max(timeoutMs.get(resource) ?? 0, Number(state.TimeoutSeconds) * 1000));
  }
  const invocations: LocalPipeline['invocations'] = [];
  const sfn = new StepFunctions({
    machines: [
      {
        logicalId: 'RetrainPipeline',
        name: 'driftline-retrain',
        arn: 'arn:aws:states:us-east-1:000000000000:stateMachine:driftline-retrain',
        label: 'pipeline',
        definition: definition as unknown as Record<string, unknown>,
      },
    ],
    invoke: async (functionArn, payload) => {
      const key = functionArn.slice(FUNCTION_ARN_PREFIX.length) as PipelineFunctionKey;
      const requestId = randomUUID();
      const event = JSON.parse(JSON.stringify(payload ?? null));
      const deadline = Date.now() + (timeoutMs.get(functionArn) ?? 60_000);
      const context = {
        functionName: `driftline-${key}`,
        awsRequestId: requestId,
        invokedFunctionArn: functionArn,
        getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      } as Context;
      const started = performance.now();
      // In process there is no container to measure: the process's resident memory stands in for it.
      const outcome = {
        requestId,
        functionName: context.functionName,
        coldStart: false,
        logs: [],
        maxMemoryUsedMb: Math.ceil(process.memoryUsage.rss() / 2 ** 20),
      };
      invocations.push({ key, event });
      try {
        await options.beforeInvoke?.(key, event);
        const result = await handlers[key](event, context);
        const durationMs = performance.now() - started;
        return { ...outcome, durationMs, ok: true, payload: JSON.stringify(result ?? null) };
      } catch (error) {
        return { ...outcome, durationMs: performance.now() - started, ok: false, error: errorOf(error) };
      }
    },
    log: { line: () => undefined },
    retryIntervalMs: 0,
    waitStateMs: 0,
  });
  return {
    invocations,
    async run(input, name = randomUUID()) {
      sfn.start(input, { name });
      const execution = await sfn.wait(name, 30 * 60_000);
      const state = (
        execution.status === 'SUCCEEDED' ? execution.output : lastStateOf(execution)
      ) as PipelineState;
      return { ...execution, state };
    },
  };
}

/** The state a stopped execution last held: the input of its last state (the `Fail` state's, for a failure). */
function lastStateOf(execution: ExecutionRecord): unknown {
  const entered = execution.history.filter(
    (event) => event.type === 'StateEntered' && event.index === undefined,
  );
  const last = entered.at(-1);
  return last && 'state' in last ? last.state.input : execution.input;
}
