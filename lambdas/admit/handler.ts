/**
 * First step of every run: admits it. A drop already claimed by another run (a duplicate delivery of the
 * same S3 event) ends this execution as a duplicate; otherwise the run takes the model's run lease, or
 * waits for it (the state machine loops through a Wait state) while another run of the model holds it.
 * Runs of one model therefore never overlap, and a drop arriving during a run is taken by the next one.
 */
import { requiredEnv } from '../shared/config.ts';
import { type Admission, type AdmitInput, admitInputSchema, stepInput } from '../shared/contract.ts';
import { ConfigError, RunLeaseTimeoutError } from '../shared/errors.ts';
import { logger, withObservability } from '../shared/observability.ts';
import { dropOfEvent, modelOfEvent, retrainTrigger } from '../shared/pipeline.ts';
import { Registry } from '../shared/registry.ts';

/** A whole number of seconds from the environment. @throws ConfigError naming the variable. */
function secondsEnv(name: string): number {
  const value = Number(requiredEnv(name));
  if (!Number.isInteger(value) || value <= 0)
    throw new ConfigError(`environment variable ${name} must be a positive whole number of seconds`);
  return value;
}

const registry = new Registry({ runs: requiredEnv('RUNS_TABLE') });
/** How long a lease lasts if its holder dies without releasing it: the longest a run may take. */
const leaseSeconds = secondsEnv('RUN_LEASE_SECONDS');
/** How long a run waits for the lease before it fails. */
const waitSeconds = secondsEnv('RUN_LEASE_WAIT_SECONDS');

/** Admits the run at time `now` (ms since the epoch; injected by tests). */
export async function admit(input: AdmitInput, now = Date.now()): Promise<Admission> {
  const { event, runId, startedAt } = input;
  const model = modelOfEvent(event);
  logger.appendKeys({ model, runId });
  const drop = dropOfEvent(event);
  if (drop) {
    const owner = await registry.claimDrop(model, drop, runId, new Date(now).toISOString());
    if (owner !== runId) {
      logger.info('duplicate event: the drop already has a run', { key: drop.key, owner });
      return { status: 'duplicate', model, runId: owner };
    }
  }
  const lease = await registry.acquireLease(model, runId, now, now + leaseSeconds * 1000);
  if (lease.acquired) {
    await registry.updateRun(model, startedAt, runId, {
      model,
      runId,
      startedAt,
      trigger: retrainTrigger(event) ?? 'drop',
      status: 'running',
      step: 'validate',
      drop,
    });
    return { status: 'admitted', model };
  }
  const holder = lease.holder.holder ?? 'another run';
  const waited = (now - Date.parse(startedAt)) / 1000;
  if (waited > waitSeconds) {
    throw new RunLeaseTimeoutError(
      `waited ${Math.round(waited)} s for run ${holder} of "${model}" to finish (the limit is ${waitSeconds} s); upload the file again once it has`,
    );
  }
  await registry.updateRun(model, startedAt, runId, {
    model,
    runId,
    startedAt,
    trigger: retrainTrigger(event) ?? 'drop',
    status: 'running',
    step: `queued behind run ${holder}`,
    drop,
  });
  return { status: 'waiting', model, holder, since: lease.holder.since };
}

export const handler = withObservability((input: AdmitInput) => admit(input), { metrics: false }).use(
  stepInput('admit', admitInputSchema),
);
