import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hashRows, ROW_HASH_KIND, ROW_HASH_SPACE } from '#core/row-hash.ts';
import { parseSpec } from '#core/spec.ts';
import {
  FIT,
  HOLDOUT,
  hashedSplit,
  hashesDigest,
  holdoutSize,
  rowHashes,
  rowsWithRole,
  storedRowHashes,
  timeSplit,
} from '#core/splits.ts';
import { decodeTable, encodeTable, SHA256_TEXT_KIND, type StoredTable } from '#core/table-file.ts';
import { buildFeatureSets, holdoutOverlap } from '#core/training.ts';
import type { Table } from '#core/types.ts';
import { validateDrop } from '#core/validate.ts';

const repo = new URL('../../', import.meta.url).pathname;
const breastCancer = readFileSync(`${repo}data/breast-cancer.csv`, 'utf8').trim().split('\n');
const cancerSpec = parseSpec(JSON.parse(readFileSync(`${repo}data/specs/breast-cancer.json`, 'utf8')));

async function cancerRows(from: number, to: number): Promise<Table> {
  const csv = `${[breastCancer[0], ...breastCancer.slice(1 + from, 1 + to)].join('\n')}\n`;
  const report = await validateDrop(new TextEncoder().encode(csv), {
    ...cancerSpec,
    validation: { ...cancerSpec.validation, minRows: 1 },
  });
  return report.table!;
}

describe('rowHashes', () => {
  const table: Table = {
    rowCount: 2,
    columns: [
      { name: 'x', kind: 'numeric', values: Float64Array.of(1.5, Number.NaN) },
      { name: 'city', kind: 'text', values: ['Oslo', ''] },
      { name: 'y', kind: 'numeric', values: Float64Array.of(-2, 1e21) },
    ],
  };

  it('keys a tabular row by its target and features, in name order', () => {
    // Prepare
    const spec = parseSpec({ name: 't', task: 'regression', target: 'y' });
    const [x, city, y] = table.columns;
    // Act
    const hashes = rowHashes(spec, table);
    // Assess
    expect(hashes.columns).toEqual(['city', 'x', 'y']);
    expect(hashes.kind).toBe(ROW_HASH_KIND);
    expect(Array.from(hashes.values)).toEqual(Array.from(hashRows([city, x, y], 2)));
  });

  it('keys a forecast row by its period alone', () => {
    // Prepare
    const spec = parseSpec({ name: 'f', task: 'forecast', target: 'y', time: 'city', lags: 1 });
    // Act
    const hashes = rowHashes(spec, table);
    // Assess
    expect(hashes.columns).toEqual(['city']);
    expect(Array.from(hashes.values)).toEqual(Array.from(hashRows([table.columns[1]], 2)));
  });
});

describe('holdoutSize', () => {
  it('reads an integer as rows and a fraction as a share rounded up', () => {
    expect(holdoutSize(24, 132)).toBe(24);
    // sklearn.model_selection.train_test_split(range(569), test_size=0.25) holds out 143 rows
    expect(holdoutSize(0.25, 569)).toBe(143);
  });
});

describe('timeSplit', () => {
  const months = Array.from(
    { length: 30 },
    (_, i) => `20${String(10 + Math.floor(i / 12))}-${String((i % 12) + 1).padStart(2, '0')}`,
  );

  it('holds out the last periods and trains on the rest', () => {
    const { roles, excluded } = timeSplit(months, 6);
    expect(excluded).toBe(0);
    expect(Array.from(rowsWithRole(roles, HOLDOUT))).toEqual([24, 25, 26, 27, 28, 29]);
    expect(rowsWithRole(roles, FIT)).toHaveLength(24);
  });

  it('leaves out of the holdout the periods the champion trained on', () => {
    const { roles, excluded } = timeSplit(months, 6, new Set(months.slice(0, 27)));
    expect(excluded).toBe(3);
    expect(Array.from(rowsWithRole(roles, HOLDOUT))).toEqual([27, 28, 29]);
    expect(roles[26]).not.toBe(HOLDOUT);
  });

  it('refuses a holdout made only of periods the champion trained on', () => {
    expect(() => timeSplit(months, 6, new Set(months))).toThrow(
      /all 6 holdout rows are rows the production model trained on/,
    );
  });
});

describe('hashedSplit', () => {
  const keys = Array.from({ length: 1000 }, (_, i) => `row-${i}`);
  const hashes = hashRows([{ name: 'key', kind: 'text', values: keys }], keys.length);
  const fraction = (row: number) => hashes[row] / ROW_HASH_SPACE;

  it('holds out exactly the rows whose key hashes below the share, whatever else is in the data', () => {
    const all = hashedSplit(hashes, { holdout: 0.25 });
    const half = hashedSplit(hashes.subarray(0, 500), { holdout: 0.25 });
    keys.forEach((_, row) => {
      expect(all.roles[row] === HOLDOUT).toBe(fraction(row) < 0.25);
      if (row < 500) expect(half.roles[row] === HOLDOUT).toBe(all.roles[row] === HOLDOUT);
    });
    // A uniform hash puts about a quarter of 1000 rows below 0.25 (binomial sd ≈ 14).
    expect(rowsWithRole(all.roles, HOLDOUT).length).toBeGreaterThan(200);
    expect(rowsWithRole(all.roles, HOLDOUT).length).toBeLessThan(300);
  });

  it('moves rows the champion saw from the holdout to training', () => {
    const seen = new Set(hashes.subarray(0, 400));
    const { roles, excluded } = hashedSplit(hashes, { holdout: 0.25, seen });
    const held = Array.from(rowsWithRole(roles, HOLDOUT));
    expect(held.every((row) => row >= 400)).toBe(true);
    const below = (rows: number) => Array.from({ length: rows }, (_, row) => fraction(row) < 0.25);
    expect(excluded).toBe(below(400).filter(Boolean).length);
    expect(held.length + excluded).toBe(below(1000).filter(Boolean).length);
  });

  it('refuses a holdout that selects no row', () => {
    // Two rows placed above a fifth of the hash space.
    expect(() =>
      hashedSplit(
        Float64Array.of(0.5, 0.9).map((at) => at * ROW_HASH_SPACE),
        { holdout: 0.2 },
      ),
    ).toThrow(/selects none of 2 rows/);
  });
});

