/**
 * Second step of a run, once `admit` gave it the model's run lease: from the EventBridge "Object Created"
 * event (or a schedule or retrain event), find the model and the drop, check the drop against the model's
 * spec, and open the run record.
 * A drop that fails the gate ends the run with `InvalidDataError` naming the problems; the file stays.
 */
import { createHash } from 'node:crypto';
import { rowHashes } from '#core/splits.ts';
import { encodeTableParts } from '#core/table-file.ts';
import { dropSizeProblem, specLimits, validateDrop } from '#core/validate.ts';
import { requiredEnv } from '../shared/config.ts';
import {
  type RunContext,
  stepInput,
  type ValidateInput,
  type Validation,
  validateInputSchema,
} from '../shared/contract.ts';
import { InvalidDataError, RunEndedError } from '../shared/errors.ts';
import { logger, metrics, withObservability } from '../shared/observability.ts';
import {
  dropOfEvent,
  loadHeldBackDrops,
  modelOfEvent,
  pinSpec,
  retrainTrigger,
  summarizeProblems,
} from '../shared/pipeline.ts';
import { type Baseline, type DropRef, Registry } from '../shared/registry.ts';
import { getWriteStream, headObject, keys, putJson, putParts } from '../shared/storage.ts';

const registry = new Registry({ registry: requiredEnv('REGISTRY_TABLE'), runs: requiredEnv('RUNS_TABLE') });

/** Opens the run's record. @throws {RunEndedError} when the run ended before validate began (stopped). */
async function openRun(run: Parameters<Registry['startRun']>[0]): Promise<void> {
  if (!(await registry.startRun(run))) {
    throw new RunEndedError(`run ${run.runId} of "${run.model}" had already ended when validate began`);
  }
}
const dataBucket = requiredEnv('DATA_BUCKET');

export async function validate(input: ValidateInput): Promise<Validation> {
  const { event, runId, startedAt } = input;
  const model = modelOfEvent(event);
  logger.appendKeys({ model, runId });
  await registry.recordStepTime({ model, startedAt, runId }, 'validate', 'start', new Date().toISOString());
  const validation = await validateRun(input, model);
  await registry.recordStepTime({ model, startedAt, runId }, 'validate', 'end', new Date().toISOString());
  return validation;
}

/**
 * Why a retrain has nothing to learn from, or undefined when it has: no drop is held back and the
 * production model was fitted on the whole baseline. Such a run could only train on rows the champion
 * trained on, and a candidate is judged only on rows the champion never saw, so it would fail for want
 * of a holdout; it ends as a no-op instead, the way a drop without drift does. (After a rollback the
 * champion's dataset is an older one, so the rows added since are new to it and the retrain goes on.)
 */
async function nothingNewSince(model: string, baseline: Baseline): Promise<string | undefined> {
  if ((await loadHeldBackDrops(registry, model, baseline)).length > 0) return undefined;
  const production = await registry.getPointer(model, 'production');
  const champion = production && (await registry.getVersion(model, production.version));
  if (champion?.lineage.dataset.key !== baseline.datasetKey) return undefined;
  return `nothing new since version ${champion.version} was trained: no drop is held back and it was fitted on the whole baseline (${baseline.rows} rows)`;
}

