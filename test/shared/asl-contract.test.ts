/**
 * The pipeline contract against the state machine's data flow: `statemachines/retrain.asl.json` on the
 * local interpreter with stub handlers, each of which parses what the ASL hands it with its step's input
 * schema (as the real handler's middleware does) and returns a result that its step's output schema
 * accepts. Every branch of the definition runs in milliseconds, so a `Parameters`, `ResultPath` or
 * `ItemSelector` that no longer feeds a step what its schema asks for fails here, whether or not a test
 * with the real handlers takes that branch.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { PipelineFunctionKey } from '../../infra/retrain-definition.ts';
import {
  type Admission,
  admissionSchema,
  admitInputSchema,
  type DriftResult,
  driftResultSchema,
  evaluateInputSchema,
  evaluationSchema,
  type FeaturesRef,
  failureSchema,
  featuresSchema,
  featurizeInputSchema,
  mergeResultSchema,
  parseStepInput,
  recordFailureInputSchema,
  registerInputSchema,
  registrationSchema,
  runInputSchema,
  selectInputSchema,
  selectionSchema,
  shardResultSchema,
  trainInputSchema,
  trialResultSchema,
  validateInputSchema,
  validationSchema,
} from '../../lambdas/shared/contract.ts';
import { InvalidDataError } from '../../lambdas/shared/errors.ts';
import { type LocalPipeline, loadPipeline, type StepHandler } from '../support/pipeline-steps.ts';

/** How a scenario's stubs answer. */
interface Scenario {
  trigger: 'first_model' | 'drop' | 'schedule';
  /** Validate finds nothing new to train on (a retrain): why. */
  upToDate?: string;
  /** The admissions `admit` answers in turn (the last one repeats). @default admitted */
  admissions?: Admission['status'][];
  drift?: DriftResult['status'];
  promote?: boolean;
  /** A step whose stub throws this error instead of answering. */
  fail?: { key: PipelineFunctionKey; error: Error };
  /** A step whose stub answers something its output schema refuses (a step from another version). */
  malformed?: PipelineFunctionKey;
}

/** The scenario the stubs answer for, and how many times `admit` answered in it. */
let scenario: Scenario;
let admitted = 0;

const params = { nTrees: 20, maxFeatures: 0.5 };
const features: FeaturesRef = {
  prefix: 'runs/m/exec/features/',
  variants: ['log'],
  metric: 'mape',
  direction: 'lower',
  rows: { train: 100, holdout: 24 },
  engine: 'fast',
  seed: 42,
};
const trial = (id: string) => ({
  id,
  variant: 'log',
  params,
  origin: 'spec',
  score: 5,
  metrics: { mape: 5 },
  seconds: 1,
});
const shardPlan = (index: number) => ({
  index,
  variant: 'log',
  params,
  seed: 42,
  treeStart: index * 10,
  treeCount: 10,
});

/**
 * The stub of each function: its input parsed with its step's schema, its answer checked with its
 * output schema (both as the contract defines them).
 */
