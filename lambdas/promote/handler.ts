/**
 * Moves a version into production. By hand (`driftline promote NAME VERSION`): the same conditional write
 * and audit as an automatic promotion. On a schedule (`{ "action": "bake" }` every minute): every canary
 * or shadow whose bake ended without an alarm is promoted — an alarm during the bake would already have
 * removed it through the rollback function — unless production moved while it baked: then it was never
 * judged against what it would replace, and ends `superseded`. The same schedule supersedes candidates
 * stranded in `staging` by a run that ended without deciding their fate.
 */
import { requiredEnv } from '../shared/config.ts';
import { BadRequestError, ConflictError } from '../shared/errors.ts';
import { logger, withObservability } from '../shared/observability.ts';
import { Registry } from '../shared/registry.ts';

const registry = new Registry({ registry: requiredEnv('REGISTRY_TABLE'), runs: requiredEnv('RUNS_TABLE') });

export interface PromoteEvent {
  model: string;
  version: number;
  reason?: string;
  actor?: string;
}

export interface BakeEvent {
  action: 'bake';
}

/** Promotes every candidate whose bake has ended; returns what it did per model. */
async function completeBakes(now = new Date()) {
  const done: { model: string; version: number; result: string }[] = [];
  for (const model of await registry.listModels()) {
    for (const version of await registry.supersedeStranded(model, 'bake schedule')) {
      done.push({ model, version, result: 'superseded: its run ended without deciding' });
      logger.warn('stranded candidate superseded', { model, version });
    }
    const candidate = await registry.getPointer(model, 'canary');
    if (!candidate?.bakeUntil || Date.parse(candidate.bakeUntil) > now.getTime()) continue;
    try {
      const outcome = await registry.completeCandidate(model, candidate.version, {
        reason: `${candidate.mode ?? 'canary'} baked without an alarm since ${candidate.since}`,
        actor: 'bake schedule',
      });
      done.push({
        model,
        version: candidate.version,
        result: outcome.superseded ? 'superseded' : 'promoted',
      });
      logger.info(outcome.message, { model, version: candidate.version });
    } catch (error) {
      // A rollback or a newer candidate won the race: nothing to promote any more.
      if (!(error instanceof ConflictError)) throw error;
      done.push({ model, version: candidate.version, result: error.message });
    }
  }
  return { baked: done };
}

export async function promote(event: PromoteEvent | BakeEvent) {
  if ('action' in event && event.action === 'bake') return completeBakes();
  const { model, version, reason, actor } = event as PromoteEvent;
  if (!model || !Number.isInteger(version))
    throw new BadRequestError('promote needs "model" and an integer "version"');
  // A person's promotion is their judgement: it replaces whatever serves now, and ends a bake of the
  // same version early (the lifecycle removes its candidate pointer in the same write).
  const current = await registry.getPointer(model, 'production');
  const outcome = await registry.promote(model, version, {
    expected: current?.version,
    reason: reason ?? 'promoted by hand',
    actor: actor ?? 'driftline promote',
  });
  logger.info('promoted by hand', { model, version, previous: current?.version, result: outcome.message });
  return { model, version, previous: current?.version ?? null };
}

export const handler = withObservability(promote, { metrics: false });
