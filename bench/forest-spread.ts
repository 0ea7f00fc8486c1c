/**
 * Seed-to-seed spread of the forest tests' quality figures, so their bounds come from measurement: the
 * fast engine's holdout R² (Friedman #1, 2000 × 10, noise 1, seed 11; 1500 rows train) and out-of-bag R²
 * (50 trees), and its holdout AUC on breast cancer (rows with index % 4 === 3 held out), over forest seeds
 * 1-10, and ml-random-forest's out-of-bag R² on a small set; scikit-learn's over random_state 0-9 on the
 * same rows when Debian's Python has it.
 *
 *   npx node bench/forest-spread.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLearner, predictBatch } from '#core/forest/index.ts';
import { friedman1, sliceRows } from '#core/forest/synthetic.ts';
import { r2, rocAuc } from '#core/metrics.ts';
import { breastCancer, positiveColumn } from '../test/core/forest/fixtures.ts';

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

function summary(name: string, values: number[]): string {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const sd = Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1));
  const [low, high] = [Math.min(...values), Math.max(...values)];
  return `${name}: ${mean.toFixed(4)} ± ${sd.toFixed(4)} (mean ± sd over ${values.length} seeds; ${low.toFixed(4)}-${high.toFixed(4)})`;
}

const fast = getLearner('fast');
const friedman = friedman1(2000, 10, 1, 11);
const train = sliceRows(friedman, 0, 1500);
const test = sliceRows(friedman, 1500, 2000);
const cancer = breastCancer();
const holdoutR2: number[] = [];
const oobR2: number[] = [];
const auc: number[] = [];
for (const seed of SEEDS) {
  const forest = await fast.fit(train, {}, { seed, workers: 1 });
  holdoutR2.push(r2(test.y, predictBatch(forest, test.x, test.rowCount)));
  oobR2.push((await fast.fit(train, { nTrees: 50 }, { seed, workers: 1, oobScore: true })).oobScore!);
  const classifier = await fast.fit(cancer.train, {}, { seed, workers: 1 });
  auc.push(
    rocAuc(cancer.test.y, positiveColumn(predictBatch(classifier, cancer.test.x, cancer.test.rowCount), 2)),
  );
}
console.log(summary('fast, Friedman #1 2000 × 10 holdout R²', holdoutR2));
console.log(summary('fast, Friedman #1 2000 × 10 out-of-bag R² (50 trees)', oobR2));
console.log(summary('fast, breast cancer holdout AUC', auc));
// test/core/forest/ml-random-forest.test.ts: 20 trees on Friedman #1 100 × 5, noise 0.5, seed 3.
const small = friedman1(100, 5, 0.5, 3);
const libraryOob: number[] = [];
for (const seed of SEEDS) {
  const forest = await getLearner('ml-random-forest').fit(small, { nTrees: 20 }, { seed, oobScore: true });
  libraryOob.push(forest.oobScore!);
}
console.log(summary('ml-random-forest, Friedman #1 100 × 5 out-of-bag R² (20 trees)', libraryOob));

const directory = mkdtempSync(join(tmpdir(), 'forest-spread-'));
try {
  const csv = join(directory, 'friedman.csv');
  const lines = Array.from({ length: 2000 }, (_, row) =>
    [...friedman.x.subarray(row * 10, row * 10 + 10), friedman.y[row]].join(','),
  );
  writeFileSync(csv, `${lines.join('\n')}\n`);
  const script = `
import csv, statistics, numpy as np
from sklearn.ensemble import RandomForestRegressor as R, RandomForestClassifier as C
from sklearn.metrics import roc_auc_score
d = np.loadtxt(${JSON.stringify(csv)}, delimiter=','); X, y = d[:, :-1], d[:, -1]
rows = list(csv.reader(open('data/breast-cancer.csv'))); h = rows[0]; a = np.array(rows[1:], dtype=float)
t = h.index('benign'); by = a[:, t]; bX = np.delete(a, t, axis=1); te = np.arange(len(by)) % 4 == 3
for name, values in [
    ('scikit-learn, Friedman #1 2000 × 10 holdout R²', [R(n_estimators=100, random_state=s).fit(X[:1500], y[:1500]).score(X[1500:], y[1500:]) for s in range(10)]),
    ('scikit-learn, breast cancer holdout AUC', [roc_auc_score(by[te], C(n_estimators=100, random_state=s).fit(bX[~te], by[~te]).predict_proba(bX[te])[:, 1]) for s in range(10)]),
]:
    print(f'{name}: {statistics.mean(values):.4f} ± {statistics.stdev(values):.4f} (mean ± sd over 10 seeds; {min(values):.4f}-{max(values):.4f})')
`;
  process.stdout.write(execFileSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8' }));
} catch (error) {
  console.log(`scikit-learn reference skipped: ${(error as Error).message.split('\n')[0]}`);
} finally {
  rmSync(directory, { recursive: true, force: true });
}
