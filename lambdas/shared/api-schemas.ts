/**
 * The API's request and response shapes, as zod schemas: the predict handler validates with them, and
 * the OpenAPI document (and API Gateway's request model) is generated from the same schemas.
 */
import * as z from 'zod';
import { LISTED_UNKNOWN_KEYS, shownKey } from '#core/serving-inputs.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './paging.ts';

/** Most instances one request may carry (API Gateway's payload limit comes first for wide rows). */
export const MAX_INSTANCES = 1000;

export const forecastInstanceSchema = z
  .strictObject({
    history: z
      .array(z.number())
      .min(1)
      .max(10_000)
      .describe(
        'Values of the series, oldest first; at least the model’s history length: its `lags` (at least one season for the seasonal ratio transforms), and 2·season + 1 (25 for monthly data) for a model with a classical base (`airline-log`, `holt-winters-log`, `classical-log`, `ets` and their additive versions), which filters all the history it is given, so send the whole series. A shorter history is a 400 naming the length needed.',
      ),
    lastMonth: z
      .string()
      .regex(/^\d{4}-(0[1-9]|1[0-2])$/)
      .optional()
      .describe('Month of the last history value (YYYY-MM); only models that use the month of year need it.'),
  })
  .describe('A forecast instance: the next value after `history` is predicted.');

export const tabularInstanceSchema = z
  .record(z.string(), z.union([z.number(), z.string(), z.null()]))
  .describe(
    'A tabular instance: every feature of the model by its exact name → value. A missing or null feature is a 400 naming it, unless the spec sets `serving.missing: "impute"` (then it is filled as training filled blanks and listed in `imputed`).',
  );

export const predictRequestSchema = z
  .strictObject({
    instances: z
      .array(z.union([forecastInstanceSchema, tabularInstanceSchema]))
      .min(1)
      .max(MAX_INSTANCES)
      .describe(`1 to ${MAX_INSTANCES} instances to predict.`),
  })
  .describe('A prediction request.');

export type PredictRequest = z.infer<typeof predictRequestSchema>;

type Issue = z.ZodError['issues'][number];

/**
 * What `issue` reports, with its path from the root. A union none of whose options fits says only
 * "Invalid input" where it stands; it reports instead the problem of the option the input came closest
 * to: the option whose problem lies deepest in the input, then the one with the fewest problems. So a
 * history with text in it names that value (`instances.0.history.3`), not the instance, and a feature
 * that is not a number names the feature, not the missing `history` of a forecast instance.
 */
