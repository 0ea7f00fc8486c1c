import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSpec } from '#core/spec.ts';
import { keyFraction, rowHashes, rowKeys } from '#core/splits.ts';
import { decodeTable, encodeTable, encodeTableParts } from '#core/table-file.ts';
import type { Table } from '#core/types.ts';
import { validateDrop } from '#core/validate.ts';

const repoFile = (path: string) => new URL(`../../${path}`, import.meta.url);

const table: Table = {
  rowCount: 3,
  columns: [
    { name: 'x', kind: 'numeric', values: Float64Array.from([1.5, Number.NaN, -0]) },
    { name: 'color', kind: 'text', values: ['red', '', 'red'] },
    { name: 'y', kind: 'numeric', values: Float64Array.from([10, 20, 30]) },
  ],
};

describe('encodeTable / decodeTable', () => {
  it('round-trips numbers bit for bit (NaN, -0) and text columns', () => {
    // Act
    const { table: back, rowHashes: hashes } = decodeTable(encodeTable({ table }));
    // Assess
    expect(back).toEqual(table);
    expect(Object.is((back.columns[0].values as Float64Array)[2], -0)).toBe(true);
    expect(hashes).toBeUndefined();
  });

  it('gives the file as parts that view the columns without copying them, concatenating to encodeTable', () => {
    // Act
    const { parts, byteLength } = encodeTableParts({ table });
    // Assess: the numeric sections are the columns' own memory; the parts are the file.
    const x = table.columns[0].values as Float64Array;
    expect(parts.some((part) => part.buffer === x.buffer && part.byteLength === x.byteLength)).toBe(true);
    expect(Buffer.concat(parts)).toEqual(Buffer.from(encodeTable({ table })));
    expect(byteLength).toBe(encodeTable({ table }).byteLength);
  });

  it('reads bytes at any offset of a larger buffer', () => {
    // Prepare
    const bytes = encodeTable({ table });
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    // Act / Assess
    expect(decodeTable(shifted.subarray(3)).table).toEqual(table);
  });

  it('refuses bytes that are not a table, truncated or padded', () => {
    const bytes = encodeTable({ table });
    expect(() => decodeTable(new TextEncoder().encode('x,y\n1,2\n'))).toThrow(/not a driftline table/);
    expect(() => decodeTable(bytes.subarray(0, bytes.length - 8))).toThrow(/truncated/);
    const padded = new Uint8Array(bytes.length + 8);
    padded.set(bytes);
    expect(() => decodeTable(padded)).toThrow(/truncated or padded/);
  });

  it('stores row hashes that are the content-hash holdout keys: the same row hashes the same', async () => {
    // Prepare: breast-cancer.csv read by the gate, as validate stores it
    const spec = parseSpec(JSON.parse(readFileSync(repoFile('data/specs/breast-cancer.json'), 'utf8')));
    const report = await validateDrop(readFileSync(repoFile('data/breast-cancer.csv')), spec);
    const cancer = report.table!;
    // Act
    const stored = decodeTable(encodeTable({ table: cancer, rowHashes: rowHashes(spec, cancer) }));
    // Assess
    const keys = rowKeys(spec, cancer);
    expect(stored.rowHashes?.values).toHaveLength(569);
    expect(Array.from(stored.rowHashes!.values, (hash) => hash / 2 ** 48)).toEqual(keys.map(keyFraction));
    expect(stored.rowHashes?.columns).toContain('benign');
    expect(stored.table).toEqual(cancer);
  });
});