function stubs(): Record<PipelineFunctionKey, StepHandler> {
  const step =
    <I extends z.ZodType, O extends z.ZodType>(
      key: PipelineFunctionKey,
      input: I,
      output: O,
      answer: (event: z.output<I>) => z.input<O>,
    ): StepHandler =>
    async (event) => {
      const parsed = parseStepInput(key, input, event);
      if (scenario.fail?.key === key) throw scenario.fail.error;
      if (scenario.malformed === key) return { unexpected: true };
      return output.parse(answer(parsed));
    };
  return {
    admit: step('admit', admitInputSchema, admissionSchema, () => {
      const statuses = scenario.admissions ?? ['admitted'];
      const status = statuses[Math.min(admitted++, statuses.length - 1)];
      if (status === 'waiting') return { status, model: 'm', holder: 'other-run' };
      if (status === 'duplicate') return { status, model: 'm', runId: 'first-run' };
      return { status, model: 'm' };
    }),
    validate: step('validate', validateInputSchema, validationSchema, ({ runId, startedAt }) => ({
      run: {
        model: 'm',
        runId,
        startedAt,
        bucket: 'data',
        trigger: scenario.trigger,
        ...(scenario.trigger !== 'schedule' && {
          drop: { bucket: 'data', key: 'incoming/m/d.csv', etag: 'e', size: 10, rows: 10 },
        }),
        spec: { key: `runs/m/${runId}/spec.json`, sha256: 'a'.repeat(64) },
      },
      validation: { rows: 10, warnings: [], ...(scenario.upToDate && { upToDate: scenario.upToDate }) },
    })),
    drift: step('drift', runInputSchema, driftResultSchema, () => ({
      status: scenario.drift ?? 'drift',
      share: 0.5,
      threshold: 0.5,
      driftedColumns: ['value'],
      summary: 'drift in 1 of 1 columns',
      columns: [],
      pooled: { drops: ['incoming/m/d.csv'], rows: 10 },
      reportKey: 'runs/m/exec/drift.json',
    })),
    merge: step('merge', runInputSchema, mergeResultSchema, () => ({
      datasetKey: 'datasets/m/exec.table',
      sha256: 'b'.repeat(64),
      rows: 124,
      drops: { key: 'runs/m/exec/drops.json', count: 1 },
      heldThrough: 0,
      inputs: 2,
      overlapping: 0,
      duplicatesRemoved: 0,
      history: { window: { months: 1200 }, rowsMerged: 124, outOfWindow: 0, totalDrops: 2 },
    })),
    featurize: step('featurize', featurizeInputSchema, featuresSchema, () => ({
      ref: features,
      candidates: ['c0', 'c1', 'c2'].map((id) => ({ id, variant: 'log', params, origin: 'spec' })),
    })),
    train: step('train', trainInputSchema, trialResultSchema.or(shardResultSchema), (input) =>
      input.mode === 'candidate'
        ? trial(input.candidate.id)
        : { index: input.shard.index, key: `runs/m/exec/shard-${input.shard.index}`, trees: 10, seconds: 1 },
    ),
    select: step('select', selectInputSchema, selectionSchema, (input) => ({
      best: input.trials[0],
      shards: [shardPlan(0), shardPlan(1)],
      trialsKey: 'runs/m/exec/trials.json',
    })),
    evaluate: step('evaluate', evaluateInputSchema, evaluationSchema, (input) => ({
      promote: scenario.promote ?? true,
      reason: 'beats the champion',
      metric: 'mape' as const,
      candidate: {
        metrics: { mape: 5 },
        params,
        engine: 'fast' as const,
        seed: 42,
        artifact: { key: 'models/m/exec.model', sha256: 'c'.repeat(64), bytes: 100 },
        featurizer: {},
        refitRows: input.merge.rows,
      },
      rows: { train: 100, holdout: 24 },
      holdout: {
        rule: 'last 24 months',
        rows: 24,
        excludedSeenByChampion: 0,
        digest: 'd',
        championOverlap: 0,
      },
      holdoutKey: 'runs/m/exec/holdout.json',
    })),
    register: step('register', registerInputSchema, registrationSchema, (input) => {
      if (input.outcome === 'no_drift' || input.outcome === 'up_to_date')
        return {
          outcome: input.outcome,
          decision: input.outcome === 'up_to_date' ? input.reason : 'no drift',
        };
      return {
        outcome: input.outcome === 'promote' ? ('promoted' as const) : ('kept' as const),
        version: 1,
        decision: input.outcome,
      };
    }),
    recordFailure: step('recordFailure', recordFailureInputSchema, failureSchema, ({ input }) => ({
      error: input.error?.Error ?? 'Error',
      reason: `failed: ${input.error?.Error}`,
    })),
  };
}

const dropEvent = {
  source: 'aws.s3',
  'detail-type': 'Object Created',
  detail: { bucket: { name: 'data' }, object: { key: 'incoming/m/d.csv', size: 10, etag: 'e' } },
};

let pipeline: LocalPipeline;
let executions = 0;

