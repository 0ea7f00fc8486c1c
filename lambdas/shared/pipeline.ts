/**
 * What the retraining pipeline's steps hand each other (small JSON: keys and summaries, never data), and
 * the loading every step shares: the spec from the registry, tables from the bucket.
 */
import { dropSpec, type ModelSpec, parseSpec } from '#core/spec.ts';
import type { Candidate } from '#core/training.ts';
import type { ForestParams, Table } from '#core/types.ts';
import { validateDrop } from '#core/validate.ts';
import { InvalidDataError } from './errors.ts';
import type { DropRef, Registry, RunRecord } from './registry.ts';
import { getBytes } from './storage.ts';

/** The run every step receives as `run`: which model, which execution, what started it. */
export interface RunContext {
  model: string;
  runId: string;
  startedAt: string;
  bucket: string;
  trigger: RunRecord['trigger'];
  /** The drop that started the run (absent for a scheduled retrain). */
  drop?: DropRef;
}

/** A hyperparameter candidate as the Map state fans them out. */
export type CandidatePlan = Candidate;

/** What `featurize` hands on: where the feature sets are, and what is scored how. */
export interface FeaturesRef {
  prefix: string;
  variants: string[];
  metric: string;
  direction: 'lower' | 'higher';
  rows: { fit: number; validation: number; holdout: number };
  engine: string;
  seed: number;
  /** The production version the holdout was drawn against (absent for the first model): evaluate scores this one. */
  championVersion?: number;
}

/** One trial's result, as the Map returns it. */
export interface TrialResult extends CandidatePlan {
  score: number;
  metrics: Record<string, number>;
  seconds: number;
}

/** A slice of the final forest's trees, fitted by one Lambda. */
export interface ShardPlan {
  index: number;
  variant: string;
  params: ForestParams;
  seed: number;
  treeStart: number;
  treeCount: number;
}

export interface ShardResult {
  index: number;
  key: string;
  trees: number;
  seconds: number;
}

/** The model's spec from the registry. @throws InvalidDataError (the run can't proceed) when none is registered. */
export async function loadSpec(registry: Registry, model: string): Promise<ModelSpec> {
  const stored = await registry.getSpec(model);
  if (stored === undefined) {
    throw new InvalidDataError(
      `no spec is registered for model "${model}": register one with "driftline specs add <spec.json>", then upload the file again`,
    );
  }
  return parseSpec(stored);
}

/**
 * Reads a CSV from the bucket as a typed table, checked against the spec (as a later drop when `asDrop`).
 * @throws InvalidDataError with the first problems when the file does not pass validation.
 */
export async function loadTable(
  bucket: string,
  key: string,
  spec: ModelSpec,
  asDrop = false,
): Promise<Table> {
  const report = await validateDrop(await getBytes(bucket, key), asDrop ? dropSpec(spec) : spec);
  if (!report.ok || !report.table) {
    throw new InvalidDataError(`${key}: ${summarizeProblems(report.problems)}`);
  }
  return report.table;
}

/** The first few error-level problems as one line a person can act on. */
export function summarizeProblems(problems: { severity: string; message: string }[], limit = 3): string {
  const errors = problems.filter((problem) => problem.severity === 'error');
  const shown = errors.slice(0, limit).map((problem) => problem.message);
  const more = errors.length > limit ? ` (and ${errors.length - limit} more problems)` : '';
  return `${shown.join('; ')}${more}`;
}

/** Marks the step a run is in (progress for `driftline upload` and the report) and how long the last took. */
export async function markStep(registry: Registry, run: RunContext, step: string): Promise<void> {
  await registry.updateRun(run.model, run.startedAt, run.runId, { step });
}
