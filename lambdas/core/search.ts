/**
 * Hyperparameter candidates over a discrete space, warm-started from the production model's parameters.
 *
 * Candidates come in a fixed order: the warm-start parameters first, then their neighbours (one step
 * down or up along one axis of the space), then seeded random draws without repeats. The pipeline fans
 * them out (one Lambda each) and `selection.ts` scores them; this module knows nothing about what is tuned.
 */
import { seededRandom } from './random.ts';

/** A value a hyperparameter can take. */
export type SpaceValue = number | string | boolean;

/** Every hyperparameter searched, with the values it may take, in order (neighbours are adjacent values). */
export type SearchSpace = Record<string, SpaceValue[]>;

/** Where a candidate came from. */
export type CandidateOrigin = 'warm-start' | 'neighbour' | 'random';

/** One candidate: the full parameters handed to `evaluate` (`base` overlaid with the searched values). */
export interface Candidate {
  params: Record<string, unknown>;
  origin: CandidateOrigin;
}

/** What `candidates` needs. */
export interface CandidateOptions {
  space: SearchSpace;
  /** How many candidates at most (fewer when the space is smaller). */
  trials: number;
  seed: number;
  /** The production model's parameters; values outside the space are used as they are. */
  warmStart?: Record<string, unknown>;
  /** Parameters every candidate starts from (searched keys override them). */
  base?: Record<string, unknown>;
}

function validateOptions(options: CandidateOptions): void {
  const { space, trials, seed } = options;
  if (!Number.isInteger(trials) || trials < 1)
    throw new RangeError(`trials must be a positive integer, got ${trials}`);
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  for (const [key, values] of Object.entries(space)) {
    if (!Array.isArray(values) || values.length === 0) {
      throw new RangeError(`space.${key} must list at least one value`);
    }
  }
}

/** A key identifying an assignment, independent of property order. */
function assignmentKey(assignment: Record<string, unknown>, keys: string[]): string {
  return JSON.stringify(keys.map((key) => assignment[key]));
}

/** The values one step below and above `value` on an axis: by position, or by magnitude if absent. */
function neighboursOnAxis(axis: SpaceValue[], value: unknown): SpaceValue[] {
  const position = axis.indexOf(value as SpaceValue);
  if (position >= 0) return [axis[position - 1], axis[position + 1]].filter((near) => near !== undefined);
  if (typeof value !== 'number') return [];
  const numbers = axis.filter((candidate): candidate is number => typeof candidate === 'number');
  const below = numbers.filter((candidate) => candidate < value);
  const above = numbers.filter((candidate) => candidate > value);
  return [
    ...(below.length > 0 ? [Math.max(...below)] : []),
    ...(above.length > 0 ? [Math.min(...above)] : []),
  ];
}

/**
 * The search's candidates, in order: warm start, its neighbours, then seeded random draws without repeats.
 * Deterministic for a seed; callable on its own to fan candidates out (e.g. to a Step Functions Map).
 *
 * @throws RangeError for an empty axis, a non-integer seed or fewer than one trial.
 * @example
 * candidates({ space: { maxDepth: [4, 8, 16] }, trials: 3, seed: 1, warmStart: { maxDepth: 8 } });
 * // → maxDepth 8 (warm-start), 4 and 16 (neighbours)
 */
export function candidates(options: CandidateOptions): Candidate[] {
  validateOptions(options);
  const { space, trials, seed, warmStart, base = {} } = options;
  const keys = Object.keys(space);
  const seen = new Set<string>();
  // Warm-start values may lie outside the space; only assignments inside it count towards its size.
  let seenInSpace = 0;
  const out: Candidate[] = [];
  const add = (assignment: Record<string, unknown>, origin: CandidateOrigin): void => {
    const key = assignmentKey(assignment, keys);
    if (out.length >= trials || seen.has(key)) return;
    seen.add(key);
    if (keys.every((name) => space[name].includes(assignment[name] as SpaceValue))) seenInSpace++;
    out.push({ params: { ...base, ...assignment }, origin });
  };
  if (warmStart !== undefined) {
    const warm = Object.fromEntries(
      keys.filter((key) => warmStart[key] !== undefined).map((key) => [key, warmStart[key]]),
    );
    add(warm, 'warm-start');
    for (const key of keys) {
      if (warm[key] === undefined) continue;
      for (const near of neighboursOnAxis(space[key], warm[key])) add({ ...warm, [key]: near }, 'neighbour');
    }
  }
  const spaceSize = keys.reduce((size, key) => size * space[key].length, 1);
  const random = seededRandom(seed);
  // Rejection sampling ends well before this unless the space is nearly used up.
  let attempts = 0;
  while (out.length < trials && seenInSpace < spaceSize && attempts < 1000 * trials) {
    attempts++;
    const draw = Object.fromEntries(
      keys.map((key) => [key, space[key][Math.floor(random() * space[key].length)]]),
    );
    add(draw, 'random');
  }
  return out;
}
