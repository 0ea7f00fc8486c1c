/**
 * The contract between the retraining pipeline's steps: what each step of `statemachines/retrain.asl.json`
 * receives and hands on (small JSON — keys, counts and summaries, never data), as zod schemas. This module
 * is the one home of those shapes: a handler's input type is its schema's output, and a step's output
 * type is the schema the next step parses it with. Every pipeline handler parses its input here (see
 * {@link stepInput}), so a payload that does not fit fails at once as a {@link StepInputError}, which the
 * state machine never retries and records through `recordFailure`.
 */
import type { MiddlewareObj } from '@middy/core';
import * as z from 'zod';
import type { DatasetHistory } from '#core/merge.ts';
import { CLASSIFICATION_METRICS, REGRESSION_METRICS } from '#core/metrics.ts';
import type { PairedComparison } from '#core/paired-bootstrap.ts';
import { PARSE_ONCE } from '#core/parse-once.ts';
import { forestParamsSchema } from '#core/spec.ts';
import type { EngineName } from '#core/types.ts';
import { StepInputError } from './errors.ts';
import type { DropRef, RunOutcome, RunRecord } from './registry.ts';

export { forestParamsSchema };

// --- names ---------------------------------------------------------------------------------------

/** Every metric name, as the union type `MetricName`. */
export const metricNameSchema = z.enum([...REGRESSION_METRICS, ...CLASSIFICATION_METRICS]);

/** A forest engine's name, as the union type {@link EngineName}. */
export const engineNameSchema = z.enum(['fast', 'ml-random-forest'] as const satisfies EngineName[]);

/**
 * A number that crossed JSON: `NaN` and `±Infinity` (a candidate that could not be scored, an undefined
 * metric) arrive as `null` and are restored to `NaN`, so a score is always a number to compare.
 */
const jsonNumber = z.union([
  z.custom<number>((value) => typeof value === 'number', 'must be a number'),
  z.null().transform(() => Number.NaN),
]);
const count = z.number().int().nonnegative();
const text = z.string().min(1);
/** An ISO 8601 time as Step Functions' Context Object and the handlers write it. */
const isoTime = z.iso.datetime({ offset: true });
/** Scores by metric name (the metrics a task has). */
const scoresSchema = z.record(z.string(), jsonNumber);

// --- what starts a run ---------------------------------------------------------------------------

/** The EventBridge event S3 sends for a new object (the fields driftline reads). */
export const s3ObjectCreatedSchema = z.object({
  source: z.literal('aws.s3'),
  detail: z.object({
    bucket: z.object({ name: text }),
    object: z.object({
      key: text,
      size: count.optional(),
      etag: z.string().optional(),
      'version-id': z.string().optional(),
      sequencer: z.string().optional(),
    }),
  }),
});
export type S3ObjectCreated = z.output<typeof s3ObjectCreatedSchema>;

/** The event a model's schedule rule sends. */
export const scheduleEventSchema = z.object({
  source: z.literal('driftline.schedule'),
  detail: z.object({ model: text }),
});
export type ScheduleEvent = z.output<typeof scheduleEventSchema>;

/** The event `driftline retrain` starts an execution with: train on what is held back, drift or not. */
export const retrainEventSchema = z.object({
  source: z.literal('driftline.retrain'),
  detail: z.object({ model: text }),
});
export type RetrainEvent = z.output<typeof retrainEventSchema>;

/** What starts a run. */
export const triggerEventSchema = z.discriminatedUnion('source', [
  s3ObjectCreatedSchema,
  scheduleEventSchema,
  retrainEventSchema,
]);
export type TriggerEvent = z.output<typeof triggerEventSchema>;

// --- the run every step receives -----------------------------------------------------------------

/**
 * A drop as the registry records it (the S3 object; after validation, its checksum, row count and the
 * key of its validated table, which drift and merge read instead of the CSV).
 */
export const dropRefSchema = z.object({
  bucket: text,
  key: text,
  etag: z.string(),
  size: count,
  sha256: z.string().optional(),
  rows: count.optional(),
  versionId: z.string().optional(),
  sequencer: z.string().optional(),
  table: text.optional(),
}) satisfies z.ZodType<DropRef>;

/**
 * The model's spec as the run started with it: a snapshot in the bucket, written once by `validate`.
 * Every later step reads this snapshot (checked against `sha256`), never the registry's current spec, so a
 * spec changed during a run takes effect from the next run and one run never mixes two specs.
 */
export const specRefSchema = z.object({
  key: text,
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 in hex'),
});
export type SpecRef = z.output<typeof specRefSchema>;

