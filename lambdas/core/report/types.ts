/**
 * What the report pages are rendered from: plain data in the shapes the registry and the run artifacts
 * already have (the registry's records are assignable to these), so the pages handler only gathers and
 * the rendering stays pure and testable without storage.
 */
import type { DatasetDrift } from '../drift.ts';
import type { MetricName } from '../metrics.ts';
import type { Task } from '../types.ts';
import type { DatasetSummary } from './format.ts';

/** A version's stage, as the registry records it. */
export type VersionStage =
  | 'none'
  | 'staging'
  | 'production'
  | 'archived'
  | 'rejected'
  | 'rolled_back'
  | 'superseded';

/** What a report needs of a model spec. */
export interface ReportSpec {
  task: Task;
  target: string;
  metric: MetricName;
  description?: string;
}

/** A registered model version. */
export interface ReportVersion {
  version: number;
  stage: VersionStage;
  runId: string;
  createdAt: string;
  promotedAt?: string;
  reason: string;
  metric: string;
  metrics: Record<string, number>;
  championMetrics?: Record<string, number>;
  championVersion?: number;
  params: Record<string, unknown>;
  engine: string;
  lineage?: { dataset: { rows: number }; trainRows: number; holdoutRows: number };
}

/** The production pointer, or the candidate's. */
export interface ReportPointer {
  version: number;
  since: string;
  reason: string;
  /** Candidate only: `canary` answers a `weight` share (0..1) of requests, `shadow` predicts silently. */
  mode?: 'canary' | 'shadow';
  weight?: number;
  /** Candidate only: the end of the bake. */
  bakeUntil?: string;
}

/** One pipeline run. */
export interface ReportRun {
  runId: string;
  startedAt: string;
  trigger: string;
  status: string;
  step?: string;
  outcome?: string;
  decision?: string;
  version?: number;
  failure?: { error: string; reason: string };
  finishedAt?: string;
  /** How long each step took, by step name in the order they started. */
  durations?: Record<string, { seconds?: number }>;
  /** The dataset the run merged (runs that merged). */
  dataset?: DatasetSummary;
}

/** One change of what serves. */
export interface ReportAudit {
  at: string;
  action: string;
  fromVersion?: number;
  toVersion?: number;
  reason: string;
  actor: string;
}

/** The drift report a run wrote (`runs/<model>/<runId>/drift.json`) and which run it belongs to. */
export interface ReportDrift {
  runId: string;
  startedAt: string;
  report: DatasetDrift & { reference?: string; current?: string };
}

/**
 * A version's holdout predictions (`runs/<model>/<runId>/holdout.json`). `predicted` holds one value per
 * row for forecasts and regressions, and for classifiers the row-major class probabilities (rows ×
 * `classes.length`). `classes` are the class labels, ascending; `labels` optionally name each holdout
 * row on the chart's x axis (the month of a forecast step).
 */
export interface ReportHoldout {
  version: number;
  actual: number[];
  predicted: number[];
  classes: number[];
  labels?: string[];
}

/** Everything the model report shows. */
export interface ModelReportData {
  name: string;
  spec: ReportSpec;
  production?: ReportPointer;
  /** A version baking as canary or shadow before it may take all traffic. */
  candidate?: ReportPointer;
  /** Any order; the report sorts them. */
  versions: ReportVersion[];
  /** Newest first. */
  runs: ReportRun[];
  /** Oldest first. */
  audit: ReportAudit[];
  drift?: ReportDrift;
  holdout?: ReportHoldout;
  /** Primary metric measured on labelled live traffic, per version number. */
  liveMetrics?: Record<number, number>;
  /** When the page was rendered (ISO). */
  generatedAt: string;
}

/** One row of the index page. */
export interface ModelSummary {
  name: string;
  task: Task;
  metric: MetricName;
  description?: string;
  productionVersion?: number;
  /** The production version's holdout value of the primary metric. */
  productionScore?: number;
  candidate?: { version: number; mode: 'canary' | 'shadow' };
  versionCount: number;
  lastRun?: ReportRun;
}
