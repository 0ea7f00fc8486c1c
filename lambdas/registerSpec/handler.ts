/**
 * Registers a model spec (`driftline specs add`, and `npm start`'s first run): the one way a spec enters
 * the registry. IAM grants DynamoDB writes per table, never per sort key, so an operator allowed to write
 * a spec item directly could also write the production pointer, a version's stage or the audit trail. The
 * operator may only invoke this function, which writes a spec and its catalog entry and nothing else.
 *
 * The spec is checked with the core's `parseSpec` before anything is written: a bad spec fails the invoke
 * with `SpecError` (each bad field by path) and leaves the registry as it was. It is stored as sent (the
 * defaults are applied when it is read), and registering the very spec the registry holds writes nothing.
 */
import { parseSpec } from '#core/spec.ts';
import { requiredEnv } from '../shared/config.ts';
import { logger, withObservability } from '../shared/observability.ts';
import { Registry } from '../shared/registry.ts';
import { parseRegisterSpecRequest, type RegisterSpecResult } from '../shared/spec-registration.ts';

const registry = new Registry({ registry: requiredEnv('REGISTRY_TABLE') });

export async function registerSpec(event: unknown): Promise<RegisterSpecResult> {
  const { spec: raw } = parseRegisterSpecRequest(event);
  const spec = parseSpec(raw);
  const changed = await registry.registerSpec(spec.name, raw);
  logger.info(changed ? 'spec registered' : 'spec already registered', { model: spec.name });
  return { model: spec.name, task: spec.task, changed };
}

export const handler = withObservability(registerSpec, { metrics: false });
