import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSpec } from '#core/spec.ts';
import { HOLDOUT, rowsWithRole } from '#core/splits.ts';
import { bestCandidate, buildFeatureSets, planCandidates, scoreCandidate } from '#core/training.ts';
import type { Table } from '#core/types.ts';
import { validateDrop } from '#core/validate.ts';

const repo = new URL('../../', import.meta.url).pathname;
const specOf = (name: string, overrides: Record<string, unknown> = {}) =>
  parseSpec({ ...JSON.parse(readFileSync(`${repo}data/specs/${name}.json`, 'utf8')), ...overrides });

async function tableOf(csv: string, spec: ReturnType<typeof parseSpec>): Promise<Table> {
  const report = await validateDrop(new TextEncoder().encode(csv), spec);
  if (!report.table) throw new Error(JSON.stringify(report.problems.slice(0, 2)));
  return report.table;
}
const read = (name: string) => readFileSync(`${repo}data/${name}`, 'utf8');

describe('scoreCandidate', () => {
  it('tells breast-cancer candidates apart by out-of-bag log loss', async () => {
    // Prepare
    const spec = specOf('breast-cancer', { hyperparameters: { nTrees: 60 } });
    const [set] = buildFeatureSets(spec, await tableOf(read('breast-cancer.csv'), spec));
    const settings = { engine: 'fast' as const, seed: 42 };
    // Act
    const trials = [];
    for (const candidate of planCandidates(spec, ['tabular'])) {
      trials.push({ ...candidate, ...(await scoreCandidate(set, candidate, spec.metric, settings)) });
    }
    // Assess: one out-of-bag prediction per training row, scored by log loss; the scores differ
    const training = set.roles.length - rowsWithRole(set.roles, HOLDOUT).length;
    for (const trial of trials) {
      expect(trial).toMatchObject({ scheme: 'out-of-bag', score: trial.metrics.logloss });
      expect(trial.predictions).toBeGreaterThan(0.95 * training);
    }
    expect(new Set(trials.map((trial) => trial.score.toFixed(6))).size).toBeGreaterThan(2);
    const best = bestCandidate(trials, 'logloss');
    expect(best.score).toBe(Math.min(...trials.map((trial) => trial.score)));
  });

  it('fits every candidate of the default ml-random-forest space, by stratified 5-fold', async () => {
    // Prepare: the first 150 tumours and small forests keep the library's quadratic splits quick
    const spec = specOf('breast-cancer', {
      engine: 'ml-random-forest',
      hyperparameters: { nTrees: 5 },
      validation: { minRows: 1 },
    });
    const csv = `${read('breast-cancer.csv').split('\n').slice(0, 151).join('\n')}\n`;
    const [set] = buildFeatureSets(spec, await tableOf(csv, spec));
    const candidates = planCandidates(spec, ['tabular']);
    // Act
    const scored = [];
    for (const candidate of candidates)
      scored.push(await scoreCandidate(set, candidate, spec.metric, { engine: 'ml-random-forest', seed: 1 }));
    // Assess
    expect(candidates).toHaveLength(8);
    for (const result of scored) {
      expect(result.scheme).toBe('k-fold');
      expect(result.predictions).toBe(set.roles.length - rowsWithRole(set.roles, HOLDOUT).length);
      expect(Number.isFinite(result.score)).toBe(true);
    }
  });

  it('scores a forecast by rolling origin on the training months only, never the holdout', async () => {
    // Prepare: the same series, once with its last 24 months multiplied by 10
    const spec = specOf('air-passengers', { hyperparameters: { nTrees: 40 } });
    const lines = read('air-passengers.csv').trim().split('\n');
    const spoiled = lines.map((line, i) =>
      i > lines.length - 25 ? `${line.split(',')[0]},${Number(line.split(',')[1]) * 10}` : line,
    );
    const [clean] = buildFeatureSets(spec, await tableOf(`${lines.join('\n')}\n`, spec));
    const [changed] = buildFeatureSets(spec, await tableOf(`${spoiled.join('\n')}\n`, spec));
    const [candidate] = planCandidates(spec, [clean.variant]);
    const settings = { engine: 'fast' as const, seed: 3 };
    // Act
    const a = await scoreCandidate(clean, candidate, spec.metric, settings);
    const b = await scoreCandidate(changed, candidate, spec.metric, settings);
    // Assess: 4 origins × 12 months (1955-1958), the same score whatever the holdout holds
    expect(a).toMatchObject({ scheme: 'rolling-origin', predictions: 48 });
    expect(b.score).toBe(a.score);
    expect(a.score).toBeGreaterThan(1);
    expect(a.score).toBeLessThan(10);
  });
});
