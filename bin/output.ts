/**
 * How the CLI talks to people and scripts: aligned tables by default, JSON with `--json`, and one line
 * on stderr with exit code 2 for bad input (exit 1 is for everything unexpected).
 */

/** Bad input from the user (a missing file, a malformed spec…): exit code 2 with one line. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/**
 * Widest cell printed in a column that has columns after it; longer text is cut with an ellipsis
 * (`--json` has it whole). The last column, with nothing after it to align, is printed whole: tables put
 * their reasons and messages there, whose end says what to do (a run's reason starts with its step and
 * drop key, which took all 120 characters).
 */
const MAX_CELL = 120;

/** Prints rows as an aligned table with a header. */
export function printTable(rows: Record<string, unknown>[], columns: string[]): void {
  const text = (value: unknown) => (value === undefined || value === null ? '' : String(value));
  const cut = (value: unknown) => {
    const whole = text(value);
    return whole.length > MAX_CELL ? `${whole.slice(0, MAX_CELL - 1)}…` : whole;
  };
  const last = columns.length - 1;
  const widths = columns.map((column) =>
    Math.max(column.length, ...rows.map((row) => cut(row[column]).length)),
  );
  const line = (values: string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  console.log(line(columns));
  console.log(line(widths.map((width) => '-'.repeat(width))));
  for (const row of rows)
    console.log(line(columns.map((column, i) => (i === last ? text(row[column]) : cut(row[column])))));
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/** Formats a number for a table: a few significant digits, no exponent for ordinary values. */
export function formatNumber(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '';
  if (value !== 0 && (Math.abs(value) < 1e-4 || Math.abs(value) >= 1e7)) return value.toExponential(2);
  return String(Number(value.toPrecision(digits)));
}

/**
 * A paired comparison for a table: the difference candidate − champion and its interval, e.g.
 * "-0.69 [-1.02, -0.31] 95%"; empty without one (a first model, a version registered before it existed).
 */
export function formatComparison(
  comparison: { difference: number; interval: [number, number]; confidence: number } | undefined,
): string {
  if (comparison === undefined) return '';
  const [low, high] = comparison.interval;
  const confidence = `${Number((comparison.confidence * 100).toFixed(2))}%`;
  return `${formatNumber(comparison.difference)} [${formatNumber(low)}, ${formatNumber(high)}] ${confidence}`;
}
