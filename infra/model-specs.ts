/**
 * The model specs the stack is built for: each `*.json` in the specs folder becomes a schedule rule (when
 * it has `schedule`), alarms and a dashboard. Specs go through the same {@link parseSpec} as the
 * pipeline, so a spec that would fail at run time fails the synth instead, with the file's name.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ModelSpec, parseSpec } from '#core/spec.ts';

/** A spec file that cannot be read, parsed or checked, or two files naming the same model. */
export class ModelSpecFileError extends Error {
  override readonly name = 'ModelSpecFileError';
}

function readSpecFile(path: string): ModelSpec {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ModelSpecFileError(`${path}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
  try {
    return parseSpec(json);
  } catch (error) {
    throw new ModelSpecFileError(`${path}:\n${(error as Error).message}`, { cause: error });
  }
}

/**
 * Every model spec in `dir`, in file-name order. A missing folder means no models yet (a fresh clone
 * deploys the plumbing first), not an error.
 * @throws {ModelSpecFileError} on a malformed spec or a model name used twice.
 * @example loadModelSpecs('/repo/data/specs').map((spec) => spec.name) // ['air-passengers', 'breast-cancer']
 */
export function loadModelSpecs(dir: string): ModelSpec[] {
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort();
  const specs = files.map((file) => readSpecFile(join(dir, file)));
  const seen = new Map<string, string>();
  specs.forEach((spec, index) => {
    const earlier = seen.get(spec.name);
    if (earlier !== undefined) {
      throw new ModelSpecFileError(`${files[index]} and ${earlier} both define model "${spec.name}"`);
    }
    seen.set(spec.name, files[index]);
  });
  return specs;
}
