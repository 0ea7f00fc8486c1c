/**
 * What the retraining pipeline's steps share beyond their contract (`contract.ts`): reading the trigger
 * event, loading the spec and tables, bounding failure reasons, and marking a run's progress.
 */
import { dropSpec, type ModelSpec, parseSpec } from '#core/spec.ts';
import type { Table } from '#core/types.ts';
import { validateDrop } from '#core/validate.ts';
import type { RunContext, S3ObjectCreated, TriggerEvent } from './contract.ts';
import { InvalidDataError } from './errors.ts';
import type { Baseline, DropRef, HeldBackDrop, Registry } from './registry.ts';
import { getBytes } from './storage.ts';

/** The trigger of a run that retrains without a drop (`schedule`, `manual`); undefined for a drop. */
export function retrainTrigger(event: TriggerEvent): 'schedule' | 'manual' | undefined {
  if (event.source === 'driftline.schedule') return 'schedule';
  if (event.source === 'driftline.retrain') return 'manual';
  return undefined;
}

/**
 * The model an event is for: a schedule names it, a drop's key does (`incoming/<model>/<file>`).
 * @throws InvalidDataError for a key outside `incoming/<model>/`.
 */
export function modelOfEvent(event: TriggerEvent): string {
  if (event.source !== 'aws.s3') return event.detail.model;
  const key = event.detail.object.key;
  const [prefix, model, ...rest] = key.split('/');
  if (prefix !== 'incoming' || !model || rest.length === 0) {
    throw new InvalidDataError(
      `drop "${key}" is not under incoming/<model>/; upload it as incoming/<model>/<file>.csv`,
    );
  }
  return model;
}

/** The drop an S3 event announces (undefined for a schedule or a retrain). */
export function dropOfEvent(event: TriggerEvent): DropRef | undefined {
  if (event.source !== 'aws.s3') return undefined;
  const { bucket, object } = event.detail;
  return {
    bucket: bucket.name,
    key: object.key,
    etag: (object.etag ?? '').replaceAll('"', ''),
    size: object.size ?? 0,
    versionId: object['version-id'],
  };
}

/** The event S3 sends for a drop, rebuilt from the drop (the inverse of {@link dropOfEvent}): recovery starts runs with it. */
export function dropEvent(drop: DropRef): S3ObjectCreated {
  return {
    source: 'aws.s3',
    detail: {
      bucket: { name: drop.bucket },
      object: {
        key: drop.key,
        size: drop.size,
        etag: drop.etag,
        ...(drop.versionId === undefined ? {} : { 'version-id': drop.versionId }),
      },
    },
  };
}

/** Where featurize wrote a variant's feature set: split for judging, or whole (`refit`) for the served model. */
export function featuresKey(prefix: string, variant: string, refit = false): string {
  return `${prefix}${variant}${refit ? '.all' : ''}.bin`;
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

/** The most a failure reason keeps: far below a registry item (400 KB) and a state's payload (256 KB). */
export const REASON_MAX_CHARS = 2_000;

/**
 * Text cut to its first `maxLines` lines and `maxChars` characters, saying how much was left out, so a
 * reason built from untrusted input (10,000 column names) still fits in a run record and in an event.
 * @example boundText('a\nb\nc', 100, 2) // 'a\nb… (1 more line, 2 more characters left out)'
 */
export function boundText(text: string, maxChars = REASON_MAX_CHARS, maxLines = 10): string {
  const lines = text.split('\n');
  const kept = lines.slice(0, maxLines).join('\n').slice(0, maxChars);
  if (kept.length === text.length) return text;
  const moreLines = lines.length - kept.split('\n').length;
  const more = (n: number, word: string) => `${n} more ${word}${n === 1 ? '' : 's'}`;
  const lineNote = moreLines > 0 ? `${more(moreLines, 'line')}, ` : '';
  return `${kept}… (${lineNote}${more(text.length - kept.length, 'character')} left out)`;
}

/** The first few error-level problems as one line a person can act on. */
export function summarizeProblems(problems: { severity: string; message: string }[], limit = 3): string {
  const errors = problems.filter((problem) => problem.severity === 'error');
  const shown = errors.slice(0, limit).map((problem) => boundText(problem.message, 500, 1));
  const more = errors.length > limit ? ` (and ${errors.length - limit} more problems)` : '';
  return `${shown.join('; ')}${more}`;
}

/**
 * The drops held back without drift since the baseline's dataset was merged, oldest first, each with its
 * number. This is the one place that knows where held-back drops are kept (one registry item each).
 * @param baseline the model's baseline when the caller has read it already.
 */
export async function loadHeldBackDrops(
  registry: Registry,
  model: string,
  baseline?: Baseline,
): Promise<HeldBackDrop[]> {
  const current = baseline ?? (await registry.getBaseline(model));
  return registry.listHeldBackDrops(model, current?.heldThrough ?? 0);
}

/** Marks the step a run is in (progress for `driftline upload` and the report) and how long the last took. */
export async function markStep(registry: Registry, run: RunContext, step: string): Promise<void> {
  await registry.updateRun(run.model, run.startedAt, run.runId, { step });
}
