/**
 * The model spec: one JSON document per model that says what to predict, from which columns, how to
 * validate a data drop, when drift matters, what a candidate must score to be promoted and how it is
 * served and watched. {@link parseSpec} checks it strictly (unknown keys are typos, not extensions) and
 * fills in every default, so the rest of the pipeline reads a complete {@link ModelSpec}.
 */
import * as z from 'zod';
import {
  LOG_TRANSFORMS as FEATURIZER_LOG_TRANSFORMS,
  FORECAST_TRANSFORMS as FEATURIZER_TRANSFORMS,
  type ForecastTransform as FeaturizerTransform,
} from './features.ts';
import { CLASSIFICATION_METRICS, type MetricName, REGRESSION_METRICS } from './metrics.ts';
import { DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES } from './paired-bootstrap.ts';
import { PARSE_ONCE } from './parse-once.ts';
import type { EngineName, LearningTask, Table, Task } from './types.ts';

export { CLASSIFICATION_METRICS, type MetricName, REGRESSION_METRICS };
export type RegressionMetric = (typeof REGRESSION_METRICS)[number];
export type ClassificationMetric = (typeof CLASSIFICATION_METRICS)[number];

export const TASKS = ['forecast', 'regression', 'classification'] as const satisfies readonly Task[];
/**
 * Feature transforms of a forecast target a spec may name (see `features.ts`), or `auto`: the
 * training part's rolling-origin validation chooses the transform (the spec's `lags` stay as given).
 */
export const FORECAST_TRANSFORMS: readonly ['auto', ...FeaturizerTransform[]] = [
  'auto',
  ...FEATURIZER_TRANSFORMS,
];
/** Transforms that take a logarithm of the target, so every target value must be positive. */
export const LOG_TRANSFORMS: readonly ForecastTransform[] = FEATURIZER_LOG_TRANSFORMS;
export type ForecastTransform = 'auto' | FeaturizerTransform;
export const DRIFT_TESTS = ['ks', 'wasserstein', 'chisquare', 'jensenshannon', 'psi'] as const;
export type DriftTest = (typeof DRIFT_TESTS)[number];

/** A month of a forecast's time column: `YYYY-MM`. */
export const MONTH_PATTERN = /^(\d{4})-(0[1-9]|1[0-2])$/;
/** Model names end up in S3 keys, DynamoDB keys and URLs, so they are kept to a URL-safe slug. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Rows a tabular drop needs when the spec does not say: below this a holdout score means little. */
export const DEFAULT_TABULAR_MIN_ROWS = 20;
/**
 * The largest drop `validate` reads by default: 256 MiB of CSV, about 1.4M rows of 20 numeric columns,
 * whose typed columns (8 bytes a cell) fit the validate function's memory with room for the reader.
 */
export const DEFAULT_MAX_DROP_BYTES = 256 * 1024 * 1024;
/** The most data rows a drop may hold by default (1M rows × 20 columns are 160 MB of typed columns). */
export const DEFAULT_MAX_DROP_ROWS = 1_500_000;
/**
 * The most rows (× columns) of history a tabular dataset keeps when the spec does not say: 1M rows of 20
 * columns, 160 MB of typed columns. Merge and featurize peaked at ~0.85 MB per 1,000 merged rows × 20
 * columns (bench/RESULTS.md, "Large drops"), so this window merged with a drop of up to 1M rows stays
 * within merge's 2048 MB; wider tables keep proportionally fewer rows (see {@link historyWindow}).
 */
export const DEFAULT_HISTORY_CELLS = 20_000_000;
/** The most rows a tabular dataset keeps by default, however narrow its table. */
export const DEFAULT_HISTORY_ROWS = 1_000_000;
/**
 * Months of a forecast's series kept by default: 100 years, so every real monthly series is kept whole
 * (a forecast needs its seasons) and only an unbounded one is cut. A few thousand months are kilobytes,
 * so memory never sets this limit.
 */
export const DEFAULT_HISTORY_MONTHS = 1200;
/** Holdout months assumed for the forecast `minRows` default when the holdout is a fraction. */
const FORECAST_HOLDOUT_FALLBACK_ROWS = 24;

/** A spec that fails validation. `issues` lists every problem; the message has one line per issue. */
export class SpecError extends Error {
  override readonly name = 'SpecError';
  readonly issues: { path: string; message: string }[];

