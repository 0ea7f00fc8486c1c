/**
 * The contract of the `registerSpec` function: what `driftline specs add` (and `npm start`'s first run)
 * sends it, and what it answers. The spec itself is checked by the core's `parseSpec` in the function, so
 * the one place a spec enters the registry is also the one place it is validated.
 */
import * as z from 'zod';
import { PARSE_ONCE } from '#core/parse-once.ts';
import type { Task } from '#core/types.ts';
import { BadRequestError } from './errors.ts';

/** What the function is invoked with. */
export interface RegisterSpecRequest {
  /** The spec as its file holds it (parsed JSON); stored as sent, defaults applied when it is read. */
  spec: unknown;
}

const requestSchema: z.ZodType<RegisterSpecRequest> = z.object({
  spec: z.unknown().refine((spec) => spec !== undefined, 'is required (the spec as parsed JSON)'),
});

/** What the function answers for a spec it accepted. */
export interface RegisterSpecResult {
  /** The model the spec names. */
  model: string;
  task: Task;
  /** False when the registry already held this very spec: nothing was written. */
  changed: boolean;
}

/**
 * The request, checked.
 * @throws BadRequestError when the payload is not `{ "spec": … }`.
 * @example parseRegisterSpecRequest({ spec: { name: 'air', task: 'forecast' } }).spec
 */
export function parseRegisterSpecRequest(event: unknown): RegisterSpecRequest {
  const parsed = requestSchema.safeParse(event, PARSE_ONCE);
  if (!parsed.success)
    throw new BadRequestError(`a spec registration needs "spec": ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
