/**
 * The Holt-Winters base alone (no forest, no selection), fitted on all but the last 24 months of each
 * series and forecasting each of them one step ahead from the months before it, scored against the best
 * classical anchor (`forecast-anchors.ts`) on the eight `npm run bench:forecast` series and the nine
 * held-out ones (`-- --extra`): a cheap replay to judge a change of the base before building it (#11).
 * Nothing is random, so there are no seeds.
 *
 * Rows: the shipped fits (`fitHoltWinters` on logs, as before; `holt-winters-log`'s featurizer, on logs
 * or on the values by AIC, now) and measured alternatives the code does not carry, run on a copy of the
 * filter with a damped trend: the weights by Nelder–Mead instead of the grid (free in (0, 1), or within
 * R `forecast::ets`'s "usual" bounds β < α, γ < 1 − α), a damped trend (φ on a 0.8-0.98 grid) as a third
 * form for the AIC, forms without a season (simple exponential smoothing, Holt's linear trend) beside the
 * seasonal ones, and their combinations with the choice of logs or values.
 *
 *   npx node bench/forecast-bases.ts
 */
import { basename } from 'node:path';
import { nelderMead } from '#core/ets.ts';
import {
  type ForecastFeaturizer,
  fitForecastFeaturizer,
  fitHoltWinters,
  forecastFeatures,
  holtWintersForecast,
  linearLeastSquaresStart,
  numericValues,
} from '#core/features.ts';
import { mape } from '#core/metrics.ts';
import { readTable } from '../bin/commands/files.ts';
import {
  ANCHORS,
  anchorForecasts,
  benchSeries,
  geometricMean,
  HOLDOUT_MONTHS as H,
  minimalForecastSpec,
} from './forecast-anchors.ts';

/** Months in a season. */
const S = 12;

/** Weights of the copy's filter: `phi` damps the trend (1 undamped); `trend: false` has none. */
interface W {
  alpha: number;
  beta: number;
  gamma: number;
  phi: number; // 1 = undamped; trend false → no trend
  trend: boolean;
  /** false: no season (simple exponential smoothing or Holt's linear trend), γ unused. */
  seasonal?: boolean;
}
/** The state before a value: level, trend and the next season's terms. */
interface St {
  level: number;
  trend: number;
  seasonal: ArrayLike<number>;
}

/**
 * A copy of `holtWintersFilter` (lambdas/core/features.ts) with a damped trend, as ETS(A,Ad,A) damps it:
 * the one-step forecast after `values`, errors into `errors`, zeros instead of the values with `zero`.
 */
function filter(
  values: ArrayLike<number>,
  from: number,
  w: W,
  st: St,
  errors?: Float64Array,
  zero = false,
): number {
  const { alpha, beta } = w;
  const gamma = w.seasonal === false ? 0 : w.gamma;
  const phi = w.trend ? w.phi : 0;
  const n = values.length;
  let level = st.level;
  let trend = phi === 0 ? 0 : st.trend;
  const seasonal = new Float64Array(n - from + S);
  if (w.seasonal !== false) for (let i = 0; i < S; i++) seasonal[i] = st.seasonal[i];
  for (let t = from; t < n; t++) {
    const k = t - from;
    const value = zero ? 0 : values[t];
    const f = level + phi * trend + seasonal[k];
    if (errors) errors[t] = value - f;
    const prev = level;
    level = alpha * (value - seasonal[k]) + (1 - alpha) * (level + phi * trend);
    trend = phi === 0 ? 0 : beta * (level - prev) + (1 - beta) * phi * trend;
    seasonal[k + S] = gamma * (value - level) + (1 - gamma) * seasonal[k];
  }
  return level + phi * trend + seasonal[n - from];
}

/** `firstSeasonsStart`'s copy. */
function firstSeasons(values: ArrayLike<number>): St {
  let first = 0;
  let second = 0;
  for (let i = 0; i < S; i++) {
    first += values[i] / S;
    second += values[S + i] / S;
  }
  const trend = (second - first) / S;
  const level = first + (trend * (S - 1)) / 2;
  const seasonal = Array.from({ length: S }, (_, i) => values[i] - (first + trend * (i - (S - 1) / 2)));
  return { level, trend, seasonal };
}