  constructor(issues: { path: string; message: string }[]) {
    super(issues.map((issue) => `${issue.path}: ${issue.message}`).join('\n'));
    this.issues = issues;
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  const json = JSON.stringify(value);
  if (json === undefined) return String(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

/** A zod error option that states the rule and echoes the offending value ("must be …, got -3"). */
function must(rule: string) {
  return {
    error: (issue: { input?: unknown }) =>
      issue.input === undefined ? `is required; ${rule}` : `${rule}, got ${describeValue(issue.input)}`,
  };
}

function integer(min: number, max = Number.MAX_SAFE_INTEGER, rule?: string) {
  const text =
    rule ??
    (max === Number.MAX_SAFE_INTEGER
      ? `must be an integer ≥ ${min}`
      : `must be an integer from ${min} to ${max}`);
  return z
    .number(must(text))
    .refine((value) => Number.isInteger(value) && value >= min && value <= max, must(text));
}

function numberWhere(test: (value: number) => boolean, rule: string) {
  return z.number(must(rule)).refine((value) => Number.isFinite(value) && test(value), must(rule));
}

const openFraction = (rule = 'must be a number between 0 and 1 (exclusive)') =>
  numberWhere((value) => value > 0 && value < 1, rule);
const unitInterval = (rule = 'must be a number from 0 to 1') =>
  numberWhere((value) => value >= 0 && value <= 1, rule);
const positive = (rule = 'must be a number > 0') => numberWhere((value) => value > 0, rule);
const finite = () => numberWhere(() => true, 'must be a finite number');

const columnName = z.string(must('must be a column name')).min(1, must('must be a non-empty column name'));
const columnList = z
  .array(columnName, must('must be a list of column names'))
  .refine((names) => new Set(names).size === names.length, must('must not name a column twice'));

const holdout = numberWhere(
  (value) => (Number.isInteger(value) && value >= 1) || (value > 0 && value < 1),
  'must be a positive integer (rows) or a fraction between 0 and 1',
);

function metricEnum<const M extends readonly [string, ...string[]]>(task: Task, metrics: M) {
  return z.enum(metrics, must(`must be a metric of task '${task}', one of ${metrics.join(' | ')}`));
}

/** Inclusive bounds; at least one is set and min ≤ max. */
const bounds = z
  .strictObject({ min: finite().optional(), max: finite().optional() })
  .refine((range) => range.min !== undefined || range.max !== undefined, must('must set min, max or both'))
  .refine(
    (range) => range.min === undefined || range.max === undefined || range.min <= range.max,
    must('must have min ≤ max'),
  );

const maxFeatures = z.union([z.literal('sqrt'), z.literal('log2'), z.number()], {
  error: (issue: { input?: unknown }) =>
    `must be a fraction in (0, 1] or 'sqrt' or 'log2', got ${describeValue(issue.input)}`,
});

/** One schema per {@link ForestParams} field, shared by `hyperparameters` and the search `space`. */
const forestParamSchemas = {
  nTrees: integer(1, 2000),
  maxDepth: integer(0, Number.MAX_SAFE_INTEGER, 'must be an integer ≥ 0 (0 = unlimited)'),
  minSamplesLeaf: integer(1),
  minSamplesSplit: integer(2),
  maxLeaves: integer(0, Number.MAX_SAFE_INTEGER, 'must be an integer ≥ 0 (0 = unlimited)'),
  maxFeatures: maxFeatures.refine(
    (value) => typeof value === 'string' || (value > 0 && value <= 1),
    must("must be a fraction in (0, 1] or 'sqrt' or 'log2'"),
  ),
  sampleFraction: numberWhere((value) => value > 0 && value <= 1, 'must be a fraction in (0, 1]'),
  bootstrap: z.boolean(must('must be true or false')),
  maxBins: integer(2, 255),
};

const forestParamFields = {
  nTrees: forestParamSchemas.nTrees.optional(),
  maxDepth: forestParamSchemas.maxDepth.optional(),
  minSamplesLeaf: forestParamSchemas.minSamplesLeaf.optional(),
  minSamplesSplit: forestParamSchemas.minSamplesSplit.optional(),
  maxLeaves: forestParamSchemas.maxLeaves.optional(),
  maxFeatures: forestParamSchemas.maxFeatures.optional(),
  sampleFraction: forestParamSchemas.sampleFraction.optional(),
  bootstrap: forestParamSchemas.bootstrap.optional(),
  maxBins: forestParamSchemas.maxBins.optional(),
};

/** A spec's `hyperparameters`: a person writes them, so an unknown field is refused (a typo). */
const hyperparameters = z.strictObject(forestParamFields);

/**
 * {@link ForestParams} as code hands them on (candidates, a champion's recorded parameters): each field
 * checked as in a spec; fields this version does not know are dropped, not refused.
 */
export const forestParamsSchema = z.object(forestParamFields);

function candidates<T extends z.ZodType>(param: T) {
  return z
    .array(param, must('must be a list of candidate values'))
    .min(1, must('must list at least one value'));
}

const searchSpace = z.strictObject({
  nTrees: candidates(forestParamSchemas.nTrees).optional(),
  maxDepth: candidates(forestParamSchemas.maxDepth).optional(),
  minSamplesLeaf: candidates(forestParamSchemas.minSamplesLeaf).optional(),
  minSamplesSplit: candidates(forestParamSchemas.minSamplesSplit).optional(),
  maxLeaves: candidates(forestParamSchemas.maxLeaves).optional(),
  maxFeatures: candidates(forestParamSchemas.maxFeatures).optional(),
  sampleFraction: candidates(forestParamSchemas.sampleFraction).optional(),
  bootstrap: candidates(forestParamSchemas.bootstrap).optional(),
  maxBins: candidates(forestParamSchemas.maxBins).optional(),
});
/** A hyperparameter search space: candidate values per {@link ForestParams} field. */
export type SearchSpace = z.output<typeof searchSpace>;

/**
 * Default search spaces per engine and learning task: a few values of the knobs that matter most for each
 * engine. ml-random-forest has no leaf-size limit (its trees stop at `minSamplesSplit`) and draws its
 * `maxFeatures` once per tree rather than per split, so its space tunes depth and split size only. A
 * spec's own `space` replaces the default as a whole, so what is searched is exactly what the spec says.
 */
export const DEFAULT_SEARCH_SPACES: Record<EngineName, Record<LearningTask, SearchSpace>> = {
  fast: {
    regression: { maxFeatures: [0.33, 0.5, 1.0], minSamplesLeaf: [1, 2, 5], maxDepth: [0, 8, 16] },
    classification: { maxFeatures: ['sqrt', 0.5], minSamplesLeaf: [1, 2, 5], maxDepth: [0, 8, 16] },
  },
  'ml-random-forest': {
    regression: { minSamplesSplit: [2, 4, 8], maxDepth: [0, 8, 16] },
    classification: { minSamplesSplit: [2, 4, 8], maxDepth: [0, 8, 16] },
  },
};

/**
 * Hyperparameters an engine cannot honour, with the one value it accepts: a spec asking for another
 * value (fixed or searched) is refused when it is read, naming the field.
 */
const ENGINE_FIXED: Record<
  EngineName,
  Partial<Record<keyof SearchSpace, { value: unknown; why: string }>>
> = {
  fast: {},
  'ml-random-forest': {
    minSamplesLeaf: { value: 1, why: 'its trees stop at minSamplesSplit instead' },
    maxLeaves: { value: 0, why: 'it has no leaf-count limit' },
    sampleFraction: { value: 1, why: 'it cannot subsample rows' },
    maxBins: { value: undefined, why: 'it does not bin features' },
  },
};

function searchSchema() {
  return z
    .strictObject({
      strategy: z.enum(['none', 'random'], must("must be 'none' or 'random'")).default('random'),
      trials: integer(1, 200).default(8),
      /** Default: {@link DEFAULT_SEARCH_SPACES} for the spec's engine and task, filled in by `parseSpec`. */
      space: searchSpace.optional(),
    })
    .prefault({});
}

/** Refuses hyperparameters (fixed or searched) the spec's engine does not have. */
function checkEngine(
  spec: {
    engine: EngineName;
    hyperparameters: Record<string, unknown>;
    search: { space?: Record<string, unknown[] | undefined> };
  },
  ctx: z.RefinementCtx,
): void {
  for (const [name, rule] of Object.entries(ENGINE_FIXED[spec.engine])) {
    const refuse = (path: (string | number)[], value: unknown) =>
      ctx.addIssue({
        code: 'custom',
        path,
        message: `engine '${spec.engine}' has no ${name} (${rule.why}); remove it or use engine 'fast', got ${JSON.stringify(value)}`,
      });
    const fixed = spec.hyperparameters[name];
    if (fixed !== undefined && fixed !== rule.value) refuse(['hyperparameters', name], fixed);
    const searched = spec.search.space?.[name];
    if (searched?.some((value) => value !== rule.value)) refuse(['search', 'space', name], searched);
  }
}

const drift = z
  .strictObject({
    /** KS / chi-square p-value below which a column has drifted. */
    alpha: openFraction().default(0.05),
    /** Share of drifted columns above which the dataset has drifted. */
    share: numberWhere((value) => value > 0 && value <= 1, 'must be a fraction in (0, 1]').default(0.5),
    psiThreshold: positive().default(0.2),
    wassersteinThreshold: positive().default(0.1),
    jensenShannonThreshold: positive().default(0.1),
    /** Rows the drop needs before drift is tested at all. */
    minRows: integer(1).default(10),
    columns: z
      .record(
        z.string(),
        z.strictObject({
          test: z.enum(DRIFT_TESTS, must(`must be one of ${DRIFT_TESTS.join(' | ')}`)).optional(),
          threshold: positive().optional(),
        }),
      )
      .default({}),
  })
  .prefault({});

/** CloudWatch accepts periods of 10 s, 30 s or any multiple of 60 s. */
const alarmPeriod = integer(10).refine(
  (seconds) => seconds === 10 || seconds === 30 || seconds % 60 === 0,
  must('must be 10, 30 or a multiple of 60 seconds'),
);

const monitoring = z
  .strictObject({
    latencyP99Ms: positive().default(1000),
    /** Share of requests answered with a 5xx above which the error alarm fires. */
    errorRate: numberWhere((value) => value > 0 && value <= 1, 'must be a fraction in (0, 1]').default(0.05),
    /** The quality alarm fires when the live primary metric is this many times worse than the holdout score. */
    qualityMultiple: numberWhere((value) => value >= 1, 'must be a number ≥ 1').default(2),
    periodSeconds: alarmPeriod.default(60),
    evaluationPeriods: integer(1).default(5),
    datapointsToAlarm: integer(1).default(3),
    /** Labelled predictions needed before the live metric is trusted. */
    minFeedback: integer(1).default(5),
  })
  .superRefine((alarm, ctx) => {
    if (alarm.datapointsToAlarm > alarm.evaluationPeriods) {
      ctx.addIssue({
        code: 'custom',
        path: ['datapointsToAlarm'],
        message: `must not exceed evaluationPeriods (${alarm.evaluationPeriods}), got ${alarm.datapointsToAlarm}`,
      });
    }
  })
  .prefault({});

const rollout = z
  .strictObject({
    mode: z
      .enum(['direct', 'canary', 'shadow'], must("must be 'direct', 'canary' or 'shadow'"))
      .default('direct'),
    /** Share of traffic the canary receives while it bakes. */
    canaryWeight: numberWhere((value) => value > 0 && value <= 1, 'must be a fraction in (0, 1]').default(
      0.2,
    ),
    bakeMinutes: integer(0).default(30),
  })
  .prefault({});

const RATE_PATTERN = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON_PATTERN = /^cron\((\S+ ){5}\S+\)$/;
/** EventBridge wants `rate(1 day)` but `rate(2 days)`, and six cron fields. */
function isScheduleExpression(expression: string): boolean {
  const rate = RATE_PATTERN.exec(expression);
  if (rate) {
    const count = Number(rate[1]);
    return count >= 1 && (count === 1) === !rate[2].endsWith('s');
  }
  return CRON_PATTERN.test(expression);
}
const schedule = z
  .string(must('must be an EventBridge schedule expression'))
  .refine(
    isScheduleExpression,
    must('must be an EventBridge schedule expression such as rate(7 days) or cron(0 3 ? * MON *)'),
  );

function validationShape() {
  return {
    /** Rows a drop needs; the default depends on the task, see {@link defaultMinRows}. */
    minRows: integer(1).optional(),
    /** Share of missing values allowed in each feature column (the target and time may never be missing). */
    maxMissing: unitInterval('must be a fraction from 0 to 1').default(0),
    ranges: z.record(z.string(), bounds).default({}),
    /** Largest drop accepted, in bytes; checked from the object's size before a byte is read. */
    maxBytes: integer(1).default(DEFAULT_MAX_DROP_BYTES),
    /** Most data rows a drop may hold; reading stops at the first row over it. */
    maxRows: integer(1).default(DEFAULT_MAX_DROP_ROWS),
  };
}

function promotionSchema<const M extends readonly [string, ...string[]]>(task: Task, metrics: M) {
  return z
    .strictObject({
      /** Relative improvement over the champion a candidate needs (0.05 = 5% better). */
      margin: numberWhere(
        (value) => value >= 0 && value < 1,
        'must be a relative margin from 0 to less than 1',
      ).default(0.01),
      /** Absolute quality bars per metric the candidate must meet. */
      bars: z.partialRecord(metricEnum(task, metrics), bounds).default({}),
      /** Coverage of the paired bootstrap interval of candidate − champion the decision reads. */
      confidence: numberWhere(
        (value) => value > 0 && value < 1,
        'must be the coverage of a two-sided interval, a number strictly between 0 and 1 such as 0.95',
      ).default(DEFAULT_CONFIDENCE),
      /** Resamples of the paired bootstrap (each costs one pass over the holdout rows per model). */
      resamples: integer(100, 100_000).default(DEFAULT_RESAMPLES),
    })
    .prefault({});
}

/** What serving does with a missing feature: refuse the instance, or fill it as training filled blanks. */
export const MISSING_POLICIES = ['reject', 'impute'] as const;
export type MissingPolicy = (typeof MISSING_POLICIES)[number];

/**
 * Whether a production version whose artifact is refused (its bytes no longer match the sha256 the registry
 * recorded) is rolled back to the previous good version when its `artifact-refused` alarm fires, with an
 * audit record; off, it keeps answering 503 until someone acts.
 */
const fallback = z.boolean(must('must be true or false')).default(true);

/** How a tabular model treats requests; see `checkServingInputs` in `serving-inputs.ts`. */
const serving = z
  .strictObject({
    /**
     * A feature missing (absent or null) from a predict request: `reject` answers 400 naming it;
     * `impute` fills it as training filled a blank cell (the training median; no category) and says so.
     */
    missing: z.enum(MISSING_POLICIES, must("must be 'reject' or 'impute'")).default('reject'),
    fallback,
  })
  .prefault({});

/** How a forecast serves (its inputs are the lags: there is no missing-value policy). */
const forecastServing = z.strictObject({ fallback }).prefault({});

/**
 * One missing-value rule for training and serving: training fills the blank feature cells that
 * `validation.maxMissing` lets through with the training median, so only a model that serves the same way
 * (`serving.missing: 'impute'`) may allow them.
 */
function checkMissingPolicy(
  spec: { validation: { maxMissing: number }; serving: { missing: string } },
  ctx: z.RefinementCtx,
): void {
  if (spec.validation.maxMissing > 0 && spec.serving.missing !== 'impute') {
    ctx.addIssue({
      code: 'custom',
      path: ['validation', 'maxMissing'],
      message: `lets training fill missing feature values with the training median, so serving must too: set serving.missing to "impute" (or maxMissing to 0), got ${spec.validation.maxMissing}`,
    });
  }
}

/**
 * How much history drift and training use: the newest rows (tabular, default {@link historyWindow}) or
 * months (forecasts, default {@link DEFAULT_HISTORY_MONTHS}) of the merged dataset; older rows leave the
 * dataset, their drops stay in its lineage.
 */
const tabularHistory = z
  .strictObject({
    rows: integer(1, Number.MAX_SAFE_INTEGER, 'must be a whole number of rows ≥ 1').optional(),
  })
  .prefault({});
const forecastHistory = z
  .strictObject({
    months: integer(1, Number.MAX_SAFE_INTEGER, 'must be a whole number of months ≥ 1').optional(),
  })
  .prefault({});

/** A window too small for the data a retrain needs would fail every retrain: refused when the spec is read. */
function checkHistory(
  spec: {
    task: Task;
    lags?: number;
    holdout: number;
    validation: { minRows?: number };
    history: { rows?: number; months?: number };
  },
  ctx: z.RefinementCtx,
): void {
  const field = spec.task === 'forecast' ? 'months' : 'rows';
  const size = spec.history[field];
  if (size === undefined) return;
  const minRows = spec.validation.minRows ?? defaultMinRows(spec);
  const where =
    spec.validation.minRows === undefined
      ? spec.task === 'forecast'
        ? ' (lags + 2 × holdout, the default validation.minRows)'
        : ' (the default validation.minRows)'
      : ' (validation.minRows)';
  if (size < minRows) {
    ctx.addIssue({
      code: 'custom',
      path: ['history', field],
      message: `must keep at least ${minRows} ${field}${where}, the data every retrain needs; raise history.${field} or lower validation.minRows, got ${size}`,
    });
  } else if (Number.isInteger(spec.holdout) && size <= spec.holdout) {
    ctx.addIssue({
      code: 'custom',
      path: ['history', field],
      message: `must be more than the holdout (${spec.holdout} ${field}) to leave ${field} to train on; raise history.${field} or lower holdout, got ${size}`,
    });
  }
}

const TIME_RULE = "must name the YYYY-MM month column (task 'forecast' needs one)";
const NAME_RULE =
  'must be 1-63 lowercase letters, digits or dashes starting with a letter or digit (it is used in S3 keys and URLs)';

function commonShape() {
  return {
    name: z.string(must(NAME_RULE)).regex(NAME_PATTERN, must(NAME_RULE)),
    description: z.string(must('must be text')).max(1000, must('must be at most 1000 characters')).optional(),
    target: columnName,
    /** Feature columns; default every column but the target and time, resolved against the data. */
    features: columnList.optional(),
    /** Columns to one-hot encode; default the non-numeric feature columns. */
    categorical: columnList.optional(),
    seed: integer(0, 2 ** 32 - 1).default(42),
    engine: z
      .enum(['fast', 'ml-random-forest'], must("must be 'fast' or 'ml-random-forest'"))
      .default('fast'),
    drift,
    hyperparameters: hyperparameters.prefault({}),
    monitoring,
    rollout,
    /** Periodic retraining, in addition to retraining on new data. */
    schedule: schedule.optional(),
  };
}

/** Column rules that zod cannot express field by field: target, time, features and categorical agree. */
function checkColumns(
  spec: { target: string; time?: string; features?: string[]; categorical?: string[] },
  ctx: z.RefinementCtx,
): void {
  const reserved = spec.time === undefined ? [spec.target] : [spec.target, spec.time];
  if (spec.time !== undefined && spec.time === spec.target) {
    ctx.addIssue({
      code: 'custom',
      path: ['time'],
      message: `must differ from the target, got "${spec.time}"`,
    });
  }
  for (const field of ['features', 'categorical'] as const) {
    spec[field]?.forEach((column, index) => {
      if (reserved.includes(column)) {
        ctx.addIssue({
          code: 'custom',
          path: [field, index],
          message: `must not list the ${column === spec.target ? 'target' : 'time'} column, got "${column}"`,
        });
      }
    });
  }
  if (spec.features && spec.categorical) {
    spec.categorical.forEach((column, index) => {
      if (!spec.features?.includes(column) && !reserved.includes(column)) {
        ctx.addIssue({
          code: 'custom',
          path: ['categorical', index],
          message: `must be one of the features, got "${column}"`,
        });
      }
    });
  }
}

const forecastSchema = z
  .strictObject({
    ...commonShape(),
    task: z.literal('forecast'),
    time: z.string(must(TIME_RULE)).min(1, must(TIME_RULE)),
    /** Lag features y[t-1] … y[t-lags]. */
    lags: integer(1, 60).default(12),
    /** Season length in months. */
    season: integer(1, 60).default(12),
    holdout: holdout.default(24),
    metric: metricEnum('forecast', REGRESSION_METRICS).default('mape'),
    serving: forecastServing,
    featurize: z
      .strictObject({
        transform: z
          .enum(FORECAST_TRANSFORMS, must(`must be one of ${FORECAST_TRANSFORMS.join(' | ')}`))
          .default('auto'),
        /** Adds the month of the predicted step as a feature; predict requests must then give `lastMonth`. */
        monthOfYear: z.boolean(must('must be true or false')).default(false),
      })
      .prefault({}),
    validation: z.strictObject(validationShape()).prefault({}),
    history: forecastHistory,
    promotion: promotionSchema('forecast', REGRESSION_METRICS),
    search: searchSchema(),
  })
  .superRefine(checkColumns)
  .superRefine(checkHistory)
  .superRefine(checkEngine);

const regressionSchema = z
  .strictObject({
    ...commonShape(),
    task: z.literal('regression'),
    holdout: holdout.default(0.25),
    metric: metricEnum('regression', REGRESSION_METRICS).default('rmse'),
    validation: z.strictObject(validationShape()).prefault({}),
    history: tabularHistory,
    promotion: promotionSchema('regression', REGRESSION_METRICS),
    search: searchSchema(),
    serving,
  })
  .superRefine(checkColumns)
  .superRefine(checkHistory)
  .superRefine(checkMissingPolicy)
  .superRefine(checkEngine);

const classificationSchema = z
  .strictObject({
    ...commonShape(),
    task: z.literal('classification'),
    holdout: holdout.default(0.25),
    metric: metricEnum('classification', CLASSIFICATION_METRICS).default('auc'),
    validation: z
      .strictObject({
        ...validationShape(),
        /** Allowed target labels; default any, but at least two must be present in the data. */
        classes: z
          .array(finite(), must('must be a list of numeric class labels'))
          .refine((labels) => new Set(labels).size === labels.length, must('must not list a class twice'))
          .refine((labels) => labels.length >= 2, must('must list at least 2 classes'))
          .optional(),
      })
      .prefault({}),
    history: tabularHistory,
    promotion: promotionSchema('classification', CLASSIFICATION_METRICS),
    search: searchSchema(),
    serving,
  })
  .superRefine(checkColumns)
  .superRefine(checkHistory)
  .superRefine(checkMissingPolicy)
  .superRefine(checkEngine);

const branchSchemas = {
  forecast: forecastSchema,
  regression: regressionSchema,
  classification: classificationSchema,
} as const;

/** The spec as JSON Schema-able zod; {@link parseSpec} is the way to read one. */
export const modelSpecSchema = z.discriminatedUnion('task', [
  forecastSchema,
  regressionSchema,
  classificationSchema,
]);

type WithMinRows<S extends { validation: object; search: object }> = Omit<S, 'validation' | 'search'> & {
  validation: S['validation'] & { minRows: number };
  search: S['search'] & { space: SearchSpace };
};
/** A forecast's `history.months` always has a value once read (see {@link parseSpec}). */
export type ForecastSpec = WithMinRows<z.output<typeof forecastSchema>> & { history: { months: number } };
export type RegressionSpec = WithMinRows<z.output<typeof regressionSchema>>;
export type ClassificationSpec = WithMinRows<z.output<typeof classificationSchema>>;
/** A checked spec with every default applied; narrow on `task` for the task-specific fields. */
export type ModelSpec = ForecastSpec | RegressionSpec | ClassificationSpec;
/** A tabular (non-forecast) spec. */
export type TabularSpec = RegressionSpec | ClassificationSpec;

/** Fields that exist only for one task, to explain why they are "unknown" on another. */
const TASK_ONLY_FIELDS: Record<string, Task> = {
  time: 'forecast',
  lags: 'forecast',
  season: 'forecast',
  featurize: 'forecast',
  'validation.classes': 'classification',
};

/** A spec's `history` field in JSON: its unit is rows for a tabular model, months for a forecast. */
const HISTORY_UNIT_HINTS: Record<string, string> = {
  'history.months': "a tabular model's history is counted in rows: use history.rows",
  'history.rows': "a forecast's history is counted in months: use history.months",
};

/** How much of the merged history a dataset keeps: its newest `rows` rows, or its newest `months` months. */
export type HistoryWindow = { rows: number } | { months: number };

/**
 * The least a window may keep: `validation.minRows`, and one row or month more than an integer holdout.
 */
function smallestWindow(spec: { holdout: number; validation: { minRows: number } }): number {
  return Math.max(spec.validation.minRows, Number.isInteger(spec.holdout) ? spec.holdout + 1 : 1);
}

/**
 * The history window of a model's datasets: `history.months` for a forecast; `history.rows` for a
 * tabular model, or by default as many rows as {@link DEFAULT_HISTORY_CELLS} allows for `columnCount`
 * columns, at most {@link DEFAULT_HISTORY_ROWS} (and never fewer than the data a retrain needs).
 * @example historyWindow(parseSpec({ name: 'm', task: 'regression', target: 'y' }), 40) // { rows: 500000 }
 */
export function historyWindow(spec: ForecastSpec, columnCount: number): { months: number };
export function historyWindow(spec: TabularSpec, columnCount: number): { rows: number };
export function historyWindow(spec: ModelSpec, columnCount: number): HistoryWindow;
export function historyWindow(spec: ModelSpec, columnCount: number): HistoryWindow {
  if (spec.task === 'forecast') return { months: spec.history.months };
  if (spec.history.rows !== undefined) return { rows: spec.history.rows };
  const fitting = Math.floor(DEFAULT_HISTORY_CELLS / Math.max(1, columnCount));
  return { rows: Math.max(smallestWindow(spec), Math.min(DEFAULT_HISTORY_ROWS, fitting)) };
}

/**
 * Default `validation.minRows`. Forecast: `lags + 2 × holdout` (holdout in rows, 24 when it is a
 * fraction): the first `lags` months only seed the lag window, and the model should train on at least
 * as many months as it is scored on. Tabular: {@link DEFAULT_TABULAR_MIN_ROWS}.
 */
export function defaultMinRows(spec: { task: Task; lags?: number; holdout: number }): number {
  if (spec.task !== 'forecast') return DEFAULT_TABULAR_MIN_ROWS;
  const holdoutMonths = Number.isInteger(spec.holdout) ? spec.holdout : FORECAST_HOLDOUT_FALLBACK_ROWS;
  return (spec.lags ?? 0) + 2 * holdoutMonths;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, segment) => {
    if (typeof segment === 'number') return `${text}[${segment}]`;
    const key = String(segment);
    return /^[A-Za-z_$][\w$]*$/.test(key) ? `${text}.${key}` : `${text}[${JSON.stringify(key)}]`;
  }, 'spec');
}

/** Levenshtein distance, for "did you mean" hints on typos. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * The candidate closest to `name` (case-insensitive equality first, then at most 2 edits), if any.
 * @example suggestName('holdot', ['holdout', 'lags']) // 'holdout'
 */
export function suggestName(name: string, candidates: readonly string[]): string | undefined {
  const sameLetters = candidates.find((candidate) => candidate.toLowerCase() === name.toLowerCase());
  if (sameLetters !== undefined) return sameLetters;
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    // Lengths further apart than 2 cannot be within 2 edits: a long name costs no quadratic comparison.
    if (Math.abs(candidate.length - name.length) >= bestDistance) continue;
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function unwrapSchema(schema: z.core.$ZodType): z.core.$ZodType {
  let node = schema;
  while (node instanceof z.ZodOptional || node instanceof z.ZodDefault || node instanceof z.ZodPrefault) {
    node = node.unwrap();
  }
  return node;
}

/** The keys the schema allows in the object at `path`, for typo hints. */
function allowedKeysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  let node: z.core.$ZodType | undefined = schema;
  for (const segment of path) {
    node = unwrapSchema(node);
    if (node instanceof z.ZodObject) node = node.shape[String(segment)];
    else if (node instanceof z.ZodRecord) node = node.valueType;
    else return [];
    if (node === undefined) return [];
  }
  node = unwrapSchema(node);
  if (node instanceof z.ZodObject) return Object.keys(node.shape);
  if (node instanceof z.ZodRecord && node.keyType instanceof z.ZodEnum)
    return node.keyType.options.map(String);
  return [];
}

function unknownKeyMessage(
  schema: z.core.$ZodType,
  task: Task,
  objectPath: PropertyKey[],
  key: string,
): string {
  const dotted = [...objectPath, key].join('.');
  if (HISTORY_UNIT_HINTS[dotted] !== undefined) return HISTORY_UNIT_HINTS[dotted];
  const owner = TASK_ONLY_FIELDS[dotted];
  if (owner !== undefined && owner !== task)
    return `only allowed for task '${owner}', this spec is '${task}'`;
  const allowed = allowedKeysAt(schema, objectPath);
  if (objectPath.at(-1) === 'bars') {
    return `"${key}" is not a metric of task '${task}'; use one of ${allowed.join(' | ')}`;
  }
  const suggestion = suggestName(key, allowed);
  if (suggestion !== undefined) return `unknown field; did you mean "${suggestion}"?`;
  return allowed.length > 0 ? `unknown field; allowed: ${allowed.join(', ')}` : 'unknown field';
}

/** Messages for zod issues that no field-specific rule above words better. */
function fallbackMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_type') {
    const got = issue.input === undefined ? 'nothing' : describeValue(issue.input);
    return issue.input === undefined
      ? `is required (${issue.expected})`
      : `must be ${issue.expected}, got ${got}`;
  }
  if (issue.code === 'invalid_value') {
    return `must be one of ${issue.values.map(describeValue).join(' | ')}, got ${describeValue(issue.input)}`;
  }
  return undefined;
}

