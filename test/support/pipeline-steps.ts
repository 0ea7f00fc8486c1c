/**
 * The pipeline's handlers called the way the state machine calls them, for tests that exercise the steps
 * against the emulators without a state machine. Handlers read their configuration at import, so
 * `loadSteps()` must run after the environment points at the emulators.
 */
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
 * What the state machine does first: admit the run (claim the drop, take the model's run lease), then
 * validate. @throws Error when the run is not admitted (a test runs one step at a time, so never waits).
 */
export async function admitAndValidate(steps: Steps, input: Parameters<Steps['validate']>[0]) {
  const admission = await steps.admit(input);
  if (admission.status !== 'admitted')
    throw new Error(`run ${input.runId} was not admitted: ${admission.status}`);
  return steps.validate(input);
}

/** What the state machine does after the drift gate: merge → featurize → search → fit → evaluate → register. */
export async function retrain(steps: Steps, run: Awaited<ReturnType<Steps['validate']>>['run']) {
  const merged = await steps.merge({ run });
  const features = await steps.featurize({ run, merge: merged });
  const trials = await Promise.all(
    features.candidates.map((candidate) =>
      steps.train({ mode: 'candidate', run, features: features.ref, candidate }),
    ),
  );
  const selection = await steps.select({ run, features: features.ref, trials: trials as never });
  const shards = await Promise.all(
    selection.shards.map((shard) => steps.train({ mode: 'shard', run, features: features.ref, shard })),
  );
  const evaluation = await steps.evaluate({
    run,
    merge: merged,
    features: features.ref,
    selection,
    shards: shards as never,
  });
  return steps.register({
    outcome: evaluation.promote ? 'promote' : 'keep',
    run,
    merge: merged,
    evaluation,
    trials: trials as never,
  });
}
