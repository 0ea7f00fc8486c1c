/**
 * Exponential smoothing state space models (ETS, Hyndman, Koehler, Ord & Snyder 2008) fitted the way
 * R's `forecast::ets` fits them: smoothing weights and initial states estimated jointly by maximum
 * likelihood with Nelder–Mead, the model (additive or multiplicative error and season, no trend, a
 * trend or a damped trend) chosen by AICc; or, for the filter a forecaster serves, the weights alone
 * with the states fixed where that filter starts them (`fitEts(values, season, 'history')`). Only
 * seasonal models are offered: this is a base for monthly (seasonal) forecasts.
 */

/** An ETS model's form: error, trend (`Ad` damped) and season components. */
export interface EtsForm {
  error: 'A' | 'M';
  trend: 'N' | 'A' | 'Ad';
  season: 'A' | 'M';
}

/**
 * A fitted ETS model: its form, smoothing weights (level α, trend β as R's `beta`, season γ, damping
 * φ, 1 without damping) and initial states at the step before the first value: level, slope (0
 * without a trend) and the `season` seasonal terms, `seasonal[j]` applying to the values at
 * positions `j, j + season, …` before any update.
 */
export interface EtsModel extends EtsForm {
  alpha: number;
  beta: number;
  gamma: number;
  phi: number;
  level: number;
  slope: number;
  seasonal: number[];
}

/**
 * The seasonal forms `forecast::ets` considers by default on a positive series (`restrict = TRUE`
 * drops additive errors with a multiplicative season; multiplicative trends are off by default).
 */
export const ETS_FORMS: readonly EtsForm[] = [
  { error: 'A', trend: 'N', season: 'A' },
  { error: 'A', trend: 'A', season: 'A' },
  { error: 'A', trend: 'Ad', season: 'A' },
  { error: 'M', trend: 'N', season: 'A' },
  { error: 'M', trend: 'A', season: 'A' },
  { error: 'M', trend: 'Ad', season: 'A' },
  { error: 'M', trend: 'N', season: 'M' },
  { error: 'M', trend: 'A', season: 'M' },
  { error: 'M', trend: 'Ad', season: 'M' },
];

/**
 * Runs the model over `values` from its initial states and returns the one-step forecast of the step
 * after them. The updates are R's `etscalc` (the same for either error type; the error type only
 * changes the likelihood). `fit`, when given, receives the sum of squared errors (relative errors
 * for a multiplicative error) and, for a multiplicative error, the sum of the logs of the forecasts' magnitudes; a forecast or
 * seasonal term that is not positive in a multiplicative model gives `NaN`.
 */
export function etsForecast(
  values: ArrayLike<number>,
  model: EtsModel,
  fit?: { sse: number; logSum: number },
): number {
  const { alpha, beta, gamma, season } = model;
  const m = model.seasonal.length;
  const phi = model.trend === 'Ad' ? model.phi : 1;
  const trended = model.trend !== 'N';
  const multiplicative = season === 'M';
  const seasonal = Float64Array.from(model.seasonal);
  let level = model.level;
  let slope = trended ? model.slope : 0;
  let sse = 0;
  let logSum = 0;
  for (let t = 0; t < values.length; t++) {
    const y = values[t];
    const j = t % m;
    const old = seasonal[j];
    const q = level + phi * slope;
    const f = multiplicative ? q * old : q + old;
    if ((model.error === 'M' || multiplicative) && !(f > 0 && q > 0)) return Number.NaN;
    const e = model.error === 'M' ? (y - f) / f : y - f;
    sse += e * e;
    if (model.error === 'M') logSum += Math.log(Math.abs(f));
    const p = multiplicative ? y / old : y - old;
    const previous = level;
    level = q + alpha * (p - q);
    if (trended) slope = phi * slope + (beta / alpha) * (level - previous - phi * slope);
    seasonal[j] = old + gamma * ((multiplicative ? y / q : y - q) - old);
  }
  if (fit) {
    fit.sse = sse;
    fit.logSum = logSum;
  }
  const q = level + phi * slope;
  const next = seasonal[values.length % m];
  return multiplicative ? q * next : q + next;
}

