import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSpec } from '#core/spec.ts';
import {
  FIT,
  HOLDOUT,
  hashedSplit,
  hashesDigest,
  holdoutSize,
  keyFraction,
  keyHash,
  rowHashes,
  rowKeys,
  rowsWithRole,
  storedRowHashes,
  timeSplit,
} from '#core/splits.ts';
import { decodeTable, encodeTable } from '#core/table-file.ts';
import { buildFeatureSets, holdoutOverlap } from '#core/training.ts';
import type { Table } from '#core/types.ts';
import { validateDrop } from '#core/validate.ts';
import { lcg } from './stats/lcg.ts';

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

describe('keyFraction', () => {
  it('is the first 48 bits of the sha256 of the key', () => {
    // python3 -c "import hashlib; d=hashlib.sha256(b'a').digest(); print(int.from_bytes(d[:6],'big')/2**48)"
    // → 0.791374270522379; for b'1949-01' → 0.5467598581954434
    expect(keyFraction('a')).toBeCloseTo(0.791374270522379, 15);
    expect(keyFraction('1949-01')).toBeCloseTo(0.5467598581954434, 15);
  });
});

describe('rowKeys / rowHashes', () => {
  const table: Table = {
    rowCount: 2,
    columns: [
      { name: 'x', kind: 'numeric', values: Float64Array.of(1.5, Number.NaN) },
      { name: 'city', kind: 'text', values: ['Oslo', ''] },
      { name: 'y', kind: 'numeric', values: Float64Array.of(-2, 1e21) },
    ],
  };

  it('keys a tabular row by its target and features, in name order, and hashes each key', () => {
    // Prepare
    const spec = parseSpec({ name: 't', task: 'regression', target: 'y' });
    // Act
    const keys = rowKeys(spec, table);
    const hashes = rowHashes(spec, table);
    // Assess
    expect(keys).toEqual(['city=Oslo\u001fx=1.5\u001fy=-2', 'city=\u001fx=\u001fy=1e+21']);
    expect(hashes.columns).toEqual(['city', 'x', 'y']);
    expect(Array.from(hashes.values, (value) => value / 2 ** 48)).toEqual(keys.map(keyFraction));
  });

  it('hashes the same bytes rowKeys spells, whatever the numbers look like', () => {
    // Prepare: values JavaScript prints as plain decimals, in exponent notation, and in between.
    const next = lcg(42);
    const odd = [
      0,
      -0,
      1,
      -1,
      0.1 + 0.2,
      1e-6,
      9.99e-7,
      1.234567890123e-6,
      0.000123,
      123456789012345.6,
      1e15 - 1,
      1e15,
      2 ** 53,
      1e21,
      1e22,
      5e-324,
      Number.MAX_VALUE,
      -Number.MIN_VALUE,
      Number.POSITIVE_INFINITY,
      Number.NaN,
      100,
      1.5e300,
      0.5,
      12.30001,
    ];
    const rowCount = 3000;
    const number = (row: number) => {
      const pick = row % 4;
      if (pick === 0) return odd[row % odd.length];
      if (pick === 1) return Number(((next() - 0.5) * 60).toFixed(5));
      if (pick === 2) return (next() - 0.5) * 10 ** Math.floor(next() * 40 - 20);
      return Math.floor(next() * 1e6) - 5e5;
    };
    const words = ['Oslo', 'Zürich', '東京', '😀 ok', '', 'a\u001fb'];
    const mixed: Table = {
      rowCount,
      columns: [
        {
          name: 'y',
          kind: 'numeric',
          values: Float64Array.from({ length: rowCount }, (_, row) => number(row)),
        },
        {
          name: 'b',
          kind: 'numeric',
          values: Float64Array.from({ length: rowCount }, (_, row) => number(row + 1)),
        },
        {
          name: 'städte',
          kind: 'text',
          values: Array.from({ length: rowCount }, (_, row) => words[row % words.length]),
        },
      ],
    };
    const spec = parseSpec({ name: 't', task: 'regression', target: 'y' });
    // Act
    const hashes = rowHashes(spec, mixed);
    // Assess
    expect(Array.from(hashes.values, (value) => value / 2 ** 48)).toEqual(
      rowKeys(spec, mixed).map(keyFraction),
    );
  });

  it('keys a forecast row by its period alone', () => {
    // Prepare
    const spec = parseSpec({ name: 'f', task: 'forecast', target: 'y', time: 'city', lags: 1 });
    // Act / Assess
    expect(rowKeys(spec, table)).toEqual(['Oslo', '']);
    expect(rowHashes(spec, table).columns).toEqual(['city']);
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
  const hashes = Float64Array.from(keys, keyHash);

  it('holds out exactly the rows whose key hashes below the share, whatever else is in the data', () => {
    const all = hashedSplit(hashes, { holdout: 0.25 });
    const half = hashedSplit(hashes.subarray(0, 500), { holdout: 0.25 });
    keys.forEach((key, row) => {
      expect(all.roles[row] === HOLDOUT).toBe(keyFraction(key) < 0.25);
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
    expect(excluded).toBe(keys.slice(0, 400).filter((key) => keyFraction(key) < 0.25).length);
    expect(held.length + excluded).toBe(keys.filter((key) => keyFraction(key) < 0.25).length);
  });

  it('refuses a holdout that selects no row', () => {
    expect(() => hashedSplit(Float64Array.from(['row-2', 'row-3'], keyHash), { holdout: 0.2 })).toThrow(
      /selects none of 2 rows/,
    );
  });
});

describe('storedRowHashes', () => {
  it('reuses the hashes a table was stored with, and hashes again only for other key columns', async () => {
    const table = await cancerRows(0, 100);
    const stored = decodeTable(encodeTable({ table, rowHashes: rowHashes(cancerSpec, table) }));
    // The stored array itself: nothing was rehashed (at a million rows that is minutes of sha256).
    expect(storedRowHashes(cancerSpec, stored)).toBe(stored.rowHashes?.values);
    const fewer = { ...cancerSpec, features: ['mean_radius', 'mean_texture', 'mean_area'] };
    const rekeyed = storedRowHashes(fewer, stored);
    expect(rekeyed).not.toBe(stored.rowHashes?.values);
    expect(Array.from(rekeyed)).toEqual(Array.from(rowHashes(fewer, table).values));
    expect(Array.from(storedRowHashes(cancerSpec, { table }))).toEqual(Array.from(stored.rowHashes!.values));
  });

  it('are the hashes buildFeatureSets places rows by', async () => {
    const table = await cancerRows(0, 200);
    // Hashes that put exactly the first 50 rows below a quarter of 2⁴⁸, whatever the rows hold.
    const hashes = Float64Array.from({ length: 200 }, (_, row) => (row < 50 ? 0.1 : 0.9) * 2 ** 48 + row);
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
});