/** The least-squares start as the shipped base's, for these forms too (each still linear in its start). */
function lsStart(values: ArrayLike<number>, w: W): St {
  const trended = w.trend;
  const seasonalTerms = w.seasonal === false ? 0 : S - 1;
  const stateOf = (x: ArrayLike<number>): St => {
    const seasonal = new Float64Array(S);
    let sum = 0;
    for (let j = 0; j < seasonalTerms; j++) {
      seasonal[j] = x[(trended ? 2 : 1) + j];
      sum += seasonal[j];
    }
    if (w.seasonal !== false) seasonal[S - 1] = -sum;
    return { level: x[0], trend: trended ? x[1] : 0, seasonal };
  };
  return stateOf(
    linearLeastSquaresStart((trended ? 2 : 1) + seasonalTerms, values.length, (x, out, responseOnly) =>
      filter(values, 0, w, stateOf(x), out, responseOnly),
    ),
  );
}

/** The forecast from least-squares states, as the shipped base serves. */
function forecastLS(values: ArrayLike<number>, w: W): number {
  return filter(values, 0, w, lsStart(values, w));
}

/** SSE of honest errors (first-seasons start) after 2 seasons + 1. */
/** The honest one-step SSE the grid judges weights by: from the first two seasons, after 2·S + 1 values. */
function sseFirst(values: ArrayLike<number>, w: W): number {
  const e = new Float64Array(values.length);
  filter(values, S, w, firstSeasons(values), e);
  let s = 0;
  for (let t = 2 * S + 1; t < values.length; t++) s += e[t] * e[t];
  return s;
}

const LG = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
const TG = [0, 0.01, 0.05, 0.1, 0.2];
const SG = [0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7];
const PG = [0.8, 0.85, 0.9, 0.95, 0.98];