/**
 * The one-step forecast after `history` with the model's fitted weights and form, its states started
 * from `history` itself ({@link initialStates}, R's heuristic), never from the fitted initial states.
 *
 * Why: the fitted states belong to the first month of the training series, and the seasonal states are
 * indexed from the first value the filter sees. A prediction request carries some recent stretch of the
 * series, starting in any month: started from the fitted states, its seasons would be out of phase and
 * its level years old. Starting from the history's own first two seasons puts every history, the
 * training rows' and a request's alike, on the same footing (the Holt-Winters and airline bases do the
 * same), so serving equals the backtest for any history length.
 */
export function etsHistoryForecast(history: ArrayLike<number>, model: EtsModel): number {
  return etsForecast(history, { ...model, ...initialStates(history, model.seasonal.length, model) });
}

/**
 * R's `-2·loglik` without its constant: `n·ln(SSE) + 2·Σ ln|ŷ|` (the second term for a
 * multiplicative error only), as `forecast::ets` reports `loglik = −lik/2`.
 */
export function etsLik(values: ArrayLike<number>, model: EtsModel): number {
  const fit = { sse: 0, logSum: 0 };
  const forecast = etsForecast(values, model, fit);
  if (Number.isNaN(forecast) || !(fit.sse > 0)) return Number.POSITIVE_INFINITY;
  const lik = values.length * Math.log(fit.sse) + (model.error === 'M' ? 2 * fit.logSum : 0);
  return Number.isFinite(lik) ? lik : Number.POSITIVE_INFINITY;
}

/** Parameters estimated for a form (R's `np`, the variance included): for AICc. */
function parameterCount(form: EtsForm, season: number): number {
  const weights = 2 + (form.trend === 'N' ? 0 : 1) + (form.trend === 'Ad' ? 1 : 0);
  const states = 1 + (form.trend === 'N' ? 0 : 1) + (season - 1);
  return weights + states + 1;
}

/** R's `usual` bounds: 1e-4 ≤ α ≤ 0.9999, 1e-4 ≤ β ≤ α, 1e-4 ≤ γ ≤ 1 − α, 0.8 ≤ φ ≤ 0.98. */
function admissible(model: EtsModel): boolean {
  const { alpha, beta, gamma, phi } = model;
  if (!(alpha >= 1e-4 && alpha <= 0.9999)) return false;
  if (model.trend !== 'N' && !(beta >= 1e-4 && beta <= alpha)) return false;
  if (!(gamma >= 1e-4 && gamma <= 1 - alpha)) return false;
  if (model.trend === 'Ad' && !(phi >= 0.8 && phi <= 0.98)) return false;
  return true;
}

/**
 * Classical decomposition of the first two seasons (R's `initstate`): the seasonal figure from the
 * deviations from a centred moving average, then level and slope from a line through the first
 * `max(10, 2·season)` seasonally adjusted values (the level their mean without a trend).
 */
export function initialStates(
  values: ArrayLike<number>,
  season: number,
  form: EtsForm,
): Pick<EtsModel, 'level' | 'slope' | 'seasonal'> {
  const m = season;
  const n = Math.min(values.length, 2 * m);
  const multiplicative = form.season === 'M';
  const sums = new Float64Array(m);
  const counts = new Float64Array(m);
  const half = Math.floor(m / 2);
  for (let t = half; t + half < n; t++) {
    // A 2×m moving average for an even season, an m moving average for an odd one.
    let trend = 0;
    if (m % 2 === 0) {
      trend += values[t - half] / (2 * m) + values[t + half] / (2 * m);
      for (let k = t - half + 1; k < t + half; k++) trend += values[k] / m;
    } else {
      for (let k = t - half; k <= t + half; k++) trend += values[k] / m;
    }
    sums[t % m] += multiplicative ? values[t] / trend : values[t] - trend;
    counts[t % m] += 1;
  }
  const figure = Array.from(sums, (sum, j) => (counts[j] > 0 ? sum / counts[j] : multiplicative ? 1 : 0));
  const mean = figure.reduce((a, b) => a + b, 0) / m;
  const seasonal = figure.map((value) => (multiplicative ? value / mean : value - mean));
  const fitted = Math.min(values.length, Math.max(10, 2 * m));
  const adjusted = Array.from({ length: fitted }, (_, t) =>
    multiplicative ? values[t] / seasonal[t % m] : values[t] - seasonal[t % m],
  );
  let level = adjusted.reduce((a, b) => a + b, 0) / fitted;
  let slope = 0;
  if (form.trend !== 'N') {
    // Least-squares line over t = 1 … fitted; its intercept is the level at t = 0.
    const meanT = (fitted + 1) / 2;
    let sxy = 0;
    let sxx = 0;
    for (let t = 0; t < fitted; t++) {
      sxy += (t + 1 - meanT) * (adjusted[t] - level);
      sxx += (t + 1 - meanT) ** 2;
    }
    slope = sxy / sxx;
    level -= slope * meanT;
  }
  return { level, slope, seasonal };
}