/** The run every step after `validate` receives as `run`: which model, which execution, what started it. */
export const runContextSchema = z.object({
  model: text,
  runId: text,
  startedAt: isoTime,
  bucket: text,
  trigger: z.enum(['drop', 'first_model', 'schedule', 'manual'] as const satisfies RunRecord['trigger'][]),
  /** The drop that started the run (absent for a scheduled or manual retrain). */
  drop: dropRefSchema.optional(),
  /** The spec the run started with. */
  spec: specRefSchema,
});
export type RunContext = z.output<typeof runContextSchema>;

// --- admit and validate --------------------------------------------------------------------------

/** What `Admit` and `Validate` receive: the trigger event and the execution's name and start time. */
export const admitInputSchema = z.object({ event: triggerEventSchema, runId: text, startedAt: isoTime });
export type AdmitInput = z.output<typeof admitInputSchema>;

/** Whether the run may start (`admitted`), waits for the model's run lease, or is a duplicate delivery. */
export const admissionSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('admitted'), model: text }),
  z.object({ status: z.literal('waiting'), model: text, holder: text, since: z.string().optional() }),
  z.object({ status: z.literal('duplicate'), model: text, runId: text }),
]);
export type Admission = z.output<typeof admissionSchema>;

export const validateInputSchema = admitInputSchema;
export type ValidateInput = AdmitInput;

/** What `validate` hands on: the run, and what the drop's check found. */
export const validationSchema = z.object({
  run: runContextSchema,
  validation: z.object({
    rows: count,
    warnings: z.array(z.string()),
    /** A retrain with nothing new to learn from (why): the state machine ends it without training. */
    upToDate: text.optional(),
  }),
});
export type Validation = z.output<typeof validationSchema>;

// --- drift ---------------------------------------------------------------------------------------

export const runInputSchema = z.object({ run: runContextSchema });
export type RunInput = z.output<typeof runInputSchema>;

const verdictSchema = z.enum(['drift', 'no_drift', 'insufficient_data']);

/** What the drift gate hands on (and records in the run): the verdict and each column's evidence. */
export const driftResultSchema = z.object({
  status: verdictSchema,
  share: jsonNumber,
  threshold: jsonNumber,
  driftedColumns: z.array(z.string()),
  summary: z.string(),
  columns: z.array(
    z.object({
      column: z.string(),
      test: z.enum(['ks', 'wasserstein', 'chisquare', 'jensenshannon', 'psi']),
      statistic: jsonNumber.nullable(),
      pValue: jsonNumber.nullable(),
      verdict: verdictSchema,
      psi: jsonNumber.nullable(),
      psiNote: z.string().optional(),
      referenceRows: count,
      currentRows: count,
    }),
  ),
  /** Columns left out of `columns` (and drifted ones out of `driftedColumns`): the report at `reportKey` has them. */
  omittedColumns: count.optional(),
  /** The drops judged together: the held-back ones since the last test, then this run's. */
  pooled: z.object({ drops: z.array(z.string()), rows: count }),
  reportKey: text,
});
export type DriftResult = z.output<typeof driftResultSchema>;

// --- merge ---------------------------------------------------------------------------------------

/** What merge hands on: bounded, whatever the number of drops. */
/** A dataset's history window and what the window left out (see `DatasetHistory` in `#core/merge.ts`). */
export const datasetHistorySchema = z.object({
  window: z.union([z.object({ rows: count }), z.object({ months: count })]),
  rowsMerged: count,
  outOfWindow: count,
  totalDrops: count,
}) satisfies z.ZodType<DatasetHistory>;

export const mergeResultSchema = z.object({
  datasetKey: text,
  sha256: z.string(),
  rows: count,
  /** The manifest listing the merged drops, and how many there are. */
  drops: z.object({ key: text, count }),
  /** The baseline run this dataset extends; register moves the baseline only if it is still this one. */
  baselineRunId: z.string().optional(),
  /** Held-back drops numbered up to this one are in the dataset. */
  heldThrough: count,
  inputs: count,
  overlapping: count,
  duplicatesRemoved: count,
  history: datasetHistorySchema,
});
export type MergeResult = z.output<typeof mergeResultSchema>;

// --- featurize and the search --------------------------------------------------------------------

export const featurizeInputSchema = z.object({ run: runContextSchema, merge: mergeResultSchema });
export type FeaturizeInput = z.output<typeof featurizeInputSchema>;