/** Trend none, additive or damped with a season (`N`, `A`, `Ad`); none or additive without one (`NN`, `AN`). */
type Form = 'N' | 'A' | 'Ad' | 'NN' | 'AN';
function kOf(f: Form) {
  return f === 'N' ? 2 : f === 'A' ? 3 : f === 'NN' ? 1 : f === 'AN' ? 2 : 4;
}
/** The weights on the shipped grid (and φ on 0.8-0.98 for `Ad`) with the least honest SSE. */
function grid(values: ArrayLike<number>, form: Form): { w: W; sse: number } {
  const trend = form !== 'N' && form !== 'NN';
  const seasonal = form !== 'NN' && form !== 'AN';
  let best: W = { alpha: 0.05, beta: 0, gamma: 0.01, phi: 1, trend, seasonal };
  let bs = Infinity;
  for (const alpha of LG)
    for (const beta of trend ? TG : [0])
      for (const phi of form === 'Ad' ? PG : [1])
        for (const gamma of seasonal ? SG : [0]) {
          const w = { alpha, beta, gamma, phi, trend, seasonal };
          const s = sseFirst(values, w);
          if (s < bs) {
            bs = s;
            best = w;
          }
        }
  return { w: best, sse: bs };
}
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
/** Nelder–Mead from the grid's best within R `forecast::ets`'s usual bounds, restarted once. */
function optimiseR(values: ArrayLike<number>, form: Form): { w: W; sse: number } {
  // R forecast::ets 'usual' bounds: alpha in (1e-4, 0.9999), beta in (1e-4, alpha), gamma in (1e-4, 1 - alpha), phi in (0.8, 0.98)
  const g = grid(values, form);
  const lo = 1e-4;
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const toW = (x: Float64Array): W => {
    const alpha = lo + (0.9999 - lo) * sig(x[0]);
    return {
      alpha,
      gamma: lo + (1 - alpha - lo) * sig(x[1]),
      beta: form === 'N' ? 0 : lo + (alpha - lo) * sig(x[2]),
      phi: form === 'Ad' ? 0.8 + 0.18 * sig(x[3]) : 1,
      trend: form !== 'N',
    };
  };
  const logit = (p: number) => Math.log(clamp(p, 0.001, 0.999) / (1 - clamp(p, 0.001, 0.999)));
  const a0 = clamp(g.w.alpha, 0.01, 0.98);
  const start = [
    logit((a0 - lo) / (0.9999 - lo)),
    logit((Math.min(g.w.gamma, 0.99 - a0) - lo) / (1 - a0 - lo)),
  ];
  if (form !== 'N') start.push(logit((Math.min(Math.max(g.w.beta, 0.001), a0 * 0.99) - lo) / (a0 - lo)));
  if (form === 'Ad') start.push(logit((g.w.phi - 0.8) / 0.18));
  let r = nelderMead(
    (x) => sseFirst(values, toW(x)),
    start,
    start.map(() => 0.5),
    2000,
  );
  r = nelderMead(
    (x) => sseFirst(values, toW(x)),
    r.x,
    start.map(() => 0.2),
    2000,
  );
  return { w: toW(r.x), sse: r.value };
}
/** Nelder–Mead from the grid's best with every weight free in (0, 1); the grid's best if it does no better. */
function optimise(values: ArrayLike<number>, form: Form): { w: W; sse: number } {
  const g = grid(values, form);
  // logistic reparametrisation in (0,1) for alpha, beta, gamma; phi in (0.8, 0.98)
  const lo = 1e-4;
  const toW = (x: Float64Array): W => {
    const sig = (v: number) => lo + (1 - 2 * lo) / (1 + Math.exp(-v));
    return {
      alpha: sig(x[0]),
      gamma: sig(x[1]),
      beta: form === 'N' ? 0 : sig(x[2]),
      phi: form === 'Ad' ? 0.8 + 0.18 / (1 + Math.exp(-x[3])) : 1,
      trend: form !== 'N',
    };
  };
  const logit = (p: number) => Math.log(clamp(p, 0.001, 0.999) / (1 - clamp(p, 0.001, 0.999)));
  const start = [logit(g.w.alpha), logit(g.w.gamma)];
  if (form !== 'N') start.push(logit(Math.max(g.w.beta, 0.001)));
  if (form === 'Ad') start.push(logit((g.w.phi - 0.8) / 0.18));
  const r = nelderMead(
    (x) => sseFirst(values, toW(x)),
    start,
    start.map(() => 0.5),
    2000,
  );
  return r.value < g.sse ? { w: toW(r.x), sse: r.value } : g;
}

const aic = (sse: number, m: number, k: number) => m * Math.log(Math.max(sse, Number.MIN_VALUE) / m) + 2 * k;

interface Fitted {
  w: W;
  log: boolean;
}
type Method = (train: Float64Array) => Fitted;

/** The form (no, additive or damped trend) with the lowest AIC, as `fitHoltWinters` chooses. */
function chooseForm(train: ArrayLike<number>, forms: Form[], fitForm: typeof grid): { w: W; aic: number } {
  const m = train.length - (2 * S + 1);
  let best: { w: W; aic: number } | undefined;
  for (const f of forms) {
    const r = fitForm(train, f);
    const a = aic(r.sse, m, kOf(f));
    if (!best || a < best.aic) best = { w: r.w, aic: a };
  }
  return best!;
}