function reported(issue: Issue, base: readonly PropertyKey[]): { path: PropertyKey[]; message: string } {
  const path = [...base, ...issue.path];
  // zod names every unrecognized key, whole: a body of many keys, or long ones, would be answered with
  // an error larger than Lambda's 6 MB response (a 502). The same rule as serving inputs' unknown keys.
  if (issue.code === 'unrecognized_keys' && issue.keys.length > 0) {
    const named = issue.keys.slice(0, LISTED_UNKNOWN_KEYS).map((key) => JSON.stringify(shownKey(key)));
    const more = issue.keys.length - named.length;
    const message = `Unrecognized key${issue.keys.length > 1 ? 's' : ''}: ${named.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
    return { path, message };
  }
  const options = issue.code === 'invalid_union' ? issue.errors.filter((issues) => issues.length > 0) : [];
  if (options.length === 0) return { path, message: issue.message };
  const closest = options
    .map((issues) => ({
      deepest: issues
        .map((inner) => reported(inner, path))
        .reduce((a, b) => (b.path.length > a.path.length ? b : a)),
      count: issues.length,
    }))
    .reduce((a, b) =>
      b.deepest.path.length > a.deepest.path.length ||
      (b.deepest.path.length === a.deepest.path.length && b.count < a.count)
        ? b
        : a,
    );
  return closest.deepest;
}

/** The first problem of a failed parse as one line naming its path. */
export function describeZodError(error: z.ZodError): string {
  const { path, message } = reported(error.issues[0], []);
  return `${path.length ? path.map(String).join('.') : 'body'}: ${message}`;
}

// --- responses and feedback ----------------------------------------------------------------------
// The response schemas document the API (OpenAPI); handlers build their answers from typed records.

export const errorResponseSchema = z
  .object({
    message: z.string().describe('What went wrong, for a person to read.'),
    error: z.string().optional().describe('The error’s name, e.g. `BadRequestError` or `NotFoundError`.'),
  })
  .describe('An error: client errors (4xx) carry their own message, server errors a generic one.');

export const predictionSchema = z
  .object({
    id: z.string().describe('The prediction id: send it back with the true outcome to `/feedback`.'),
    value: z.number().optional().describe('The forecast or regression value.'),
    label: z.number().optional().describe('Classifiers: the most probable class.'),
    probabilities: z
      .record(z.string(), z.number())
      .optional()
      .describe('Classifiers: class label → probability.'),
    outOfRange: z
      .array(z.string())
      .optional()
      .describe('Inputs far outside the training data: treat this prediction with care.'),
    imputed: z
      .array(z.string())
      .optional()
      .describe(
        'Features the request left out that were filled as training filled blanks (`serving.missing: "impute"`).',
      ),
  })
  .describe('One prediction.');

export const predictResponseSchema = z
  .object({
    model: z.string().describe('The model name.'),
    version: z.number().int().describe('The model version that made every prediction of this answer.'),
    predictions: z.array(predictionSchema).describe('One prediction per instance, in request order.'),
  })
  .describe('The predictions and the version that made them.');

/**
 * Most labels one feedback request may carry: each costs a few reads and writes, and the batch must end
 * well inside API Gateway's 29 s.
 */
export const MAX_FEEDBACK = 100;

export const feedbackItemSchema = z
  .strictObject({
    id: z.string().min(1).max(200).describe('The id of the prediction the label belongs to.'),
    actual: z.number().describe('The true value (forecasts, regressions) or class label (classifiers).'),
  })
  .describe('The true outcome of one earlier prediction.');

export const feedbackRequestSchema = z
  .union([
    feedbackItemSchema,
    z
      .strictObject({
        feedback: z
          .array(feedbackItemSchema)
          .min(1)
          .max(MAX_FEEDBACK)
          .describe(`1 to ${MAX_FEEDBACK} labels.`),
      })
      .describe('Several labels at once.'),
  ])
  .describe('Late labels for earlier predictions: the live metrics are computed from them.');

export type FeedbackRequest = z.infer<typeof feedbackRequestSchema>;
export const feedbackResponseSchema = z
  .object({
    model: z.string(),
    recorded: z.number().int().describe('Labels recorded.'),
    results: z
      .array(
        z.looseObject({
          id: z.string(),
          version: z.number().int().describe('The version that made the prediction.'),
          role: z.enum(['production', 'canary', 'shadow']),
          ratio: z.number().describe('The live error over the version’s holdout error.'),
        }),
      )
      .describe('Per label: the live error (`ape` or `misclassified`) and its ratio to the holdout.'),
  })
  .describe('The labels recorded and the live error of each.');

const productionVersionsSchema = z
  .record(z.string(), z.number().int().nullable())
  .describe('Model name → production version (null while none serves).');

export const healthResponseSchema = z
  .object({
    status: z
      .enum(['ok', 'degraded'])
      .describe('`degraded` when a production artifact would be refused (its sha256 does not match).'),
    models: productionVersionsSchema,
    degraded: z
      .record(z.string(), z.object({ version: z.number().int(), reason: z.string() }))
      .optional()
      .describe('Model name → the production version whose artifact is refused, and why.'),
  })
  .describe('The API is up; the production version of every model, and any model that cannot serve it.');

export const modelsResponseSchema = z
  .object({ models: productionVersionsSchema })
  .describe('Every registered model.');

export const pointerSchema = z
  .looseObject({
    version: z.number().int(),
    since: z.string().describe('ISO time.'),
    reason: z.string(),
    history: z.array(z.number().int()).describe('Versions that served before, oldest first.'),
    mode: z.enum(['canary', 'shadow']).optional().describe('Candidate only: how it serves.'),
    weight: z.number().optional().describe('Candidate only: share of traffic a canary answers.'),
    bakeUntil: z.string().optional().describe('Candidate only: end of the bake (ISO time).'),
  })
  .describe('Which version serves.');

export const modelVersionSchema = z
  .looseObject({
    model: z.string(),
    version: z.number().int(),
    stage: z.enum(['none', 'staging', 'production', 'archived', 'rejected', 'rolled_back', 'superseded']),
    runId: z.string(),
    createdAt: z.string(),
    reason: z.string().describe('Why the version has its stage.'),
    metric: z.string().describe('The primary metric.'),
    metrics: z.record(z.string(), z.number()).describe('Holdout metrics.'),
    params: z.record(z.string(), z.unknown()).describe('Hyperparameters.'),
    engine: z.string(),
  })
  .describe('A registered model version (lineage, artifact and featurizer fields included).');

export const runRecordSchema = z
  .looseObject({
    model: z.string(),
    runId: z.string(),
    startedAt: z.string(),
    trigger: z.enum(['drop', 'first_model', 'schedule', 'manual']),
    status: z.enum(['running', 'succeeded', 'failed', 'interrupted']),
    step: z.string(),
    outcome: z
      .enum(['promoted', 'canary', 'shadow', 'kept', 'superseded', 'no_drift', 'up_to_date', 'failed'])
      .optional(),
    decision: z.string().optional(),
    version: z.number().int().optional(),
    finishedAt: z.string().optional(),
    durations: z
      .record(
        z.string(),
        z.object({ start: z.string(), end: z.string().optional(), seconds: z.number().optional() }),
      )
      .optional()
      .describe(
        "Each step's first start and last end (retries and Map items included) and the seconds between, by step name in the order the steps started.",
      ),
  })
  .describe('One pipeline run.');

export const auditRecordSchema = z
  .looseObject({
    at: z.string(),
    action: z.string(),
    fromVersion: z.number().int().optional(),
    toVersion: z.number().int().optional(),
    reason: z.string(),
    actor: z.string(),
  })
  .describe('One change of what serves.');

const limitParameter = z.coerce
  .number()
  .int()
  .min(1)
  .max(MAX_PAGE_SIZE)
  .optional()
  .describe(`Items per page, newest first: 1 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE}).`);

/** The query string of a paged listing: `?limit=20&next=<cursor>`. Unknown parameters are a 400. */
export const pageQuerySchema = z
  .strictObject({
    limit: limitParameter,
    next: z
      .string()
      .min(1)
      .max(400)
      .regex(/^[A-Za-z0-9_-]+$/, 'must be the "next" cursor of the previous page')
      .optional()
      .describe('The `next` cursor of the previous page (opaque); absent for the first page.'),
  })
  .describe('Which page of a listing.');

/** The query string of `GET /models/{name}`: how many versions, runs and audit records to show. */
export const modelQuerySchema = z
  .strictObject({ limit: limitParameter })
  .describe('How much of each listing the model view shows.');

const nextCursor = z
  .string()
  .optional()
  .describe('Pass as `next` for the following page; absent on the last page.');

export const modelDetailResponseSchema = z
  .object({
    name: z.string(),
    spec: z.record(z.string(), z.unknown()).describe('The model spec as registered.'),
    production: pointerSchema.nullable(),
    canary: pointerSchema.nullable(),
    versions: z.array(modelVersionSchema).describe('The latest `limit` versions, newest first.'),
    runs: z.array(runRecordSchema).describe('The latest `limit` runs, newest first.'),
    audit: z.array(auditRecordSchema).describe('The latest `limit` changes of what serves, newest first.'),
    next: z
      .object({ versions: nextCursor, runs: nextCursor, audit: nextCursor })
      .describe(
        'Cursors of the following pages, for `/models/{name}/versions`, `/runs` and `/audit` (`next=`).',
      ),
  })
  .describe('A model: what serves, and the first page of its versions, runs and audit trail.');

export const runsResponseSchema = z
  .object({ name: z.string(), runs: z.array(runRecordSchema).describe('Newest first.'), next: nextCursor })
  .describe('A page of the runs of a model.');

export const versionsResponseSchema = z
  .object({
    name: z.string(),
    versions: z.array(modelVersionSchema).describe('Newest first.'),
    next: nextCursor,
  })
  .describe('A page of the versions of a model.');

export const auditResponseSchema = z
  .object({
    name: z.string(),
    audit: z
      .array(auditRecordSchema)
      .describe('Newest first (a change still being written may add one record to its page).'),
    next: nextCursor,
  })
  .describe('A page of the audit trail of a model.');