/**
 * Checks a model spec and applies every default.
 * @param json The parsed JSON document (e.g. `JSON.parse(file)`).
 * @returns The complete spec; narrow on `spec.task` for forecast-only fields (`time`, `lags`, …).
 * @throws {SpecError} listing each bad field by path, e.g.
 *   `spec.holdout: must be a positive integer (rows) or a fraction between 0 and 1, got -3`.
 * @example
 * const spec = parseSpec({ name: 'air-passengers', task: 'forecast', target: 'value', time: 'month' });
 * spec.holdout; // 24
 */
export function parseSpec(json: unknown): ModelSpec {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new SpecError([{ path: 'spec', message: `must be a JSON object, got ${describeValue(json)}` }]);
  }
  const task = (json as { task?: unknown }).task;
  if (typeof task !== 'string' || !(task in branchSchemas)) {
    const message =
      task === undefined
        ? `is required; must be one of ${TASKS.join(' | ')}`
        : `must be one of ${TASKS.join(' | ')}, got ${describeValue(task)}`;
    throw new SpecError([{ path: 'spec.task', message }]);
  }
  const schema = branchSchemas[task as Task];
  const result = schema.safeParse(json, { ...PARSE_ONCE, error: fallbackMessage });
  if (!result.success) {
    const issues = result.error.issues.flatMap((issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => ({
            path: formatPath([...issue.path, key]),
            message: unknownKeyMessage(schema, task as Task, issue.path, key),
          }))
        : [{ path: formatPath(issue.path), message: issue.message }],
    );
    const lines = issues.map((issue) => `${issue.path}: ${issue.message}`);
    throw new SpecError(issues.filter((_, index) => lines.indexOf(lines[index]) === index));
  }
  const spec = result.data;
  const minRows = spec.validation.minRows ?? defaultMinRows(spec);
  const space =
    spec.search.space ??
    structuredClone(
      DEFAULT_SEARCH_SPACES[spec.engine][spec.task === 'classification' ? 'classification' : 'regression'],
    );
  const validation = { ...spec.validation, minRows };
  // A forecast's default window is fixed; a tabular one depends on the table's width (historyWindow).
  const history =
    spec.task === 'forecast'
      ? {
          months:
            spec.history.months ??
            Math.max(DEFAULT_HISTORY_MONTHS, smallestWindow({ holdout: spec.holdout, validation })),
        }
      : spec.history;
  return { ...spec, validation, history, search: { ...spec.search, space } } as ModelSpec;
}

