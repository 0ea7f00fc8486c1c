/** Reading the files the CLI is given, turning every problem into a one-line `CliError`. */
import { readFileSync } from 'node:fs';
import { parseCsv, toTable } from '#core/csv.ts';
import { type ModelSpec, parseSpec } from '#core/spec.ts';
import type { Table } from '#core/types.ts';
import { specLimits, validateDrop } from '#core/validate.ts';
import { CliError } from '../output.ts';

export function readFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(`${path}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
}

/** A spec file, parsed; `overrides` replace top-level fields first (e.g. `--engine`). */
export function readSpec(path: string, overrides: Record<string, unknown> = {}): ModelSpec {
  let json: unknown;
  try {
    json = JSON.parse(readFile(path).toString('utf8'));
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  try {
    return parseSpec({ ...(json as object), ...overrides });
  } catch (error) {
    throw new CliError(`${path}: ${(error as Error).message.split('\n').join('; ')}`);
  }
}

/**
 * A CSV as a table: checked against the spec when one is given (as a `laterDrop` if so told), column
 * kinds inferred otherwise.
 */
export async function readTable(
  path: string,
  spec?: ModelSpec,
  options: { laterDrop?: boolean } = {},
): Promise<Table> {
  const bytes = readFile(path);
  if (spec) {
    const report = await validateDrop(bytes, spec, { ...specLimits(spec), ...options });
    if (!report.ok || !report.table) {
      const first = report.problems.find((problem) => problem.severity === 'error');
      throw new CliError(`${path}: ${first?.message ?? 'does not pass validation'}`);
    }
    return report.table;
  }
  try {
    return toTable(await parseCsv(bytes));
  } catch (error) {
    throw new CliError(`${path}: ${(error as Error).message}`);
  }
}
