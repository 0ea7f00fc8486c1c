/**
 * Hyperparameter search over a discrete space, warm-started from the production model's parameters.
 *
 * Candidates come in a fixed order: the warm-start parameters first, then their neighbours (one step
 * down or up along one axis of the space), then seeded random draws without repeats. Strategies:
 * - `none`: the warm start only (or, without one, `base` alone — recorded as the warm start), at full budget;
 * - `random`: `trials` candidates, each at full budget;
 * - `halving`: successive halving (Jamieson & Talwalkar 2016) with a factor of 3 — `trials` candidates
 *   start at a small budget, the best third of every rung moves on with the budget tripled, and the last
 *   rung runs at full budget.
 *
 * It knows nothing about what is tuned: `evaluate` receives the parameters and a budget (a fraction
 * 0..1 of full effort, e.g. of the trees or rows) and returns a score.
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

/** What `searchHyperparameters` needs. */
export interface SearchOptions extends CandidateOptions {
  strategy: 'none' | 'random' | 'halving';
  direction: 'lower' | 'higher';
  /** Scores a candidate at a budget in (0, 1]; non-finite scores rank last. */
  evaluate: (params: Record<string, unknown>, budget: number) => Promise<number>;
  /** Evaluations running at once. @default 1 */
  concurrency?: number;
}

/** One evaluation. */
export interface Trial {
  params: Record<string, unknown>;
  score: number;
  seconds: number;
  budget: number;
  origin: CandidateOrigin;
}

/** The outcome of a search: the best full-budget trial and every trial in evaluation order. */
export interface SearchResult {
  best: { params: Record<string, unknown>; score: number };
  trials: Trial[];
}

/** Successive halving keeps the best 1/ETA of each rung and multiplies the budget by ETA. */
const ETA = 3;

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

/** Whether score `a` is strictly better than `b` (non-finite scores are worst). */
function isBetter(a: number, b: number, direction: 'lower' | 'higher'): boolean {
  if (!Number.isFinite(a)) return false;
  if (!Number.isFinite(b)) return true;
  return direction === 'lower' ? a < b : a > b;
}

/** Evaluates candidates at one budget, at most `concurrency` at a time, results in candidate order. */
async function evaluateAll(
  rung: Candidate[],
  budget: number,
  evaluate: SearchOptions['evaluate'],
  concurrency: number,
): Promise<Trial[]> {
  const trials: Trial[] = new Array(rung.length);
  let next = 0;
  const runner = async (): Promise<void> => {
    while (next < rung.length) {
      const index = next++;
      const { params, origin } = rung[index];
      const started = performance.now();
      const score = await evaluate(params, budget);
      trials[index] = { params, score, seconds: (performance.now() - started) / 1000, budget, origin };
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, rung.length) }, runner));
  return trials;
}

/** Indexes of the best `count` trials (stable: earlier candidates win ties). */
function bestIndexes(trials: Trial[], count: number, direction: 'lower' | 'higher'): number[] {
  return trials
    .map((trial, index) => ({ trial, index }))
    .sort((a, b) =>
      isBetter(a.trial.score, b.trial.score, direction)
        ? -1
        : isBetter(b.trial.score, a.trial.score, direction)
          ? 1
          : a.index - b.index,
    )
    .slice(0, count)
    .map(({ index }) => index);
}

/**
 * Searches the space and returns the best full-budget trial with every trial made.
 *
 * @throws RangeError for invalid options; whatever `evaluate` throws.
 * @example
 * const { best } = await searchHyperparameters({
 *   space: { maxDepth: [4, 8, 16], minSamplesLeaf: [1, 3, 5] },
 *   strategy: 'halving', trials: 9, seed: 7, direction: 'lower',
 *   warmStart: productionParams,
 *   evaluate: async (params, budget) => validationRmse(params, budget),
 * });
 */
export async function searchHyperparameters(options: SearchOptions): Promise<SearchResult> {
  const { strategy, direction, evaluate } = options;
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  const pool =
    strategy === 'none'
      ? candidates({ ...options, trials: 1, warmStart: options.warmStart ?? {} })
      : candidates(options);
  const trials: Trial[] = [];
  let finalists: Trial[];
  if (strategy === 'halving' && pool.length > 1) {
    const rungs = 1 + Math.ceil(Math.log(pool.length) / Math.log(ETA) - 1e-9);
    let survivors = pool;
    let rungTrials: Trial[] = [];
    for (let rung = 0; rung < rungs; rung++) {
      const budget = ETA ** (rung - (rungs - 1));
      rungTrials = await evaluateAll(survivors, budget, evaluate, concurrency);
      trials.push(...rungTrials);
      const keep = Math.max(1, Math.ceil(survivors.length / ETA));
      survivors = bestIndexes(rungTrials, keep, direction).map((index) => survivors[index]);
    }
    finalists = rungTrials;
  } else {
    finalists = await evaluateAll(pool, 1, evaluate, concurrency);
    trials.push(...finalists);
  }
  const winner = finalists[bestIndexes(finalists, 1, direction)[0]];
  return { best: { params: winner.params, score: winner.score }, trials };
}