/** What `featurize` hands on: where the feature sets are, and what is scored how. */
export const featuresRefSchema = z.object({
  prefix: text,
  variants: z.array(text).min(1),
  /** The metric candidates are selected by (log loss for classifiers, else the spec's) and its direction. */
  metric: metricNameSchema,
  direction: z.enum(['lower', 'higher']),
  rows: z.object({ train: count, holdout: count }),
  engine: engineNameSchema,
  seed: count,
  /** The production version the holdout was drawn against (absent for the first model): evaluate scores this one. */
  championVersion: count.optional(),
});
export type FeaturesRef = z.output<typeof featuresRefSchema>;

/** A hyperparameter candidate as the search Map fans them out. */
export const candidatePlanSchema = z.object({
  id: text,
  variant: text,
  params: forestParamsSchema,
  origin: z.string(),
});
export type CandidatePlan = z.output<typeof candidatePlanSchema>;

export const featuresSchema = z.object({ ref: featuresRefSchema, candidates: z.array(candidatePlanSchema) });
export type Features = z.output<typeof featuresSchema>;

/** One trial's result, as the search Map returns it. */
export const trialResultSchema = candidatePlanSchema.extend({
  score: jsonNumber,
  metrics: scoresSchema,
  seconds: jsonNumber,
  /** Forecasts: each rolling-origin month's loss, for `chooseCandidate`'s paired test between variants. */
  losses: z.array(jsonNumber).optional(),
});
export type TrialResult = z.output<typeof trialResultSchema>;

/** A slice of the final forest's trees, fitted by one Lambda. */
export const shardPlanSchema = z.object({
  index: count,
  variant: text,
  params: forestParamsSchema,
  seed: count,
  treeStart: count,
  treeCount: count,
  /** Trees of the model refit on every row after the decision, rather than of the judged model. */
  refit: z.boolean().optional(),
});
export type ShardPlan = z.output<typeof shardPlanSchema>;

export const shardResultSchema = z.object({
  index: count,
  refit: z.boolean().optional(),
  key: text,
  trees: count,
  seconds: jsonNumber,
});
export type ShardResult = z.output<typeof shardResultSchema>;

/** What a `train` Lambda receives: a candidate to score, or a shard of the final forest to fit. */
export const trainInputSchema = z.discriminatedUnion('mode', [
  z.object({
    mode: z.literal('candidate'),
    run: runContextSchema,
    features: featuresRefSchema,
    candidate: candidatePlanSchema,
  }),
  z.object({
    mode: z.literal('shard'),
    run: runContextSchema,
    features: featuresRefSchema,
    shard: shardPlanSchema,
  }),
]);
export type TrainInput = z.output<typeof trainInputSchema>;

export const selectInputSchema = z.object({
  run: runContextSchema,
  features: featuresRefSchema,
  trials: z.array(trialResultSchema).min(1),
});
export type SelectInput = z.output<typeof selectInputSchema>;

/** What `select` hands on: the best candidate and the final fit's tree shards. */
export const selectionSchema = z.object({
  best: trialResultSchema,
  shards: z.array(shardPlanSchema).min(1),
  trialsKey: text,
});
export type Selection = z.output<typeof selectionSchema>;

// --- evaluate and register -----------------------------------------------------------------------

export const evaluateInputSchema = z.object({
  run: runContextSchema,
  merge: mergeResultSchema,
  features: featuresRefSchema,
  selection: selectionSchema,
  shards: z.array(shardResultSchema).min(1),
});
export type EvaluateInput = z.output<typeof evaluateInputSchema>;

/** The paired bootstrap of candidate − champion on the spec's metric over the same holdout rows. */
export const pairedComparisonSchema = z.object({
  metric: metricNameSchema,
  difference: z.number(),
  interval: z.tuple([z.number(), z.number()]),
  confidence: z.number().gt(0).lt(1),
  resamples: count,
  seed: count,
  rows: count,
}) satisfies z.ZodType<PairedComparison>;

/** What `evaluate` hands on: the decision, and what register records of the candidate and the champion. */
export const evaluationSchema = z.object({
  promote: z.boolean(),
  reason: z.string(),
  metric: metricNameSchema,
  candidate: z.object({
    metrics: scoresSchema,
    params: forestParamsSchema,
    engine: engineNameSchema,
    seed: count,
    artifact: z.object({ key: text, sha256: z.string(), bytes: count }),
    featurizer: z.record(z.string(), z.unknown()),
    /** Rows the served model was refit on after the holdout judged it (training + holdout). */
    refitRows: count,
  }),
  /**
   * The champion's scores on the same rows, and the paired bootstrap of candidate − champion that decided
   * (absent when the holdout leaves the metric undefined, e.g. AUC on rows of one class).
   */
  champion: z
    .object({ version: count, metrics: scoresSchema, comparison: pairedComparisonSchema.optional() })
    .optional(),
  rows: z.object({ train: count, holdout: count }),
  /** Which rows both models were scored on, and how many of them the champion trained on (always 0). */
  holdout: z.object({
    rule: z.string(),
    rows: count,
    excludedSeenByChampion: count,
    digest: z.string(),
    championOverlap: count,
  }),
  holdoutKey: text,
});
export type Evaluation = z.output<typeof evaluationSchema>;

