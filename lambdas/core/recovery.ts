/**
 * Recovery without a person: the rules that decide what becomes of a run whose execution stopped without
 * recording its outcome (the local runtime was killed, an execution was lost), and of its drop. Pure: the
 * `recover` function reads the registry, Step Functions and the bucket, and applies what these decide.
 */
import { createHash } from 'node:crypto';

/** An execution's status as Step Functions reports it; `MISSING` when it does not exist (any more). */
export type ExecutionState =
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'TIMED_OUT'
  | 'ABORTED'
  | 'PENDING_REDRIVE'
  | 'MISSING';

/** What becomes of the drop of an interrupted run. */
export type DropFate =
  /** The run moved the baseline before it stopped: the drop's rows are in the dataset. */
  | { kind: 'merged' }
  /** The run held the drop back (no drift) before it stopped: the next retrain takes it. */
  | { kind: 'held'; seq: number }
  /** Neither: the drop gets a new run, `runId`, which takes over the drop's claim. */
  | { kind: 'resume'; runId: string };

/** Whether the run's execution can still record the run itself (so recovery must leave it alone). */
export function stillRunning(state: ExecutionState): boolean {
  return state === 'RUNNING' || state === 'PENDING_REDRIVE';
}

/**
 * Why a run is interrupted, in words a person can act on.
 * @example interruptionReason('train', 'MISSING') // 'the run stopped at train: its execution no longer exists …'
 */
export function interruptionReason(step: string, state: ExecutionState): string {
  const what =
    state === 'MISSING'
      ? 'its execution no longer exists (the runtime that ran it was stopped or killed)'
      : `its execution ended ${state} without recording the run's outcome`;
  return `the run stopped at ${step}: ${what}`;
}

/**
 * The deterministic name of the run that takes over a drop from `runId`: two recoveries acting on the same
 * interrupted run start the same execution (Step Functions refuses a second one of that name), so a drop
 * never gets two new runs.
 */
export function resumeRunId(runId: string): string {
  return `resume-${createHash('sha256').update(runId).digest('hex').slice(0, 40)}`;
}

/**
 * The deterministic name of the run recovery starts for a drop nobody claimed (its event was lost):
 * one name per S3 object (`claimDigest`, the digest its claim is keyed by).
 */
export function orphanRunId(claimDigest: string): string {
  return `drop-${claimDigest.slice(0, 40)}`;
}

/**
 * What becomes of an interrupted run's drop: kept where the run put it if the run's last effect on the
 * data took place (the baseline it wrote, or the held-back item it wrote), otherwise a new run.
 * @param baselineRunId the run that wrote the model's baseline (the run's lease is not released before
 *   this is decided, so no later run can have moved it)
 * @param heldSeq the held-back number the run recorded, if the held-back item under it exists
 */
export function dropFate(
  run: { runId: string },
  baselineRunId: string | undefined,
  heldSeq?: number,
): DropFate {
  if (baselineRunId === run.runId) return { kind: 'merged' };
  if (heldSeq !== undefined) return { kind: 'held', seq: heldSeq };
  return { kind: 'resume', runId: resumeRunId(run.runId) };
}

/** The fate of an interrupted run's drop, in words, for its run record. */
export function describeFate(fate: DropFate): string {
  switch (fate.kind) {
    case 'merged':
      return 'its drop was already merged into the baseline';
    case 'held':
      return `its drop was already held back (number ${fate.seq}) for the next retrain`;
    case 'resume':
      return `its drop was started again as run ${fate.runId}`;
  }
}
