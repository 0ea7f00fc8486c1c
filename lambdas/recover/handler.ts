/**
 * Recovery without a person, on a schedule (and locally when the runtime starts): runs whose execution no
 * longer runs are marked `interrupted` with the reason, their drops are kept where the run put them or
 * handed to a new run, and drops under `incoming/` that no run claimed (their event was lost) get a run.
 * Every run it starts has a deterministic name and the drop's claim decides who owns it, so two
 * recoveries, or a recovery and a late event, never give a drop two runs. A candidate an interrupted run
 * left in `staging` is superseded by the bake schedule (the `promote` function, which may write what
 * serves; this function may not).
 */
import { type _Object, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import {
  describeFate,
  dropFate,
  type ExecutionState,
  interruptionReason,
  orphanRunId,
  resumeRunId,
  stillRunning,
} from '#core/recovery.ts';
import { s3Client, sfnClient } from '../shared/clients.ts';
import { requiredEnv } from '../shared/config.ts';
import { emitMetrics, logger, withObservability } from '../shared/observability.ts';
import { boundText, dropEvent } from '../shared/pipeline.ts';
import { type DropRef, dropDigest, Registry, type RunRecord } from '../shared/registry.ts';
import { headObject, keys } from '../shared/storage.ts';

const registry = new Registry({
  registry: requiredEnv('REGISTRY_TABLE'),
  runs: requiredEnv('RUNS_TABLE'),
});
const bucket = requiredEnv('DATA_BUCKET');
const stateMachineArn = requiredEnv('STATE_MACHINE_ARN');

/** How many of a model's latest runs are checked: runs of a model are serialised, so a live one is recent. */
const RUNS_CHECKED = 100;
/**
 * On the schedule, a drop younger than this may still have its event on the way (EventBridge delivers in
 * seconds, retries for hours): it is left to its event. Starting it anyway would be harmless (its claim
 * decides), only noisy. At start-up nothing is on the way.
 */
const SCHEDULED_GRACE_MS = 120_000;

const recoverEvent = z.looseObject({ trigger: z.enum(['start', 'schedule']).default('schedule') });
export type RecoverEvent = z.input<typeof recoverEvent>;

export interface Recovered {
  /** Runs marked `interrupted`, and what became of their drops. */
  interrupted: { model: string; runId: string; fate?: string }[];
  /** Runs started for drops whose event was lost, or whose claiming run died before recording itself. */
  started: { model: string; runId: string; key: string }[];
}

const executionArn = (runId: string) =>
  `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${runId}`;

async function executionState(runId: string): Promise<ExecutionState> {
  try {
    const { status } = await sfnClient().send(
      new DescribeExecutionCommand({ executionArn: executionArn(runId) }),
    );
    return (status ?? 'MISSING') as ExecutionState;
  } catch (error) {
    if ((error as Error).name === 'ExecutionDoesNotExist') return 'MISSING';
    throw error;
  }
}

/** Starts the run `runId` for a drop; false when an execution of that name exists (another recovery). */
async function startRun(runId: string, drop: DropRef): Promise<boolean> {
  try {
    await sfnClient().send(
      new StartExecutionCommand({ stateMachineArn, name: runId, input: JSON.stringify(dropEvent(drop)) }),
    );
    return true;
  } catch (error) {
    if ((error as Error).name === 'ExecutionAlreadyExists') return false;
    throw error;
  }
}

/**
 * Hands the drop claimed by `from` (which will never finish) to a new run and starts it; repeating it
 * starts nothing new.
 */
async function resumeDrop(model: string, drop: DropRef, from: string): Promise<string> {
  const to = resumeRunId(from);
  if ((await registry.handOverDrop(model, drop, from, to)) === to) await startRun(to, drop);
  return to;
}

/**
 * Marks a run whose execution stopped as `interrupted` (if still `running`), settles its drop and frees
 * the run lease it may hold, in that order: while the lease is held no other run moves the baseline, so
 * what the drop's fate is read from cannot change under it. A run that ran out of its lease's time is
 * handled the same way. Returns undefined for a run that is still running.
 */
async function recoverRun(run: RunRecord, now: Date): Promise<Recovered['interrupted'][number] | undefined> {
  const { model, runId } = run;
  let reason = run.failure?.reason ?? '';
  if (run.status === 'running') {
    const state = await executionState(runId);
    if (stillRunning(state)) return undefined;
    reason = boundText(interruptionReason(run.step, state));
    // A run that recorded its outcome after it was listed keeps it.
    if (!(await registry.interruptRun(run, reason, now.toISOString()))) return undefined;
    logger.warn('run interrupted', { model, runId, reason });
  }
  let fate: string | undefined;
  if (run.drop !== undefined && run.dropSettled === undefined) {
    const baseline = await registry.getBaseline(model);
    const held =
      run.heldSeq !== undefined && (await registry.isHeld(model, run.heldSeq)) ? run.heldSeq : undefined;
    const decided = dropFate(run, baseline?.runId, held);
    if (decided.kind === 'resume') await resumeDrop(model, run.drop, runId);
    fate = describeFate(decided);
    await registry.updateRun(model, run.startedAt, runId, {
      dropSettled: decided.kind === 'resume' ? 'resumed' : decided.kind,
      resumedBy: decided.kind === 'resume' ? decided.runId : undefined,
      failure: { error: 'Interrupted', reason: boundText(`${reason}; ${fate}`) },
    });
  }
  await registry.releaseLease(model, runId);
  return { model, runId, fate };
}

/** The drop under `incoming/` as its event would name it (the version id is only in a HEAD's answer). */
async function dropOfObject(object: _Object): Promise<DropRef | undefined> {
  const head = await headObject(bucket, object.Key!);
  return head === undefined ? undefined : { bucket, key: object.Key!, ...head };
}

/**
 * Starts a run for each drop of `model` that no run owns: objects nobody claimed, and claims whose run
 * never recorded itself (its first step died between the claim and the run record).
 * @param runs the model's latest runs; `complete` when they are all of its runs
 */
async function recoverDrops(
  model: string,
  objects: _Object[],
  runs: RunRecord[],
  complete: boolean,
): Promise<Recovered['started']> {
  const started: Recovered['started'] = [];
  const claims = await registry.listDropClaims(model);
  const claimed = new Set(claims.map((claim) => `${claim.drop.key}\n${claim.drop.etag}`));
  for (const object of objects) {
    if (claimed.has(`${object.Key}\n${(object.ETag ?? '').replaceAll('"', '')}`)) continue;
    const drop = await dropOfObject(object);
    if (drop === undefined || (await registry.dropOwner(model, drop)) !== undefined) continue;
    const runId = orphanRunId(dropDigest(drop));
    if (await startRun(runId, drop)) started.push({ model, runId, key: drop.key });
  }
  const known = new Set(runs.map((run) => run.runId));
  const oldest = complete ? '' : (runs.at(-1)?.startedAt ?? '');
  for (const claim of claims) {
    // A claim older than the runs read belongs to a run long finished.
    if (known.has(claim.runId) || claim.claimedAt < oldest) continue;
    // A run that ended records itself (register, recordFailure, or runEnded for one that stopped uncaught);
    // one whose execution does not exist never started (a recovery died before starting it) or was lost
    // with the runtime: it is started under its own name, which its claim already carries.
    if ((await executionState(claim.runId)) !== 'MISSING') continue;
    if (await startRun(claim.runId, claim.drop))
      started.push({ model, runId: claim.runId, key: claim.drop.key });
  }
  return started;
}

/** Every object under `incoming/`, by model (`incoming/<model>/…`). */
async function listDrops(): Promise<Map<string, _Object[]>> {
  const byModel = new Map<string, _Object[]>();
  let token: string | undefined;
  do {
    const page = await s3Client().send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'incoming/', ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      const model = object.Key?.split('/')[1];
      if (!model || object.Key === keys.incomingPrefix(model)) continue;
      byModel.set(model, [...(byModel.get(model) ?? []), object]);
    }
    token = page.NextContinuationToken;
  } while (token);
  return byModel;
}

