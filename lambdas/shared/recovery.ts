/**
 * Recovery's I/O: which runs' executions stopped, which drops under `incoming/` no run owns, and starting
 * the runs that settle them. The decisions (a drop's fate, run names, reasons) are `#core/recovery.ts`'s;
 * this module reads the registry, S3 and Step Functions for them and writes what they decide. The
 * `recover` handler only parses its trigger and reports.
 *
 * Every run started here has a deterministic name and the drop's claim decides who owns it, so two
 * recoveries, or a recovery and a late event, never give a drop two runs.
 */
import { type _Object, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import {
  describeFate,
  dropFate,
  type ExecutionState,
  interruptionReason,
  orphanRunId,
  resumeRunId,
  stillRunning,
} from '#core/recovery.ts';
import { s3Client, sfnClient } from './clients.ts';
import { logger } from './observability.ts';
import { boundText, dropEvent } from './pipeline.ts';
import { type DropRef, dropDigest, type Registry, type RunRecord } from './registry.ts';
import { headObject, keys } from './storage.ts';

/** How many of a model's latest runs are checked: runs of a model are serialised, so a live one is recent. */
const RUNS_CHECKED = 100;

/** What one recovery did. */
export interface Recovered {
  /** Runs marked `interrupted`, and what became of their drops. */
  interrupted: { model: string; runId: string; fate?: string }[];
  /** Runs started for drops whose event was lost, or whose claiming run died before recording itself. */
  started: { model: string; runId: string; key: string }[];
}

/** The pipeline's executions, by run id (the execution's name). */
export interface Executions {
  /** The execution's status; `MISSING` when none has that name. */
  state(runId: string): Promise<ExecutionState>;
  /** Starts the run `runId` for a drop; false when an execution of that name exists (another recovery). */
  start(runId: string, drop: DropRef): Promise<boolean>;
}

/** {@link Executions} of a Step Functions state machine. */
export function stepFunctionsExecutions(stateMachineArn: string): Executions {
  const executionArn = (runId: string) =>
    `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${runId}`;
  return {
    async state(runId) {
      try {
        const { status } = await sfnClient().send(
          new DescribeExecutionCommand({ executionArn: executionArn(runId) }),
        );
        return (status ?? 'MISSING') as ExecutionState;
      } catch (error) {
        if ((error as Error).name === 'ExecutionDoesNotExist') return 'MISSING';
        throw error;
      }
    },
    async start(runId, drop) {
      try {
        await sfnClient().send(
          new StartExecutionCommand({ stateMachineArn, name: runId, input: JSON.stringify(dropEvent(drop)) }),
        );
        return true;
      } catch (error) {
        if ((error as Error).name === 'ExecutionAlreadyExists') return false;
        throw error;
      }
    },
  };
}

/** Every object under `incoming/` of `bucket`, by model (`incoming/<model>/…`). */
export async function listDrops(bucket: string): Promise<Map<string, _Object[]>> {
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

/** Recovery of the runs and drops of the models in one registry and data bucket. */
export class Recovery {
  private readonly registry: Registry;
  private readonly bucket: string;
  private readonly executions: Executions;

  constructor(registry: Registry, bucket: string, executions: Executions) {
    this.registry = registry;
    this.bucket = bucket;
    this.executions = executions;
  }

  /**
   * Recovers one model at time `now`: settles its runs whose execution stopped, then starts a run for
   * each of `objects` (its drops old enough to have no event on the way) that no run owns.
   */
  async recoverModel(model: string, objects: _Object[], now: Date): Promise<Recovered> {
    const runs = await this.registry.listRuns(model, RUNS_CHECKED);
    const unsettled = runs.filter(
      (run) =>
        run.status === 'running' ||
        (run.status === 'interrupted' && run.drop !== undefined && run.dropSettled === undefined),
    );
    const interrupted: Recovered['interrupted'] = [];
    for (const run of unsettled) {
      const result = await this.recoverRun(run, now);
      if (result) interrupted.push(result);
    }
    const started = await this.recoverDrops(model, objects, runs, runs.length < RUNS_CHECKED);
    return { interrupted, started };
  }

  /**
   * Hands the drop claimed by `from` (which will never finish) to a new run and starts it; repeating it
   * starts nothing new.
   */
  private async resumeDrop(model: string, drop: DropRef, from: string): Promise<string> {
    const to = resumeRunId(from);
    if ((await this.registry.handOverDrop(model, drop, from, to)) === to)
      await this.executions.start(to, drop);
    return to;
  }

  /**
   * Marks a run whose execution stopped as `interrupted` (if still `running`), settles its drop and frees
   * the run lease it may hold, in that order: while the lease is held no other run moves the baseline, so
   * what the drop's fate is read from cannot change under it. A run that ran out of its lease's time is
   * handled the same way. Returns undefined for a run that is still running.
   */
  private async recoverRun(run: RunRecord, now: Date): Promise<Recovered['interrupted'][number] | undefined> {
    const { model, runId } = run;
    let reason = run.failure?.reason ?? '';
    if (run.status === 'running') {
      const state = await this.executions.state(runId);
      if (stillRunning(state)) return undefined;
      reason = boundText(interruptionReason(run.step, state));
      // A run that recorded its outcome after it was listed keeps it.
      if (!(await this.registry.interruptRun(run, reason, now.toISOString()))) return undefined;
      logger.warn('run interrupted', { model, runId, reason });
    }
    let fate: string | undefined;
    if (run.drop !== undefined && run.dropSettled === undefined) {
      const baseline = await this.registry.getBaseline(model);
      const held =
        run.heldSeq !== undefined && (await this.registry.isHeld(model, run.heldSeq))
          ? run.heldSeq
          : undefined;
      const decided = dropFate(run, baseline?.runId, held);
      if (decided.kind === 'resume') await this.resumeDrop(model, run.drop, runId);
      fate = describeFate(decided);
      await this.registry.updateRun(model, run.startedAt, runId, {
        dropSettled: decided.kind === 'resume' ? 'resumed' : decided.kind,
        resumedBy: decided.kind === 'resume' ? decided.runId : undefined,
        failure: { error: 'Interrupted', reason: boundText(`${reason}; ${fate}`) },
      });
    }
    await this.registry.releaseLease(model, runId);
    return { model, runId, fate };
  }

  /** The drop under `incoming/` as its event would name it (the version id is only in a HEAD's answer). */
  private async dropOfObject(object: _Object): Promise<DropRef | undefined> {
    const head = await headObject(this.bucket, object.Key!);
    return head === undefined ? undefined : { bucket: this.bucket, key: object.Key!, ...head };
  }

  /**
   * Starts a run for each drop of `model` that no run owns: objects nobody claimed, and claims whose run
   * never recorded itself (its first step died between the claim and the run record).
   * @param runs the model's latest runs; `complete` when they are all of its runs
   */
  private async recoverDrops(
    model: string,
    objects: _Object[],
    runs: RunRecord[],
    complete: boolean,
  ): Promise<Recovered['started']> {
    const started: Recovered['started'] = [];
    const claims = await this.registry.listDropClaims(model);
    const claimed = new Set(claims.map((claim) => `${claim.drop.key}\n${claim.drop.etag}`));
    for (const object of objects) {
      if (claimed.has(`${object.Key}\n${(object.ETag ?? '').replaceAll('"', '')}`)) continue;
      const drop = await this.dropOfObject(object);
      if (drop === undefined || (await this.registry.dropOwner(model, drop)) !== undefined) continue;
      const runId = orphanRunId(dropDigest(drop));
      if (await this.executions.start(runId, drop)) started.push({ model, runId, key: drop.key });
    }
    const known = new Set(runs.map((run) => run.runId));
    const oldest = complete ? '' : (runs.at(-1)?.startedAt ?? '');
    for (const claim of claims) {
      // A claim older than the runs read belongs to a run long finished.
      if (known.has(claim.runId) || claim.claimedAt < oldest) continue;
      // A run that ended records itself (register, recordFailure, or runEnded for one that stopped uncaught);
      // one whose execution does not exist never started (a recovery died before starting it) or was lost
      // with the runtime: it is started under its own name, which its claim already carries.
      if ((await this.executions.state(claim.runId)) !== 'MISSING') continue;
      if (await this.executions.start(claim.runId, claim.drop))
        started.push({ model, runId: claim.runId, key: claim.drop.key });
    }
    return started;
  }
}
