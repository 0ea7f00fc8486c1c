/**
 * Combining the default forecaster's variants instead of choosing one (#11), judged on the eight
 * `npm run bench:forecast` series and the nine held-out ones (`-- --extra`), and by leave-one-series-out.
 *
 * For every series and seed it replays the minimal spec's candidates once (`forecast-replay.ts`: each
 * candidate's forecasts on the rolling-origin months of the training part and on the holdout, with the
 * shipped share of the forest's correction), keeps each variant's best-scored candidate, and applies
 * each rule below to their holdout forecasts: the shipped choice (`chooseCandidate`), the candidates it
 * chooses between, and equal-weight combinations from the forecasting literature (means of logs, i.e.
 * geometric means of the forecasts; the arithmetic mean scored within 0.001 of it). It prints each
 * series' ratio to its best classical anchor (`forecast-anchors.ts`), mean over seeds, the geometric
 * means over the bench, the held-out series and all seventeen, the worst ratio and the AirPassengers
 * MAPE. Leave-one-series-out: each series is scored with the rule (or the `k` of "top k") whose geometric
 * mean is best on the other sixteen.
 *
 *   npx node bench/forecast-combination.ts              # seeds 1..3
 *   npx node bench/forecast-combination.ts --seeds 5
 */
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { AUTO_PREFERRED, CLASSICAL_CORRECTION } from '#core/features.ts';
import { mape } from '#core/metrics.ts';
import { dieboldMariano, rowLosses, SWITCH_CRITICAL_VALUE } from '#core/selection.ts';
import { chooseCandidate } from '#core/training.ts';
import { ANCHORS, anchorForecasts, benchSeries, geometricMean, HOLDOUT_MONTHS } from './forecast-anchors.ts';
import { candidateOutputs, forecasts, type Outputs } from './forecast-replay.ts';

const { values: options } = parseArgs({ options: { seeds: { type: 'string', default: '3' } } });
const seeds = Array.from({ length: Number(options.seeds) }, (_, i) => i + 1);
const benchPaths = benchSeries();
const paths = [...benchPaths, ...benchSeries(true)];
const names = paths.map((path) => basename(path, '.csv'));

/** A candidate as the rules see it: its rolling-origin score and losses, and its holdout forecasts. */
interface Scored {
  variant: string;
  score: number;
  losses: number[];
  holdout: Float64Array;
}
type Rule = (scored: Scored[]) => Float64Array;

function scoredOf(candidate: Outputs): Scored {
  const share = candidate.scaled ? CLASSICAL_CORRECTION : 1;
  const validation = forecasts(candidate.validation, share);
  return {
    variant: candidate.variant,
    score: mape(candidate.validation.actual, validation),
    losses: rowLosses('mape', candidate.validation.actual, validation),
    holdout: forecasts(candidate.holdout, share),
  };
}

/** Each variant's best-scored candidate, best first. */
function byVariant(scored: Scored[]): Scored[] {
  const sorted = [...scored].sort((a, b) => a.score - b.score);
  return sorted.filter(
    (trial, index) => sorted.findIndex((other) => other.variant === trial.variant) === index,
  );
}

/** The equal-weight mean of forecasts in logs. */
function logMean(members: Scored[]): Float64Array {
  return Float64Array.from(members[0].holdout, (_, t) =>
    Math.exp(members.reduce((sum, member) => sum + Math.log(member.holdout[t]), 0) / members.length),
  );
}

const preferredOf = (variants: Scored[]) =>
  variants.find((trial) => (AUTO_PREFERRED as readonly string[]).includes(trial.variant))!;
/** Whether validation's best variant significantly beats the preferred one (the shipped test). */
const switches = (variants: Scored[]) =>
  variants[0] !== preferredOf(variants) &&
  dieboldMariano(variants[0].losses, preferredOf(variants).losses) < -SWITCH_CRITICAL_VALUE;