/**
 * Nelder–Mead minimisation (the standard coefficients: reflection 1, expansion 2, contraction ½,
 * shrink ½) from `start` with per-coordinate initial steps, stopping after `maxEvaluations` or when
 * the simplex's values agree within `tolerance` (relative).
 */
export function nelderMead(
  f: (x: Float64Array) => number,
  start: ArrayLike<number>,
  steps: ArrayLike<number>,
  maxEvaluations = 4000,
  tolerance = 1e-10,
): { x: Float64Array; value: number } {
  const d = start.length;
  const points: Float64Array[] = [Float64Array.from(start)];
  for (let i = 0; i < d; i++) {
    const point = Float64Array.from(start);
    point[i] += steps[i];
    points.push(point);
  }
  const values = points.map(f);
  let evaluations = d + 1;
  const centroid = new Float64Array(d);
  const along = (factor: number, worst: Float64Array) => {
    const point = new Float64Array(d);
    for (let i = 0; i < d; i++) point[i] = centroid[i] + factor * (worst[i] - centroid[i]);
    return point;
  };
  while (evaluations < maxEvaluations) {
    const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
    const sortedPoints = order.map((i) => points[i]);
    const sortedValues = order.map((i) => values[i]);
    for (let i = 0; i <= d; i++) {
      points[i] = sortedPoints[i];
      values[i] = sortedValues[i];
    }
    const best = values[0];
    const worstValue = values[d];
    if (Number.isFinite(worstValue) && Math.abs(worstValue - best) <= tolerance * (Math.abs(best) + 1e-12))
      break;
    centroid.fill(0);
    for (let p = 0; p < d; p++) for (let i = 0; i < d; i++) centroid[i] += points[p][i] / d;
    const reflected = along(-1, points[d]);
    const reflectedValue = f(reflected);
    evaluations++;
    if (reflectedValue < best) {
      const expanded = along(-2, points[d]);
      const expandedValue = f(expanded);
      evaluations++;
      if (expandedValue < reflectedValue) {
        points[d] = expanded;
        values[d] = expandedValue;
      } else {
        points[d] = reflected;
        values[d] = reflectedValue;
      }
    } else if (reflectedValue < values[d - 1]) {
      points[d] = reflected;
      values[d] = reflectedValue;
    } else {
      const outside = reflectedValue < worstValue;
      const contracted = along(outside ? -0.5 : 0.5, points[d]);
      const contractedValue = f(contracted);
      evaluations++;
      if (contractedValue < (outside ? reflectedValue : worstValue)) {
        points[d] = contracted;
        values[d] = contractedValue;
      } else {
        for (let p = 1; p <= d; p++) {
          for (let i = 0; i < d; i++) points[p][i] = points[0][i] + 0.5 * (points[p][i] - points[0][i]);
          values[p] = f(points[p]);
        }
        evaluations += d;
      }
    }
  }
  let bestIndex = 0;
  for (let i = 1; i <= d; i++) if (values[i] < values[bestIndex]) bestIndex = i;
  return { x: points[bestIndex], value: values[bestIndex] };
}

/** A fitted form with its likelihood term (R's `-2·loglik`) and AICc. */
export interface EtsFit {
  model: EtsModel;
  lik: number;
  aicc: number;
}

/**
 * How a fit treats the initial states: `estimated` jointly with the weights by likelihood, as R does;
 * `history` fixed where {@link etsHistoryForecast} starts them when it serves (R's `initstate` heuristic
 * on the first two seasons of the values), so the weights are the likelihood's best for the filter that
 * is served.
 */
export type EtsStates = 'estimated' | 'history';

/**
 * Likelihood evaluations per Nelder–Mead run and restarts after the first. On AirPassengers' first 120
 * months, 1000 and 1 reach within 0.02 (MAM) and 3 (A,Ad,A) of the log-likelihood 4000 and 8 reach
 * (both 12–19 above R's own optimum) in about a quarter of the time.
 */
const EVALUATIONS = 1000;
const RESTARTS = 1;