/**
 * Rows held out for scoring out of `rowCount`. An integer holdout is a row count (for forecasts the
 * last N); a fraction is a share rounded up, as scikit-learn's `train_test_split(test_size=…)` does.
 * @throws {RangeError} when `rowCount` is not a positive integer or the holdout leaves no row to train on.
 * @example holdoutRows({ holdout: 0.25 }, 569) // 143
 */
export function holdoutRows(spec: { holdout: number }, rowCount: number): number {
  if (!Number.isInteger(rowCount) || rowCount < 1) {
    throw new RangeError(`holdoutRows: rowCount must be a positive integer, got ${rowCount}`);
  }
  const rows = Number.isInteger(spec.holdout) ? spec.holdout : Math.ceil(spec.holdout * rowCount);
  if (rows >= rowCount) {
    throw new RangeError(
      `holdout of ${spec.holdout} takes ${rows} of ${rowCount} rows and leaves none to train on; add rows or lower spec.holdout`,
    );
  }
  return rows;
}

/** Why a spec names a column: as the target, the time, a feature, a categorical or a ranged column. */
export type ColumnRole = 'target' | 'time' | 'feature' | 'categorical' | 'range';

/**
 * The columns a spec names, in that order, each with the first role it gives it: the target, the time
 * (forecasts), `features`, `categorical` and the columns of `validation.ranges`. Every drop must have them.
 */
