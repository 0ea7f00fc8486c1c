/**
 * The validate step's path from a drop to a validated table, S3 aside, as `bench:data` and
 * `bench/data-ab.ts` time it: the drop streamed from a file through sha256 and `validateDrop` (the
 * streaming column reader and the gate), each row's holdout hash (`rowHashes`) and the table file
 * written part by part from the columns' memory (`encodeTableParts`, as `putParts` sends it). The code
 * is passed in, so data-ab can run another commit's with the same harness.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ModelSpec } from '#core/spec.ts';
import type { rowHashes } from '#core/splits.ts';
import type { encodeTableParts } from '#core/table-file.ts';
import type { ValidateOptions, validateDrop } from '#core/validate.ts';

const MB = 2 ** 20;

/** The drop's bytes in 1 MB chunks, as a stream of the file yields them. */
export function readChunks(path: string): AsyncIterable<Uint8Array> {
  return createReadStream(path, { highWaterMark: MB });
}

/** How the validate handler has a drop read: no size limits here, the columns sized from the file. */
export function readOptions(path: string): ValidateOptions {
  return {
    maxBytes: Number.POSITIVE_INFINITY,
    maxRows: Number.POSITIVE_INFINITY,
    expectedBytes: statSync(path).size,
    // As the validate handler reads a drop: the chunks are the reader's once read.
    releaseChunks: true,
  };
}

/** The functions of the path, from this checkout or another commit's. */
export interface ValidatePathCode {
  validateDrop: typeof validateDrop;
  rowHashes: typeof rowHashes;
  encodeTableParts: typeof encodeTableParts;
  spec: ModelSpec;
}

/** Seconds of the whole path and of each phase, and the rows of the table. */
export interface ValidatePathTimes {
  seconds: number;
  /** sha256 and `validateDrop`: the reader and the gate. */
  read: number;
  rowHashes: number;
  write: number;
  rows: number;
}

/**
 * Runs the path on the drop at `path`, writing the table file to `tablePath`.
 * @throws Error when the drop fails validation.
 */
export async function runValidatePath(
  code: ValidatePathCode,
  path: string,
  tablePath: string,
): Promise<ValidatePathTimes> {
  const started = performance.now();
  const digest = createHash('sha256');
  async function* hashed(): AsyncGenerator<Uint8Array> {
    for await (const chunk of readChunks(path)) {
      digest.update(chunk);
      yield chunk;
    }
  }
  const report = await code.validateDrop(hashed(), code.spec, readOptions(path));
  if (!report.ok || !report.table)
    throw new Error(`${path} failed validation: ${JSON.stringify(report.problems)}`);
  digest.digest('hex');
  const read = performance.now();
  const stored = code.encodeTableParts({
    table: report.table,
    rowHashes: code.rowHashes(code.spec, report.table),
  });
  const keyed = performance.now();
  await pipeline(Readable.from(stored.parts), createWriteStream(tablePath));
  const written = performance.now();
  return {
    seconds: (written - started) / 1000,
    read: (read - started) / 1000,
    rowHashes: (keyed - read) / 1000,
    write: (written - keyed) / 1000,
    rows: report.table.rowCount,
  };
}