const logOrRaw = (t: Float64Array, forms: Form[], fitForm: typeof grid): Fitted => {
  const a = chooseForm(Float64Array.from(t, Math.log), forms, fitForm);
  const b = chooseForm(t, forms, fitForm);
  let jacobian = 0;
  for (let i = 2 * S + 1; i < t.length; i++) jacobian += Math.log(t[i]);
  return a.aic + 2 * jacobian <= b.aic ? { w: a.w, log: true } : { w: b.w, log: false };
};
const onLogs = (forms: Form[], fitForm: typeof grid) => (t: Float64Array) => ({
  w: chooseForm(Float64Array.from(t, Math.log), forms, fitForm).w,
  log: true,
});
const exploratory: Record<string, Method> = {
  'copy of the shipped grid on logs, trend or not (checks the copy)': onLogs(['N', 'A'], grid),
  'damped trend as a third form': onLogs(['N', 'A', 'Ad'], grid),
  'weights by Nelder–Mead in (0, 1)': onLogs(['N', 'A'], optimise),
  'weights by Nelder–Mead within R’s bounds': onLogs(['N', 'A'], optimiseR),
  'Nelder–Mead within R’s bounds, damped trend as a third form': onLogs(['N', 'A', 'Ad'], optimiseR),
  'logs or values by AIC, damped trend as a third form': (t) => logOrRaw(t, ['N', 'A', 'Ad'], grid),
  'logs or values by AIC, Nelder–Mead within R’s bounds': (t) => logOrRaw(t, ['N', 'A'], optimiseR),
  'logs or values, with or without a season, by AIC': (t) => logOrRaw(t, ['N', 'A', 'NN', 'AN'], grid),
  'logs, with or without a season, by AIC': onLogs(['N', 'A', 'NN', 'AN'], grid),
};

const paths = [...benchSeries(), ...benchSeries(true)];
const benchCount = benchSeries().length;
const anchors = anchorForecasts(paths, H);
const ratios = new Map<string, number[]>();
const record = (rule: string, ratio: number) => ratios.set(rule, [...(ratios.get(rule) ?? []), ratio]);
for (const path of paths) {
  const spec = minimalForecastSpec();
  const table = await readTable(path, spec);
  const values = numericValues(table, 'value');
  const n = values.length;
  const actual = Array.from(values.subarray(n - H));
  const best = Math.min(...ANCHORS.map((anchor) => mape(actual, anchors.get(path)!.get(anchor)!)));
  const train = values.slice(0, n - H);
  const history = (i: number) => values.subarray(0, n - H + i);
  const logsOf = (i: number) => Float64Array.from(history(i), Math.log);
  const before = fitHoltWinters(Float64Array.from(train, Math.log), S);
  record(
    'on logs, trend or not by AIC (before)',
    mape(
      actual,
      actual.map((_, i) => Math.exp(holtWintersForecast(logsOf(i), S, before))),
    ) / best,
  );
  const featurizer: ForecastFeaturizer = fitForecastFeaturizer(table, {
    target: 'value',
    time: 'month',
    lags: 12,
    season: S,
    transform: 'holt-winters-log',
    monthOfYear: false,
    trainingRows: n - H,
  });
  const row = new Float64Array(featurizer.featureNames.length);
  record(
    'on logs or on the values by AIC (now, `holt-winters-log`’s base)',
    mape(
      actual,
      actual.map((_, i) => Math.exp(forecastFeatures(featurizer, history(i), row))),
    ) / best,
  );
  for (const [rule, method] of Object.entries(exploratory)) {
    const fit = method(train);
    const forecasts = actual.map((_, i) =>
      fit.log ? Math.exp(forecastLS(logsOf(i), fit.w)) : forecastLS(history(i), fit.w),
    );
    record(rule, mape(actual, forecasts) / best);
  }
}
const names = paths.map((path) => basename(path, '.csv'));
console.log(
  `One-step MAPE on the last ${H} months of the Holt-Winters base alone ÷ the best anchor's\n\n| base | ${names.join(' | ')} | bench (${benchCount}) | held out (${names.length - benchCount}) | all ${names.length} | worst |`,
);
console.log(`| --- | ${names.map(() => '---').join(' | ')} | --- | --- | --- | --- |`);
for (const [rule, r] of ratios) {
  const g = (xs: number[]) => geometricMean(xs).toFixed(3);
  console.log(
    `| ${rule} | ${r.map((x) => x.toFixed(2)).join(' | ')} | ${g(r.slice(0, benchCount))} | ${g(r.slice(benchCount))} | ${g(r)} | ${Math.max(...r).toFixed(2)} |`,
  );
}
