/**
 * Where the forest engine's worker module is. Bundled Lambdas ship it as a separate file next to the
 * handler (`FOREST_WORKER_SCRIPT`); run from source, the engine finds it itself.
 */
import { optionalEnv } from './config.ts';

export function forestWorkerScript(): string | undefined {
  return optionalEnv('FOREST_WORKER_SCRIPT');
}