/** What `register` receives: a run without drift, or an evaluated candidate to promote or keep. */
export const registerInputSchema = z.discriminatedUnion('outcome', [
  z.object({
    outcome: z.literal('no_drift'),
    run: runContextSchema,
    drift: driftResultSchema.pick({ status: true, summary: true }),
  }),
  z.object({ outcome: z.literal('up_to_date'), run: runContextSchema, reason: text }),
  z.object({
    outcome: z.enum(['promote', 'keep']),
    run: runContextSchema,
    merge: mergeResultSchema,
    evaluation: evaluationSchema,
    trials: z.array(trialResultSchema),
  }),
]);
export type RegisterInput = z.output<typeof registerInputSchema>;

/** What `register` hands on: how the run ended, the version it registered (if any), and why. */
export const registrationSchema = z.object({
  outcome: z.enum([
    'promoted',
    'canary',
    'shadow',
    'kept',
    'superseded',
    'no_drift',
    'up_to_date',
    'failed',
  ] as const satisfies RunOutcome[]),
  version: count.optional(),
  decision: z.string(),
});
export type Registration = z.output<typeof registrationSchema>;

// --- failures ------------------------------------------------------------------------------------

/**
 * What `RecordFailure` receives: the whole state when the error was caught. It reads only what names the
 * run, leniently — a run whose own input was malformed must still be recorded as failed.
 */
export const recordFailureInputSchema = z.object({
  input: z.looseObject({
    run: z.looseObject({ model: z.string() }).optional(),
    event: z.unknown().optional(),
    error: z.looseObject({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
  }),
  runId: text,
  startedAt: isoTime,
});
export type RecordFailureInput = z.output<typeof recordFailureInputSchema>;

/** What `RecordFailure` hands on: the error's name and the bounded reason the run failed with. */
export const failureSchema = z.object({ error: z.string(), reason: z.string() });
export type Failure = z.output<typeof failureSchema>;

/** The fields of EventBridge's "Step Functions Execution Status Change" event `runEnded` reads. */
export const executionStatusChangeSchema = z.object({
  source: z.literal('aws.states'),
  detail: z.object({
    executionArn: text,
    name: text,
    status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']),
    /** Milliseconds since the epoch. */
    startDate: z.number(),
    stopDate: z.number().nullish(),
    /** The execution's input as JSON text (absent when too large for the event). */
    input: z.string().nullish(),
    error: z.string().nullish(),
    cause: z.string().nullish(),
  }),
});
export type ExecutionStatusChange = z.output<typeof executionStatusChangeSchema>;

// --- parsing -------------------------------------------------------------------------------------

/** The first few problems of a failed parse, each naming its path in the payload. */
function describeIssues(error: z.ZodError, limit = 3): string {
  const shown = error.issues.slice(0, limit).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : 'the payload';
    return `${path}: ${issue.message}`;
  });
  const more = error.issues.length > limit ? ` (and ${error.issues.length - limit} more)` : '';
  return `${shown.join('; ')}${more}`;
}

/**
 * A step's input parsed against its schema.
 * @throws StepInputError naming the step, the first problems and what to do.
 */
export function parseStepInput<S extends z.ZodType>(step: string, schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input, PARSE_ONCE);
  if (parsed.success) return parsed.data;
  throw new StepInputError(
    `${step} received an input that does not fit the pipeline contract: ${describeIssues(parsed.error)}. ` +
      'Runs start from an upload to incoming/<model>/ or "driftline retrain <model>"; a run started that way ' +
      'means the state machine and the functions come from different versions of driftline: deploy both again',
  );
}

/**
 * Middy middleware that parses the event against the step's schema before the handler runs, replacing it
 * with the parsed value (defaults applied, JSON's `null` scores restored to `NaN`).
 * @example middy(merge).use(stepInput('merge', runInputSchema))
 */
export function stepInput<S extends z.ZodType>(step: string, schema: S): MiddlewareObj<z.output<S>> {
  return {
    before: (request) => {
      request.event = parseStepInput(step, schema, request.event);
    },
  };
}