const TOP_K = [1, 2, 3, 4, 5];
const rules: Record<string, Rule> = {
  'shipped: Holt-Winters unless significantly beaten (chooseCandidate)': (scored) =>
    chooseCandidate(scored, 'mape').holdout,
  'best rolling-origin score': (scored) => byVariant(scored)[0].holdout,
  'always Holt-Winters': (scored) => preferredOf(byVariant(scored)).holdout,
  // Samuels & Sekkel (2017), trimming by a model confidence set (Hansen, Lunde & Nason 2011), here with
  // the shipped pairwise test: every variant not significantly worse than the best one.
  'mean of the variants not significantly worse than the best (DM 5%)': (scored) => {
    const variants = byVariant(scored);
    return logMean(
      variants.filter(
        (trial, index) =>
          index === 0 || dieboldMariano(trial.losses, variants[0].losses) <= SWITCH_CRITICAL_VALUE,
      ),
    );
  },
  ...Object.fromEntries(
    TOP_K.slice(1).map((k): [string, Rule] => [
      `mean of the top ${k} variants`,
      (scored) => logMean(byVariant(scored).slice(0, k)),
    ]),
  ),
  'mean of the three classical-base variants (airline, Holt-Winters, their mean)': (scored) =>
    logMean(
      byVariant(scored).filter((trial) =>
        ['airline-log', 'holt-winters-log', 'classical-log'].includes(trial.variant),
      ),
    ),
  'mean of Holt-Winters and the best variant': (scored) => {
    const variants = byVariant(scored);
    return logMean([...new Set([preferredOf(variants), variants[0]])]);
  },
  'mean of Holt-Winters and the best variant when the test switches': (scored) => {
    const variants = byVariant(scored);
    return switches(variants) ? logMean([preferredOf(variants), variants[0]]) : preferredOf(variants).holdout;
  },
};

const anchors = anchorForecasts(paths, HOLDOUT_MONTHS);
/** ratio[rule][series]: mean holdout MAPE over seeds ÷ the best anchor's; airPassengers[rule]: its MAPE. */
const ratio = new Map<string, number[]>(Object.keys(rules).map((rule) => [rule, []]));
const airPassengers = new Map<string, number>();
const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
for (const [index, path] of paths.entries()) {
  const replayed = [];
  for (const seed of seeds) replayed.push(await candidateOutputs(path, seed));
  const perSeed = replayed.map((candidates) => candidates.map(scoredOf));
  const actual = replayed[0][0].holdout.actual;
  const best = Math.min(...ANCHORS.map((anchor) => mape(actual, anchors.get(path)!.get(anchor)!)));
  for (const [label, rule] of Object.entries(rules)) {
    const scores = perSeed.map((scored) => mape(actual, rule(scored)));
    ratio.get(label)![index] = mean(scores) / best;
    if (names[index] === 'air-passengers') airPassengers.set(label, mean(scores));
  }
  console.error(`${names[index]} done`);
}

const benchCount = benchPaths.length;
const summary = (values: number[]) =>
  [values.slice(0, benchCount), values.slice(benchCount), values]
    .map((part) => geometricMean(part).toFixed(3))
    .join(' | ');
console.log(
  `Ratio of our holdout MAPE (mean over seeds ${seeds.join(', ')}) to the best classical anchor, by how the variants' forecasts are chosen or combined\n`,
);
console.log(
  `| rule | ${names.join(' | ')} | bench (${benchCount}) | held out (${paths.length - benchCount}) | all ${paths.length} | worst | AirPassengers MAPE |`,
);
console.log(`| --- | ${names.map(() => '---').join(' | ')} | --- | --- | --- | --- | --- |`);
for (const [label, values] of ratio) {
  console.log(
    `| ${label} | ${values.map((value) => value.toFixed(2)).join(' | ')} | ${summary(values)} | ${Math.max(...values).toFixed(2)} | ${airPassengers.get(label)!.toFixed(2)} |`,
  );
}

/** Leave-one-series-out over some rules: each series scored with the rule best on the others. */
function leaveOneOut(labels: string[]): string {
  const held = names.map((_, index) => {
    const others = (values: number[]) => values.filter((_, other) => other !== index);
    const label = labels.reduce((a, b) =>
      geometricMean(others(ratio.get(b)!)) < geometricMean(others(ratio.get(a)!)) ? b : a,
    );
    return { label, value: ratio.get(label)![index] };
  });
  const chosen = [...new Set(held.map(({ label }) => label))].map(
    (label) => `${label} (${held.filter((fold) => fold.label === label).length})`,
  );
  const values = held.map(({ value }) => value);
  return `${summary(values)} (bench | held out | all), worst ${Math.max(...values).toFixed(2)}; folds chose ${chosen.join(', ')}`;
}
const topK = TOP_K.map((k) => (k === 1 ? 'best rolling-origin score' : `mean of the top ${k} variants`));
console.log(`\nleave-one-series-out over k of the top k: ${leaveOneOut(topK)}`);
console.log(`leave-one-series-out over every rule: ${leaveOneOut(Object.keys(rules))}`);
