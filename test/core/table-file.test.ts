import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mergeHistory } from '#core/merge.ts';
import { ROW_HASH_KIND } from '#core/row-hash.ts';
import { parseSpec } from '#core/spec.ts';
import { rowHashes, storedRowHashes } from '#core/splits.ts';
import { decodeTable, encodeTable, encodeTableParts, SHA256_TEXT_KIND } from '#core/table-file.ts';
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

  it('stores row hashes with their columns and kind, in format 2', async () => {
    // Prepare: breast-cancer.csv read by the gate, as validate stores it
    const spec = parseSpec(JSON.parse(readFileSync(repoFile('data/specs/breast-cancer.json'), 'utf8')));
    const report = await validateDrop(readFileSync(repoFile('data/breast-cancer.csv')), spec);
    const cancer = report.table!;
    // Act
    const stored = decodeTable(encodeTable({ table: cancer, rowHashes: rowHashes(spec, cancer) }));
    // Assess
    expect(Array.from(stored.rowHashes!.values)).toEqual(Array.from(rowHashes(spec, cancer).values));
    expect(stored.rowHashes?.columns).toContain('benign');
    expect(stored.rowHashes?.kind).toBe(ROW_HASH_KIND);
    expect(stored.table).toEqual(cancer);
  });

  it('refuses a table of a format newer than it reads', () => {
    // Prepare: the header's format field raised to 3, same length.
    const bytes = Buffer.from(encodeTable({ table }));
    const at = bytes.indexOf('"format":2');
    bytes.write('"format":3', at, 'latin1');
    // Act / Assess
    expect(() => decodeTable(bytes)).toThrow(/table format 3 is newer than this code reads \(2\)/);
  });
});

describe('a format-1 table (written before the row identity hashed values)', () => {
  // `table` above with a 4th row, its hashes keyed for a regression on y, as main at 50d7d6f wrote it:
  // encodeTable({ table, rowHashes: rowHashes(spec, table) }) from lambdas/core/{table-file,splits}.ts.
  const formatOne = Buffer.from(
    'RExUQUJMRTG8AAAAeyJyb3dDb3VudCI6NCwiY29sdW1ucyI6W3sibmFtZSI6IngiLCJraW5kIjoibnVtZXJpYyJ9LHsibmFtZSI6ImNvbG9yIiwia2luZCI6InRleHQiLCJ3b3JkcyI6WyJyZWQiLCIiLCJibHVlIl19LHsibmFtZSI6InkiLCJraW5kIjoibnVtZXJpYyJ9XSwicm93SGFzaGVzIjp7ImNvbHVtbnMiOlsiY29sb3IiLCJ4IiwieSJdfX0gICAAAAAAAAD4PwAAAAAAAPh/AAAAAAAAAIAAAAAAAAAAQAAAAAABAAAAAAAAAAIAAAAAAAAAAAAkQAAAAAAAADRAAAAAAAAAPkAAAAAAAABEQIC55eUtVu1CQHEXTHC140Lgyam95oLpQgCEd3E9+pxC',
    'base64',
  );
  const spec = parseSpec({ name: 't', task: 'regression', target: 'y' });
  const written: Table = {
    rowCount: 4,
    columns: [
      { name: 'x', kind: 'numeric', values: Float64Array.from([1.5, Number.NaN, -0, 2]) },
      { name: 'color', kind: 'text', values: ['red', '', 'red', 'blue'] },
      { name: 'y', kind: 'numeric', values: Float64Array.from([10, 20, 30, 40]) },
    ],
  };

  it('reads back its table, and its row hashes as the sha256 kind', () => {
    // Act
    const old = decodeTable(formatOne);
    // Assess
    expect(old.table).toEqual(written);
    expect(old.rowHashes?.kind).toBe(SHA256_TEXT_KIND);
    // The first 48 bits of sha256("color=red\u001fx=1.5\u001fy=10") etc., as main wrote them.
    expect(Array.from(old.rowHashes!.values)).toEqual([
      258047795473868, 173359952345994, 224400061058639, 7965274562017,
    ]);
  });

  it('gives its rows the identity a new table gives them, alone and merged with a new drop', () => {
    // Prepare: the old table as a baseline, and a drop that repeats its last row and adds one.
    const old = decodeTable(formatOne);
    const drop: Table = {
      rowCount: 2,
      columns: [
        { name: 'x', kind: 'numeric', values: Float64Array.from([2, 3]) },
        { name: 'color', kind: 'text', values: ['blue', 'red'] },
        { name: 'y', kind: 'numeric', values: Float64Array.from([40, 50]) },
      ],
    };
    const storedDrop = decodeTable(encodeTable({ table: drop, rowHashes: rowHashes(spec, drop) }));
    // Act
    const baselineIds = storedRowHashes(spec, old);
    const merged = mergeHistory(spec, [
      { name: 'baseline', table: old.table },
      { name: 'drop', table: storedDrop.table },
    ]);
    const mergedIds = rowHashes(spec, merged.table).values;
    // Assess: the old hashes are not reused; the rows are hashed again from their values.
    expect(Array.from(baselineIds)).toEqual(Array.from(rowHashes(spec, written).values));
    expect(merged.table.rowCount).toBe(5);
    expect(Array.from(mergedIds)).toEqual([
      ...Array.from(baselineIds.subarray(0, 3)),
      ...Array.from(storedRowHashes(spec, storedDrop)),
    ]);
  });
});