describe('storedRowHashes', () => {
  it('reuses the hashes a table was stored with, and hashes again only for other key columns', async () => {
    const table = await cancerRows(0, 100);
    const stored = decodeTable(encodeTable({ table, rowHashes: rowHashes(cancerSpec, table) }));
    // The stored array itself: nothing was rehashed.
    expect(storedRowHashes(cancerSpec, stored)).toBe(stored.rowHashes?.values);
    const fewer = { ...cancerSpec, features: ['mean_radius', 'mean_texture', 'mean_area'] };
    const rekeyed = storedRowHashes(fewer, stored);
    expect(rekeyed).not.toBe(stored.rowHashes?.values);
    expect(Array.from(rekeyed)).toEqual(Array.from(rowHashes(fewer, table).values));
    expect(Array.from(storedRowHashes(cancerSpec, { table }))).toEqual(Array.from(stored.rowHashes!.values));
  });

  it('are the hashes buildFeatureSets places rows by', async () => {
    const table = await cancerRows(0, 200);
    // Hashes that put exactly the first 50 rows below a quarter of 2⁵³, whatever the rows hold.
    const hashes = Float64Array.from(
      { length: 200 },
      (_, row) => (row < 50 ? 0.1 : 0.9) * ROW_HASH_SPACE + row,
    );
    const [set] = buildFeatureSets(cancerSpec, table, { hashes });
    expect(Array.from(rowsWithRole(set.roles, HOLDOUT))).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(set.holdout.digest).toBe(hashesDigest(hashes.subarray(0, 50)));
  });
});

describe('the breast-cancer holdout across versions', () => {
  it('keeps every row of the first 300 in its role when rows 301-569 arrive', async () => {
    const [small] = buildFeatureSets(cancerSpec, await cancerRows(0, 300));
    const [large] = buildFeatureSets(cancerSpec, await cancerRows(0, 569));
    for (let row = 0; row < 300; row++) {
      expect(large.roles[row] === HOLDOUT, `row ${row}`).toBe(small.roles[row] === HOLDOUT);
    }
  });

  it('holds out none of the rows a champion trained on, and says how many it left out', async () => {
    const first = await cancerRows(0, 300);
    const all = await cancerRows(0, 569);
    const seen = new Set(rowHashes(cancerSpec, first).values);
    const hashes = rowHashes(cancerSpec, all).values;
    const [set] = buildFeatureSets(cancerSpec, all, { seen });
    const [unguarded] = buildFeatureSets(cancerSpec, all);
    expect(holdoutOverlap(set, hashes, seen)).toBe(0);
    const wouldOverlap = holdoutOverlap(unguarded, hashes, seen);
    expect(wouldOverlap).toBeGreaterThan(0);
    expect(set.holdout.excludedSeenByChampion).toBe(wouldOverlap);
    expect(set.holdout.rows + wouldOverlap).toBe(unguarded.holdout.rows);
    const heldHashes = Array.from(rowsWithRole(set.roles, HOLDOUT), (p) => hashes[p]);
    expect(set.holdout.digest).toBe(hashesDigest(heldHashes));
  });
  it('holds out none of the rows a champion trained on when its dataset was stored with the old hashes', async () => {
    // Prepare: the champion's dataset as a format-1 table holds sha256 hashes of its rows' text (stood in
    // for here by other numbers, as they are to this code); the new dataset is stored as merge stores it.
    const first = await cancerRows(0, 300);
    const all = await cancerRows(0, 569);
    const championDataset: StoredTable = {
      table: first,
      rowHashes: {
        columns: rowHashes(cancerSpec, first).columns,
        kind: SHA256_TEXT_KIND,
        values: Float64Array.from({ length: 300 }, (_, row) => (row + 0.5) * 2 ** 39),
      },
    };
    const dataset = decodeTable(encodeTable({ table: all, rowHashes: rowHashes(cancerSpec, all) }));
    // Act: as featurize and evaluate do.
    const seen = new Set(storedRowHashes(cancerSpec, championDataset));
    const hashes = storedRowHashes(cancerSpec, dataset);
    const [set] = buildFeatureSets(cancerSpec, all, { hashes, seen });
    // Assess: the champion's rows are known again by their values, so none is in the holdout.
    expect(holdoutOverlap(set, hashes, seen)).toBe(0);
    expect(set.holdout.excludedSeenByChampion).toBeGreaterThan(0);
    expect(Array.from(seen)).toEqual(Array.from(rowHashes(cancerSpec, first).values));
  });
});
