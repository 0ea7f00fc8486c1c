/**
 * Serving inputs checked against the model's stored signature before anything is predicted. A tabular
 * instance must name every feature the model was trained on, exactly as spelled there, with a value of
 * the right type; anything else is a {@link ServingInputError} (a 400) that names the features at fault.
 * A model whose spec declares `serving.missing: 'impute'` instead fills a missing feature the way
 * training filled a missing cell (the training median of a number; no category for a categorical), and
 * each prediction reports what was filled. `null` and an absent key are the same thing: missing.
 */
import type { Featurizer, TabularFeaturizer, TabularInstance } from './features.ts';
import { type MissingPolicy, suggestName } from './spec.ts';

/** An instance that does not match the model's signature; `features` names every feature at fault. */
export class ServingInputError extends Error {
  readonly features: string[];

  constructor(message: string, features: string[]) {
    super(message);
    this.name = 'ServingInputError';
    this.features = features;
  }
}

/** Instances ready for the model, and per instance the features that were imputed (empty when none). */
export interface CheckedInstances {
  instances: unknown[];
  imputed: string[][];
}

/**
 * How many unknown keys an error names, and how much of each: a request may carry hundreds of thousands of
 * keys, or one of a megabyte, and an error repeating them all would be larger than any answer Lambda can
 * give (6 MB: the request would end in a 502) after seconds spent looking for a spelling to suggest.
 */
export const LISTED_UNKNOWN_KEYS = 20;
const QUOTED_KEY_CHARS = 100;

/** An unknown key as an error shows it: its first 100 characters. */
export const shownKey = (key: string) =>
  key.length > QUOTED_KEY_CHARS ? `${key.slice(0, QUOTED_KEY_CHARS)}…` : key;

function quoted(names: readonly string[]): string {
  return names.map((name) => `"${name}"`).join(', ');
}

function describeValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/**
 * One tabular instance checked and, under `impute`, completed. Every problem of the instance is
 * collected into one message so a caller fixes them all at once.
 */
function checkTabular(
  featurizer: TabularFeaturizer,
  instance: unknown,
  index: number,
  policy: MissingPolicy,
): { instance: TabularInstance; imputed: string[] } {
  if (typeof instance !== 'object' || instance === null || Array.isArray(instance)) {
    throw new ServingInputError(`instances[${index}] must be an object of feature values`, []);
  }
  const given = instance as Record<string, unknown>;
  const known = [
    ...featurizer.numeric.map(({ name }) => name),
    ...featurizer.categorical.map(({ name }) => name),
  ];
  const knownSet = new Set(known);
  const problems: string[] = [];
  const named: string[] = [];
  const unknown = Object.keys(given).filter((key) => !knownSet.has(key));
  for (const key of unknown.slice(0, LISTED_UNKNOWN_KEYS)) {
    const suggestion = suggestName(key, known);
    problems.push(
      suggestion === undefined
        ? `unknown feature "${shownKey(key)}"`
        : `unknown feature "${shownKey(key)}" (did you mean "${suggestion}"?)`,
    );
  }
  if (unknown.length > LISTED_UNKNOWN_KEYS)
    problems.push(`and ${unknown.length - LISTED_UNKNOWN_KEYS} more unknown features`);
  named.push(...unknown);
  const checked: TabularInstance = {};
  const missing: string[] = [];
  for (const { name, fill } of featurizer.numeric) {
    const value = given[name];
    if (value === undefined || value === null) missing.push(name);
    else if (typeof value === 'number' && Number.isFinite(value)) checked[name] = value;
    else {
      problems.push(`feature "${name}" must be a number, got ${describeValue(value)}`);
      named.push(name);
    }
    if ((value === undefined || value === null) && policy === 'impute') checked[name] = fill;
  }
  for (const { name } of featurizer.categorical) {
    const value = given[name];
    if (value === undefined || value === null) missing.push(name);
    else if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) {
      checked[name] = value;
    } else {
      problems.push(`feature "${name}" must be a string or a number, got ${describeValue(value)}`);
      named.push(name);
    }
    // An imputed category stays absent: training encoded a blank cell as no category (all one-hot zeros).
  }
  if (missing.length > 0 && policy === 'reject') {
    problems.unshift(
      `missing ${missing.length === 1 ? 'feature' : `${missing.length} features`} ${quoted(missing)} (null counts as missing; this model's spec sets serving.missing to "reject")`,
    );
    named.unshift(...missing);
  }
  if (problems.length > 0) {
    throw new ServingInputError(`instances[${index}]: ${problems.join('; ')}`, named);
  }
  return { instance: checked, imputed: policy === 'impute' ? missing : [] };
}

/**
 * Checks serving instances against the model's featurizer (its stored signature) and applies the
 * missing-value policy. Forecast instances pass through unchanged: their shape is fixed by the API
 * schema and their history is checked by the model.
 *
 * @param policy - the spec's `serving.missing`; `impute` fills a missing number with the training median.
 * @returns the instances to predict (numbers as numbers, imputed values filled) and what was imputed.
 * @throws ServingInputError naming each missing, unknown or mistyped feature.
 * @example
 * checkServingInputs(featurizer, [{ Radius_mean: 1 }], 'reject')
 * // throws: instances[0]: missing feature "radius_mean" …; unknown feature "Radius_mean" (did you mean "radius_mean"?)
 */
export function checkServingInputs(
  featurizer: Featurizer,
  instances: readonly unknown[],
  policy: MissingPolicy,
): CheckedInstances {
  if (featurizer.kind === 'forecast') {
    return { instances: [...instances], imputed: instances.map(() => []) };
  }
  const checked = instances.map((instance, index) => checkTabular(featurizer, instance, index, policy));
  return {
    instances: checked.map(({ instance }) => instance),
    imputed: checked.map(({ imputed }) => imputed),
  };
}
