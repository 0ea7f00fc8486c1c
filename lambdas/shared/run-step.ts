/**
 * The opening and closing every step of a run after `validate` shares, in one place: parse the input
 * against the contract, tag the logs with the run, mark the run's step (the progress `driftline upload`
 * and the report show) and its start, and load the spec the run started with — the snapshot `validate`
 * pinned, never the registry's current spec — onto the handler's context; once the step succeeded, its end.
 */
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import type { ModelSpec } from '#core/spec.ts';
import { type RunContext, stepInput } from './contract.ts';
import { logger, withObservability } from './observability.ts';
import { loadRunSpec, markStep } from './pipeline.ts';
import type { Registry } from './registry.ts';

/** A step's Lambda context, with the spec its run started with (set before the handler runs). */
export interface RunStepContext extends Context {
  spec: ModelSpec;
}

/** The step name of an input: fixed, or by the input (a `train` Lambda searches or fits). */
type StepName<TInput> = string | ((input: TInput) => string);

/**
 * Middy middleware opening a step of a run: logs tagged with the run and the step, the run record marked
 * with the step and its start, and `context.spec` set to the run's spec; after a success, the step's end
 * (both safe to repeat: a retried or duplicated invocation keeps the first start and the latest end).
 */
export function openRunStep<TInput extends { run: RunContext }>(
  registry: Registry,
  step: StepName<TInput>,
): MiddlewareObj<TInput, unknown, Error, RunStepContext> {
  const nameOf = (input: TInput) => (typeof step === 'function' ? step(input) : step);
  return {
    before: async (request) => {
      const { run } = request.event;
      const name = nameOf(request.event);
      logger.appendKeys({ model: run.model, runId: run.runId, step: name });
      const [spec] = await Promise.all([
        loadRunSpec(run),
        markStep(registry, run, name),
        registry.recordStepTime(run, name, 'start', new Date().toISOString()),
      ]);
      request.context.spec = spec;
    },
    after: async (request) => {
      await registry.recordStepTime(
        request.event.run,
        nameOf(request.event),
        'end',
        new Date().toISOString(),
      );
    },
  };
}

/** Options of {@link pipelineStep}. */
export interface PipelineStepOptions<S extends z.ZodType<{ run: RunContext }>> {
  /** The function's name, for a refused input's message. */
  name: string;
  /** The contract's schema of the step's input. */
  input: S;
  registry: Registry;
  /** The step the run is in while this runs (progress). @default name */
  step?: StepName<z.output<S>>;
  /** Whether the handler emits metrics. @default true */
  metrics?: boolean;
}

/**
 * A pipeline step's Lambda handler: observability, the input parsed against the contract, and the run's
 * step opened, before `fn` runs with the parsed input and the run's spec on its context.
 * @example export const handler = pipelineStep({ name: 'merge', input: runInputSchema, registry }, merge);
 */
export function pipelineStep<S extends z.ZodType<{ run: RunContext }>, TResult>(
  options: PipelineStepOptions<S>,
  fn: (input: z.output<S>, context: RunStepContext) => Promise<TResult>,
) {
  return withObservability(fn, { metrics: options.metrics ?? true })
    .use(stepInput(options.name, options.input))
    .use(openRunStep(options.registry, options.step ?? options.name));
}