beforeAll(async () => {
  pipeline = await loadPipeline({ handlers: stubs() });
});

/** Runs the definition with the scenario's stubs; the functions invoked, in order, and the execution. */
async function run(next: Scenario) {
  scenario = next;
  admitted = 0;
  const from = pipeline.invocations.length;
  const execution = await pipeline.run(dropEvent, `exec-${++executions}`);
  return { execution, invoked: pipeline.invocations.slice(from).map(({ key }) => key) };
}

const TRAINING = ['merge', 'featurize', 'train', 'train', 'train', 'select', 'train', 'train', 'evaluate'];

describe('the ASL data flow against the step contract', () => {
  it('feeds every step of a first model what its schema asks for, the Map items included, and promotes', async () => {
    const { execution, invoked } = await run({ trigger: 'first_model' });
    expect(execution.status, execution.cause).toBe('SUCCEEDED');
    expect(invoked).toEqual(['admit', 'validate', ...TRAINING, 'register']);
    expect(execution.state.search).toHaveLength(3);
    expect(execution.state.shards).toHaveLength(2);
    expect(execution.state.registration).toEqual({ outcome: 'promoted', version: 1, decision: 'promote' });
  });

  it('retrains a drifted drop and registers a candidate that does not win as kept', async () => {
    const { execution, invoked } = await run({ trigger: 'drop', drift: 'drift', promote: false });
    expect(invoked).toEqual(['admit', 'validate', 'drift', ...TRAINING, 'register']);
    expect(execution.state.registration?.outcome).toBe('kept');
  });

  it.each(['no_drift', 'insufficient_data'] as const)(
    'records a drop whose drift gate says %s',
    async (drift) => {
      const { execution, invoked } = await run({ trigger: 'drop', drift });
      expect(execution.status).toBe('SUCCEEDED');
      expect(invoked).toEqual(['admit', 'validate', 'drift', 'register']);
      expect(execution.state.registration?.outcome).toBe('no_drift');
    },
  );

  it('ends a retrain with nothing new at validate, registering no version', async () => {
    const { execution, invoked } = await run({
      trigger: 'schedule',
      upToDate: 'nothing new since version 1',
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(invoked).toEqual(['admit', 'validate', 'register']);
    expect(execution.state.registration).toEqual({
      outcome: 'up_to_date',
      decision: 'nothing new since version 1',
    });
  });

  it('trains a retrain that has something new, skipping the drift gate', async () => {
    const { execution, invoked } = await run({ trigger: 'schedule' });
    expect(invoked).toEqual(['admit', 'validate', ...TRAINING, 'register']);
    expect(execution.state.registration?.outcome).toBe('promoted');
  });

  it('waits for the run lease and asks again, and ends a duplicate delivery without a run', async () => {
    const waited = await run({ trigger: 'first_model', admissions: ['waiting', 'waiting', 'admitted'] });
    const duplicate = await run({ trigger: 'drop', admissions: ['duplicate'] });
    expect(waited.invoked.slice(0, 4)).toEqual(['admit', 'admit', 'admit', 'validate']);
    expect(waited.execution.status).toBe('SUCCEEDED');
    expect(duplicate.invoked).toEqual(['admit']);
    expect(duplicate.execution.status).toBe('SUCCEEDED');
  });

  it('hands a failed step to recordFailure with the error and fails the execution with its reason', async () => {
    const { execution, invoked } = await run({
      trigger: 'drop',
      fail: { key: 'validate', error: new InvalidDataError('line 2: "abc" is not a number') },
    });
    expect(invoked).toEqual(['admit', 'validate', 'recordFailure']);
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('InvalidDataError');
    expect(execution.cause).toBe('failed: InvalidDataError');
  });

  it('fails the run at the next step when a step answers outside the contract', async () => {
    const { execution, invoked } = await run({ trigger: 'first_model', malformed: 'merge' });
    expect(invoked).toEqual(['admit', 'validate', 'merge', 'featurize', 'recordFailure']);
    expect(execution.error).toBe('StepInputError');
  });
});