/**
 * Fits one ETS form to `values` by maximum likelihood over the smoothing weights, and with `states:
 * 'estimated'` (the default) over the initial states jointly (the last seasonal term fixed so the terms
 * sum to 0, or to `season` for a multiplicative season, as R does). Starts where R starts (its
 * `initparam` and `initstate`) and restarts Nelder–Mead from its optimum until it gains nothing, since
 * one run stops short in 15–18 dimensions. The AICc counts the states only when they are estimated.
 */
export function fitEtsForm(
  values: ArrayLike<number>,
  season: number,
  form: EtsForm,
  states: EtsStates = 'estimated',
): EtsFit {
  if (values.length < 2 * season + 2)
    throw new RangeError(`ETS needs at least ${2 * season + 2} values, got ${values.length}`);
  const trended = form.trend !== 'N';
  const damped = form.trend === 'Ad';
  const estimated = states === 'estimated';
  const initial = initialStates(values, season, form);
  const alpha0 = 1e-4 + (0.2 * (0.9999 - 1e-4)) / season;
  const start: number[] = [alpha0];
  const steps: number[] = [0.05];
  if (trended) {
    start.push(1e-4 + 0.1 * (alpha0 - 1e-4));
    steps.push(0.005);
  }
  start.push(1e-4 + 0.05 * (1 - alpha0 - 1e-4));
  steps.push(0.05);
  if (damped) {
    start.push(0.8 + 0.99 * 0.18);
    steps.push(-0.02);
  }
  if (estimated) {
    let scale = 0;
    for (let t = 0; t < season; t++) scale += Math.abs(values[t]) / season;
    start.push(initial.level);
    steps.push(0.05 * (Math.abs(initial.level) || scale || 1));
    if (trended) {
      start.push(initial.slope);
      steps.push(0.01 * (scale || 1));
    }
    for (let j = 0; j < season - 1; j++) {
      start.push(initial.seasonal[j]);
      steps.push(form.season === 'M' ? 0.02 : 0.02 * (scale || 1));
    }
  }
  const unpack = (x: ArrayLike<number>): EtsModel => {
    let i = 0;
    const alpha = x[i++];
    const beta = trended ? x[i++] : 0;
    const gamma = x[i++];
    const phi = damped ? x[i++] : 1;
    if (!estimated) return { ...form, alpha, beta, gamma, phi, ...initial };
    const level = x[i++];
    const slope = trended ? x[i++] : 0;
    const seasonal: number[] = [];
    let sum = 0;
    for (let j = 0; j < season - 1; j++) {
      seasonal.push(x[i + j]);
      sum += x[i + j];
    }
    seasonal.push((form.season === 'M' ? season : 0) - sum);
    return { ...form, alpha, beta, gamma, phi, level, slope, seasonal };
  };
  const objective = (x: Float64Array) => {
    const model = unpack(x);
    if (!admissible(model)) return Number.POSITIVE_INFINITY;
    if (form.season === 'M' && model.seasonal.some((value) => !(value > 0))) return Number.POSITIVE_INFINITY;
    return etsLik(values, model);
  };
  let best = nelderMead(objective, start, steps, EVALUATIONS);
  for (let restart = 0; restart < RESTARTS; restart++) {
    const shrunk = steps.map((step) => step / 2 ** (restart + 1));
    const next = nelderMead(objective, best.x, shrunk, EVALUATIONS);
    const gained = best.value - next.value;
    if (next.value < best.value) best = next;
    if (!(gained > 1e-6)) break;
  }
  const model = unpack(best.x);
  const k = estimated ? parameterCount(form, season) : start.length + 1;
  const n = values.length;
  const aicc = best.value + 2 * k + (2 * k * (k + 1)) / (n - k - 1);
  return { model, lik: best.value, aicc };
}

/**
 * Fits every form in {@link ETS_FORMS} (additive ones only when a value is not positive) and keeps the
 * one with the lowest AICc, as `forecast::ets` chooses.
 */
export function fitEts(values: ArrayLike<number>, season: number, states: EtsStates = 'estimated'): EtsFit {
  let positive = true;
  for (let t = 0; t < values.length; t++) if (!(values[t] > 0)) positive = false;
  let best: EtsFit | undefined;
  for (const form of ETS_FORMS) {
    if (!positive && (form.error === 'M' || form.season === 'M')) continue;
    const fit = fitEtsForm(values, season, form, states);
    if (!best || fit.aicc < best.aicc) best = fit;
  }
  return best!;
}