/** Recovers every registered model at time `now` (injected by tests). */
export async function recover(event: RecoverEvent = {}, now = new Date()): Promise<Recovered> {
  const { trigger } = recoverEvent.parse(event ?? {});
  const cutoff = now.getTime() - (trigger === 'start' ? 0 : SCHEDULED_GRACE_MS);
  const recovered: Recovered = { interrupted: [], started: [] };
  const drops = await listDrops();
  for (const model of await registry.listModels()) {
    const runs = await registry.listRuns(model, RUNS_CHECKED);
    const unsettled = runs.filter(
      (run) =>
        run.status === 'running' ||
        (run.status === 'interrupted' && run.drop !== undefined && run.dropSettled === undefined),
    );
    const interrupted = [];
    for (const run of unsettled) {
      const result = await recoverRun(run, now);
      if (result) interrupted.push(result);
    }
    const objects = (drops.get(model) ?? []).filter(
      (object) => (object.LastModified?.getTime() ?? 0) <= cutoff,
    );
    const started = await recoverDrops(model, objects, runs, runs.length < RUNS_CHECKED);
    recovered.interrupted.push(...interrupted);
    recovered.started.push(...started);
    if (interrupted.length + started.length > 0) {
      logger.info('recovered', { model, interrupted, started });
      emitMetrics({ model }, [['model']], {
        RunsInterrupted: { unit: 'Count', value: interrupted.length },
        DropsRestarted: { unit: 'Count', value: started.length },
      });
    }
  }
  return recovered;
}

export const handler = withObservability((event: RecoverEvent) => recover(event), { metrics: false });