export function namedColumns(spec: ModelSpec): Map<string, ColumnRole> {
  const named = new Map<string, ColumnRole>();
  const add = (column: string, role: ColumnRole) => {
    if (!named.has(column)) named.set(column, role);
  };
  add(spec.target, 'target');
  if (spec.task === 'forecast') add(spec.time, 'time');
  for (const column of spec.features ?? []) add(column, 'feature');
  for (const column of spec.categorical ?? []) add(column, 'categorical');
  for (const column of Object.keys(spec.validation.ranges)) add(column, 'range');
  return named;
}

/**
 * A table with only the columns its spec uses: when the spec lists `features`, the columns it names
 * ({@link namedColumns}), any other column being ignored (validation warns so); without `features` every
 * column is a feature and the table is returned as is. Drops are stored this way, and the drift gate and
 * merge compare and merge tables this way, so a dataset stored with an ignored column still merges with
 * drops without it.
 * @example // columns x, notes, y; target y, features ['x']
 * usedColumns(spec, table).columns.map((column) => column.name) // ['x', 'y']
 */
export function usedColumns(spec: ModelSpec, table: Table): Table {
  if (!spec.features) return table;
  const used = namedColumns(spec);
  const columns = table.columns.filter((column) => used.has(column.name));
  return columns.length === table.columns.length ? table : { columns, rowCount: table.rowCount };
}

