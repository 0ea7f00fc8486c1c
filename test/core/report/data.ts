/**
 * Report data for the rendering tests, in the registry's shapes: a forecast with a promotion and a
 * rollback, a classifier with a canary candidate, and the user-data strings that must stay text.
 */
import type { ColumnDrift } from '../../../lambdas/core/drift.ts';
import type {
  ModelReportData,
  ReportAudit,
  ReportRun,
  ReportVersion,
} from '../../../lambdas/core/report/types.ts';

/** Markup where user data goes: it must come out escaped, never as elements. */
export const MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>';
export const ESCAPED_MARKUP =
  '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;';

export function version(overrides: Partial<ReportVersion> & { version: number }): ReportVersion {
  return {
    stage: 'archived',
    runId: `run-${overrides.version}`,
    createdAt: `2026-01-0${overrides.version}T10:00:00.000Z`,
    reason: 'candidate beats champion',
    metric: 'mape',
    metrics: { mae: 10, rmse: 12, mape: 4, smape: 4, r2: 0.9 },
    params: { nTrees: 300, maxDepth: 0 },
    engine: 'fast',
    lineage: { dataset: { rows: 144 }, trainRows: 108, holdoutRows: 24 },
    ...overrides,
  };
}

function column(overrides: Partial<ColumnDrift> & { column: string }): ColumnDrift {
  return {
    kind: 'numeric',
    test: 'ks',
    statistic: 0.05,
    pValue: 0.8,
    threshold: 0.05,
    drifted: false,
    verdict: 'no_drift',
    severity: 'low',
    psi: 0.01,
    referenceRows: 120,
    currentRows: 24,
    reason: 'p-value above 0.05',
    distribution: { edges: [100, 200, 300], categories: [], reference: [0.5, 0.5], current: [0.25, 0.75] },
    ...overrides,
  };
}

const audit: ReportAudit[] = [
  { at: '2026-01-01T10:00:00.000Z', action: 'promote', toVersion: 1, reason: 'first model', actor: 'run-1' },
  {
    at: '2026-01-02T10:00:00.000Z',
    action: 'promote',
    fromVersion: 1,
    toVersion: 2,
    reason: 'MAPE 3% beats 4%',
    actor: 'run-2',
  },
  {
    at: '2026-01-03T10:00:00.000Z',
    action: 'rollback',
    fromVersion: 2,
    toVersion: 1,
    reason: `alarm ${MARKUP}`,
    actor: 'alarm',
  },
];

const runs: ReportRun[] = [
  {
    runId: 'run-4',
    startedAt: '2026-01-04T10:00:00.000Z',
    trigger: 'drop',
    status: 'failed',
    outcome: 'failed',
    failure: { error: 'InvalidDataError', reason: `line 2: ${MARKUP} is not a number` },
    finishedAt: '2026-01-04T10:00:02.500Z',
  },
  {
    runId: 'run-2',
    startedAt: '2026-01-02T10:00:00.000Z',
    trigger: 'drop',
    status: 'succeeded',
    outcome: 'promoted',
    version: 2,
    decision: 'MAPE 3% beats 4%',
    finishedAt: '2026-01-02T10:01:15.000Z',
    durations: { validate: { seconds: 0.4 }, search: { seconds: 61 }, fit: { seconds: 12.5 } },
    dataset: {
      rows: 120,
      drops: { count: 1 },
      history: { window: { months: 120 }, outOfWindow: 24, totalDrops: 3 },
    },
  },
];

/** A forecast with two versions (v2 rolled back to v1), a drift report and 3 holdout months. */
export function forecastReport(): ModelReportData {
  return {
    name: 'air-passengers',
    spec: { task: 'forecast', target: 'value', metric: 'mape', description: `Passengers ${MARKUP}` },
    production: { version: 1, since: '2026-01-03T10:00:00.000Z', reason: 'restored' },
    versions: [
      version({ version: 2, stage: 'rolled_back', reason: `alarm ${MARKUP}`, metrics: { mape: 3, mae: 8 } }),
      version({ version: 1, stage: 'production', metrics: { mape: 4, mae: 10 } }),
    ],
    runs,
    audit,
    drift: {
      runId: 'run-2',
      startedAt: '2026-01-02T10:00:00.000Z',
      report: {
        status: 'drift',
        drifted: true,
        share: 0.5,
        threshold: 0.5,
        driftedColumns: [MARKUP],
        columns: [
          column({ column: 'lag_1' }),
          column({
            column: MARKUP,
            statistic: 0.41,
            pValue: 1.2e-9,
            drifted: true,
            verdict: 'drift',
            severity: 'high',
            psi: 0.9,
          }),
        ],
        summary: 'Dataset drift: 1 of 2 columns drifted',
        reference: 'datasets/air-passengers/run-1.csv',
        current: 'incoming/air-passengers/new.csv',
      },
    },
    holdout: {
      version: 1,
      actual: [417, 391, 419],
      predicted: [410, 400, 430],
      classes: [],
      labels: ['1960-10', '1960-11', '1960-12'],
    },
    generatedAt: '2026-01-05T12:00:00.000Z',
  };
}

/**
 * A binary classifier with labels 2 and 4 (the Wisconsin data's original coding), six holdout rows and
 * v2 baking as a canary.
 */
export function classifierReport(): ModelReportData {
  return {
    name: 'breast-cancer',
    spec: { task: 'classification', target: 'malignant', metric: 'auc' },
    production: { version: 1, since: '2026-01-01T10:00:00.000Z', reason: 'first model' },
    candidate: {
      version: 2,
      since: '2026-01-02T10:00:00.000Z',
      reason: 'bakes',
      mode: 'canary',
      weight: 0.2,
      bakeUntil: '2026-01-02T10:30:00.000Z',
    },
    versions: [
      version({ version: 1, stage: 'production', metric: 'auc', metrics: { auc: 0.67, accuracy: 0.67 } }),
      version({ version: 2, stage: 'staging', metric: 'auc', metrics: { auc: 0.9, accuracy: 0.8 } }),
    ],
    runs: [],
    audit: [
      { at: '2026-01-01T10:00:00.000Z', action: 'promote', toVersion: 1, reason: 'first', actor: 'run-1' },
      {
        at: '2026-01-02T10:00:00.000Z',
        action: 'candidate_start',
        toVersion: 2,
        reason: 'bake',
        actor: 'run-2',
      },
    ],
    holdout: {
      version: 1,
      actual: [2, 2, 4, 4, 2, 4],
      // Row-major probabilities of classes [2, 4]: P(4) = 0.1, 0.4, 0.35, 0.8, 0.7, 0.55.
      predicted: [0.9, 0.1, 0.6, 0.4, 0.65, 0.35, 0.2, 0.8, 0.3, 0.7, 0.45, 0.55],
      classes: [2, 4],
    },
    generatedAt: '2026-01-05T12:00:00.000Z',
  };
}