/** Opens the run record and checks the drop (a retrain checks nothing: it trains on what is held). */
async function validateRun(input: ValidateInput, model: string): Promise<Validation> {
  const { event, runId, startedAt } = input;
  // The spec this run uses from here to its end, whatever happens to the registered one meanwhile.
  const { spec, ref } = await pinSpec(registry, dataBucket, model, runId);
  const baseline = await registry.getBaseline(model);

  // Schedules and `driftline retrain` skip the drift test (the state machine sends only drops through the
  // gate): they merge the drops held back so far into the baseline and train.
  const retrain = retrainTrigger(event);
  if (retrain) {
    if (!baseline)
      throw new InvalidDataError(`model "${model}" has no data yet: a ${retrain} retrain needs a first drop`);
    const run: RunContext = { model, runId, startedAt, bucket: dataBucket, trigger: retrain, spec: ref };
    await openRun({ model, runId, startedAt, trigger: retrain, status: 'running', step: 'validate' });
    const upToDate = await nothingNewSince(model, baseline);
    if (upToDate) logger.info('nothing new to train on: the run ends without training', { trigger: retrain });
    return { run, validation: { rows: baseline.rows, warnings: [], ...(upToDate && { upToDate }) } };
  }

  const drop = dropOfEvent(event)!;
  const { bucket, key } = drop;
  const trigger = baseline ? 'drop' : 'first_model';
  await openRun({ model, runId, startedAt, trigger, status: 'running', step: 'validate', drop });

  // The size comes with the S3 event; a drop over the limit fails before a byte of it is read, so it
  // can never take the function's memory. Events without a size (a hand-started run) ask S3.
  const size = drop.size > 0 ? drop.size : ((await headObject(bucket, key))?.size ?? 0);
  const tooLarge = dropSizeProblem(size, spec);
  if (tooLarge) {
    const refused = { ok: false, rowCount: 0, columns: [], problems: [tooLarge] };
    await putJson(dataBucket, keys.run(model, runId, 'validation.json'), refused);
    throw new InvalidDataError(`${key} was not read: ${tooLarge.message}`);
  }
  // The drop streams through the reader into typed columns (never whole in memory as bytes or text),
  // hashed on the way; the validated table is stored once for every later step to read. The body's
  // chunks are the reader's once hashed, so it frees each as soon as it has read it.
  const digest = createHash('sha256');
  // The write this run's event named (S3 keeps one object per key where it keeps no versions): a drop
  // overwritten before its run began is not read as the newer one, whose own event starts its own run.
  const stream = await getWriteStream(bucket, key, drop);
  if (stream === undefined)
    throw new InvalidDataError(
      `${key} was replaced by a newer upload before this run read it (its ETag is no longer ${drop.etag}); the newer upload has a run of its own`,
    );
  const body = stream;
  async function* hashed(): AsyncGenerator<Uint8Array> {
    for await (const chunk of body) {
      digest.update(chunk);
      yield chunk;
    }
  }
  const report = await validateDrop(hashed(), spec, {
    ...specLimits(spec),
    expectedBytes: size,
    releaseChunks: true,
    laterDrop: baseline !== undefined,
  });
  await putJson(dataBucket, keys.run(model, runId, 'validation.json'), { ...report, table: undefined });
  metrics.addDimension('model', model);
  metrics.addMetric('DropRows', 'Count', report.rowCount);
  if (!report.ok || !report.table) {
    throw new InvalidDataError(`${key} failed validation: ${summarizeProblems(report.problems)}`);
  }
  const tableKey = keys.dropTable(model, runId);
  // Sent from the columns' own memory: the table is never copied into one file-sized buffer.
  const stored = encodeTableParts({ table: report.table, rowHashes: rowHashes(spec, report.table) });
  await putParts(dataBucket, tableKey, stored, 'application/octet-stream');
  const validated: DropRef = {
    ...drop,
    sha256: digest.digest('hex'),
    rows: report.rowCount,
    table: tableKey,
  };
  const run: RunContext = {
    model,
    runId,
    startedAt,
    bucket: dataBucket,
    trigger,
    drop: validated,
    spec: ref,
  };
  await registry.updateRun(model, startedAt, runId, { drop: validated });
  const warnings = report.problems
    .filter((problem) => problem.severity === 'warning')
    .map((problem) => problem.message);
  logger.info('drop validated', { rows: report.rowCount, warnings: warnings.length, trigger });
  return { run, validation: { rows: report.rowCount, warnings } };
}

export const handler = withObservability(validate).use(stepInput('validate', validateInputSchema));