/**
 * The feature columns a spec uses on data with this header: `spec.features`, or else every column
 * but the target and time, in header order.
 */
export function resolveFeatures(spec: ModelSpec, header: readonly string[]): string[] {
  if (spec.features) return [...spec.features];
  const reserved = spec.task === 'forecast' ? [spec.target, spec.time] : [spec.target];
  return header.filter((column) => !reserved.includes(column));
}

/**
 * The features and the categorical (one-hot) columns of a spec on a parsed table: `spec.categorical`,
 * or else the features whose column is text.
 * @throws {RangeError} when a feature is not a column of the table.
 */
export function resolveColumns(spec: ModelSpec, table: Table): { features: string[]; categorical: string[] } {
  const byName = new Map(table.columns.map((column) => [column.name, column]));
  const features = resolveFeatures(
    spec,
    table.columns.map((column) => column.name),
  );
  const absent = features.filter((feature) => !byName.has(feature));
  if (absent.length > 0) throw new RangeError(`features ${absent.join(', ')} are not columns of the table`);
  const categorical = spec.categorical
    ? [...spec.categorical]
    : features.filter((feature) => byName.get(feature)?.kind === 'text');
  return { features, categorical };
}

/**
 * Months since year 0 of a `YYYY-MM` label, so consecutive months differ by 1.
 * @throws {RangeError} when the label is not `YYYY-MM`.
 * @example monthIndex('1949-02') - monthIndex('1949-01') // 1
 */
export function monthIndex(label: string): number {
  const match = MONTH_PATTERN.exec(label);
  if (!match) throw new RangeError(`"${label}" is not a YYYY-MM month`);
  return Number(match[1]) * 12 + Number(match[2]) - 1;
}

/** The `YYYY-MM` label of a {@link monthIndex}. */
export function monthLabel(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= 10_000 * 12) {
    throw new RangeError(`month index ${index} is outside years 0000-9999`);
  }
  const year = Math.floor(index / 12);
  return `${String(year).padStart(4, '0')}-${String((index % 12) + 1).padStart(2, '0')}`;
}
