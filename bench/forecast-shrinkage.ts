/**
 * How much of the forest's correction to add to a classical base (`CLASSICAL_CORRECTION` in
 * `lambdas/core/features.ts`), judged the way an unseen series would be: by leave-one-series-out.
 *
 * For every `npm run bench:forecast` series and seed it runs the default forecaster's candidates (the
 * minimal spec's variants and forest parameters, as `backtest` plans them) once, keeping each
 * candidate's raw forest outputs on the rolling-origin months of the training part and on the holdout.
 * Then, for each share `c` of a grid, it does what `backtest` does with that share (pick the candidate
 * with the best rolling-origin MAPE — `backtest`'s rule before `chooseCandidate` kept Holt-Winters unless
 * significantly beaten — score it on the holdout; ratio variants keep all of their
 * correction) and prints each series' ratio to its best classical anchor (`forecast-anchors.ts`), mean
 * over seeds, and the geometric mean. Leave-one-series-out: each series is scored with the share whose
 * geometric mean is best on the other series. Also printed: the share chosen per series and candidate by
 * its own rolling-origin months.
 *
 *   npx node bench/forecast-shrinkage.ts              # seeds 1..3
 *   npx node bench/forecast-shrinkage.ts --seeds 5
 */
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { CLASSICAL_CORRECTION } from '#core/features.ts';
import { mape } from '#core/metrics.ts';
import { ANCHORS, anchorForecasts, benchSeries, geometricMean, HOLDOUT_MONTHS } from './forecast-anchors.ts';
import { candidateOutputs, forecasts, type Outputs } from './forecast-replay.ts';

const SHARES = [0, 0.25, 0.5, 0.75, 1];

const { values: options } = parseArgs({ options: { seeds: { type: 'string', default: '3' } } });
const seeds = Array.from({ length: Number(options.seeds) }, (_, i) => i + 1);
const paths = benchSeries();
const names = paths.map((path) => basename(path, '.csv'));

const shareOf = (candidate: Outputs, share: number) => (candidate.scaled ? share : 1);
const validationMape = (candidate: Outputs, share: number) =>
  mape(candidate.validation.actual, forecasts(candidate.validation, shareOf(candidate, share)));
const holdoutMape = (candidate: Outputs, share: number) =>
  mape(candidate.holdout.actual, forecasts(candidate.holdout, shareOf(candidate, share)));

const anchors = anchorForecasts(paths, HOLDOUT_MONTHS);
/** ratio[strategy][series]: mean holdout MAPE over seeds ÷ the best anchor's. */
const ratio = new Map<string, number[]>();
const record = (strategy: string, index: number, value: number) => {
  if (!ratio.has(strategy)) ratio.set(strategy, []);
  ratio.get(strategy)![index] = value;
};
for (const [index, path] of paths.entries()) {
  const perSeed = await Promise.all(seeds.map((seed) => candidateOutputs(path, seed)));
  const actual = perSeed[0][0].holdout.actual;
  const best = Math.min(...ANCHORS.map((anchor) => mape(actual, anchors.get(path)!.get(anchor)!)));
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  for (const share of SHARES) {
    const scores = perSeed.map((candidates) => {
      const chosen = candidates.reduce((a, b) =>
        validationMape(b, share) < validationMape(a, share) ? b : a,
      );
      return holdoutMape(chosen, share);
    });
    record(String(share), index, mean(scores) / best);
  }
  const ownShare = (candidate: Outputs) =>
    SHARES.reduce((a, b) => (validationMape(candidate, b) < validationMape(candidate, a) ? b : a));
  const own = perSeed.map((candidates) => {
    const chosen = candidates.reduce((a, b) =>
      validationMape(b, ownShare(b)) < validationMape(a, ownShare(a)) ? b : a,
    );
    return holdoutMape(chosen, ownShare(chosen));
  });
  record('rolling origin', index, mean(own) / best);
  console.error(`${names[index]} done`);
}

console.log(
  `Ratio of our holdout MAPE (mean over seeds ${seeds.join(', ')}) to the best classical anchor, by the share of the forest's correction added to a classical base (shipped: ${CLASSICAL_CORRECTION})\n`,
);
console.log(`| share | ${names.join(' | ')} | geometric mean | worst |`);
console.log(`| --- | ${names.map(() => '---').join(' | ')} | --- | --- |`);
for (const [strategy, values] of ratio) {
  console.log(
    `| ${strategy} | ${values.map((value) => value.toFixed(2)).join(' | ')} | ${geometricMean(values).toFixed(3)} | ${Math.max(...values).toFixed(2)} |`,
  );
}
const held = names.map((_, index) => {
  const others = (values: number[]) => values.filter((_, other) => other !== index);
  const share = SHARES.reduce((a, b) =>
    geometricMean(others(ratio.get(String(b))!)) < geometricMean(others(ratio.get(String(a))!)) ? b : a,
  );
  return { share, value: ratio.get(String(share))![index] };
});
console.log(
  `\nleave-one-series-out: shares chosen ${held.map(({ share }) => share).join(', ')}; geometric mean ${geometricMean(held.map(({ value }) => value)).toFixed(3)}, worst ${Math.max(...held.map(({ value }) => value)).toFixed(2)}`,
);
