/**
 * What the retraining pipeline's steps share beyond their contract (`contract.ts`): reading the trigger
 * event, loading the spec and tables, bounding failure reasons, and marking a run's progress.
 */

import { createHash } from 'node:crypto';
import { type ModelSpec, parseSpec } from '#core/spec.ts';
import { decodeTable, isTableFile, type StoredTable } from '#core/table-file.ts';
import type { Table } from '#core/types.ts';
import type { RunContext, S3ObjectCreated, SpecRef, TriggerEvent } from './contract.ts';
import { InvalidDataError, RunEndedError, StepInputError } from './errors.ts';
import type { Baseline, DropRef, HeldBackDrop, Registry } from './registry.ts';
import { getBytes, keys, putBytes } from './storage.ts';

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
    ...(object.sequencer ? { sequencer: object.sequencer } : {}),
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
        ...(drop.sequencer === undefined ? {} : { sequencer: drop.sequencer }),
      },
    },
  };
}

/** Where featurize wrote a variant's feature set: split for judging, or whole (`refit`) for the served model. */
export function featuresKey(prefix: string, variant: string, refit = false): string {
  return `${prefix}${variant}${refit ? '.all' : ''}.bin`;
}

/** The model's spec as registered. @throws InvalidDataError (the run can't proceed) when none is. */
async function registeredSpec(registry: Registry, model: string): Promise<unknown> {
  const stored = await registry.getSpec(model);
  if (stored === undefined) {
    throw new InvalidDataError(
      `no spec is registered for model "${model}": register one with "driftline specs add <spec.json>", then upload the file again`,
    );
  }
  return stored;
}

const sha256Hex = (bytes: string | Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Parsed run specs by their snapshot's sha256: a warm container reads a run's spec once. */
const runSpecs = new Map<string, ModelSpec>();
/** Specs a container keeps (a few models' runs at a time). */
const RUN_SPECS_KEPT = 16;

function keepRunSpec(sha256: string, spec: ModelSpec): ModelSpec {
  runSpecs.delete(sha256);
  runSpecs.set(sha256, spec);
  if (runSpecs.size > RUN_SPECS_KEPT) runSpecs.delete(runSpecs.keys().next().value as string);
  return spec;
}

/**
 * Pins the model's registered spec for a run: writes it as the run's snapshot (`runs/<model>/<runId>/spec.json`)
 * and returns it parsed, with the reference every later step of the run reads it by. Safe to repeat: a
 * retried validate pins the spec registered then, before any later step has read the snapshot.
 * @throws InvalidDataError when no spec is registered; SpecError when the registered spec is invalid.
 */
export async function pinSpec(
  registry: Registry,
  bucket: string,
  model: string,
  runId: string,
): Promise<{ spec: ModelSpec; ref: SpecRef }> {
  const registered = await registeredSpec(registry, model);
  const spec = parseSpec(registered);
  const stored = JSON.stringify(registered);
  const ref = { key: keys.run(model, runId, 'spec.json'), sha256: sha256Hex(stored) };
  await putBytes(bucket, ref.key, stored, 'application/json');
  return { spec, ref };
}

/**
 * The spec a run started with, from the snapshot {@link pinSpec} wrote.
 * @throws StepInputError when the snapshot is not the one the run's reference names.
 */
export async function loadRunSpec(run: RunContext): Promise<ModelSpec> {
  const cached = runSpecs.get(run.spec.sha256);
  if (cached) return cached;
  const bytes = await getBytes(run.bucket, run.spec.key);
  if (sha256Hex(bytes) !== run.spec.sha256) {
    throw new StepInputError(
      `the spec snapshot ${run.spec.key} of run ${run.runId} is not the one the run started with (sha256 ${run.spec.sha256}); something rewrote it: start the run again`,
    );
  }
  return keepRunSpec(run.spec.sha256, parseSpec(JSON.parse(new TextDecoder().decode(bytes))));
}

/**
 * Reads a validated table (a drop `validate` passed, or a dataset `merge` wrote) from the bucket, with
 * its row hashes. Nothing is parsed or checked again: the table was checked once, when it came in.
 * @throws InvalidDataError when the object is not a validated table (e.g. a CSV dataset stored by an
 *   older driftline).
 */
export async function loadStoredTable(bucket: string, key: string): Promise<StoredTable> {
  const bytes = await getBytes(bucket, key);
  if (!isTableFile(bytes)) {
    throw new InvalidDataError(
      `${key} is not a validated table (data stored before driftline kept validated tables); upload its data again`,
    );
  }
  return decodeTable(bytes);
}

/** The table of {@link loadStoredTable}. */
export async function loadTable(bucket: string, key: string): Promise<Table> {
  return (await loadStoredTable(bucket, key)).table;
}

/**
 * The validated table of a drop, from the data bucket.
 * @throws InvalidDataError when the drop was never validated into a table.
 */
export async function loadDropTable(bucket: string, drop: DropRef): Promise<Table> {
  if (drop.table === undefined) {
    throw new InvalidDataError(
      `drop ${drop.key} has no validated table (it was held back by an older driftline); upload it again`,
    );
  }
  return loadTable(bucket, drop.table);
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

/**
 * Marks the step a run is in (progress for `driftline upload` and the report).
 * @throws {RunEndedError} when the run has already ended: the step must not work for it.
 */
export async function markStep(registry: Registry, run: RunContext, step: string): Promise<void> {
  if (!(await registry.updateRun(run.model, run.startedAt, run.runId, { step }))) {
    throw new RunEndedError(`run ${run.runId} of "${run.model}" had already ended when ${step} began`);
  }
}
