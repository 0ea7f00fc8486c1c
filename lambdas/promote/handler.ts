/**
 * Promotes a given version to production by hand (`driftline promote NAME VERSION`): the same conditional
 * write and audit as an automatic promotion.
 */
import { requiredEnv } from '../shared/config.ts';
import { BadRequestError } from '../shared/errors.ts';
import { logger, withObservability } from '../shared/observability.ts';
import { Registry } from '../shared/registry.ts';

const registry = new Registry(requiredEnv('REGISTRY_TABLE'));

export interface PromoteEvent {
  model: string;
  version: number;
  reason?: string;
  actor?: string;
}

export async function promote(event: PromoteEvent) {
  if (!event.model || !Number.isInteger(event.version))
    throw new BadRequestError('promote needs "model" and an integer "version"');
  const current = await registry.getPointer(event.model, 'production');
  const pointer = await registry.promote(event.model, event.version, {
    expected: current?.version,
    reason: event.reason ?? 'manual promotion',
    actor: event.actor ?? 'driftline promote',
  });
  logger.info('promoted by hand', { model: event.model, version: event.version, previous: current?.version });
  return { model: event.model, version: pointer.version, previous: current?.version ?? null };
}

export const handler = withObservability(promote, { metrics: false });
