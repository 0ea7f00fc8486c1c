/**
 * The offline commands: they need no server, only the pure core and two CSV files.
 */

import { detectDrift } from '#core/drift.ts';
import { driftFrames, inferDriftColumns } from '#core/drift-frames.ts';
import { backtest, TrainingDataError } from '#core/training.ts';
import { validateDrop } from '#core/validate.ts';

import { CliError, formatNumber, printJson, printTable } from '../output.ts';
import { readFile, readSpec, readTable } from './files.ts';

export async function driftCommand(
  referencePath: string,
  currentPath: string,
  options: { spec?: string; json?: boolean },
) {
  // Both files are drops here: the spec's minRows and two classes are about training data, drift has
  // its own minimum.
  const spec = options.spec ? readSpec(options.spec) : undefined;
  const [reference, current] = await Promise.all([
    readTable(referencePath, spec, { laterDrop: true }),
    readTable(currentPath, spec, { laterDrop: true }),
  ]);
  const inferred = spec ? undefined : inferDriftColumns(reference, current);
  const report = (() => {
    try {
      if (!spec) return detectDrift(reference, current, { columns: inferred!.columns });
      const frames = driftFrames(spec, reference, current);
      return detectDrift(frames.reference, frames.current, frames.options);
    } catch (error) {
      throw new CliError(`${referencePath} vs ${currentPath}: ${(error as Error).message}`);
    }
  })();
  const skipped = inferred?.skipped ?? [];
  if (options.json) {
    printJson({
      status: report.status,
      drifted: report.drifted,
      share: report.share,
      threshold: report.threshold,
      // The sample sizes and the distributions (the report page's histograms) stay out of the CLI's JSON.
      columns: report.columns.map(
        ({ referenceRows: _reference, currentRows: _current, distribution: _distribution, ...column }) =>
          column,
      ),
      skipped,
      summary: report.summary,
    });
    return;
  }
  printTable(
    report.columns.map((column) => ({
      column: column.column,
      test: column.test,
      statistic: formatNumber(column.statistic),
      'p-value': formatNumber(column.pValue),
      threshold: formatNumber(column.threshold),
      psi: formatNumber(column.psi),
      severity: column.severity,
      verdict: column.verdict,
    })),
    ['column', 'test', 'statistic', 'p-value', 'threshold', 'psi', 'severity', 'verdict'],
  );
  for (const { column, reason } of skipped) console.log(`(${column} not compared: ${reason})`);
  console.log(`\n${report.summary}`);
}

export async function validateCommand(dataPath: string, options: { spec: string; json?: boolean }) {
  const spec = readSpec(options.spec);
  const report = await validateDrop(readFile(dataPath), spec);
  if (options.json) {
    printJson({
      ok: report.ok,
      rowCount: report.rowCount,
      columns: report.columns,
      problems: report.problems,
    });
  } else if (report.problems.length === 0) {
    console.log(`${dataPath}: ok, ${report.rowCount} rows match spec "${spec.name}"`);
  } else {
    printTable(
      report.problems.map((problem) => ({ ...problem, line: problem.row })),
      ['severity', 'problem', 'column', 'line', 'count', 'message'],
    );
  }
  if (!report.ok) {
    const errors = report.problems.filter((problem) => problem.severity === 'error');
    throw new CliError(`${dataPath}: ${errors.length} problem(s), first: ${errors[0]?.message}`);
  }
}

export async function backtestCommand(
  dataPath: string,
  options: { spec: string; engine?: string; json?: boolean },
) {
  if (options.engine !== undefined && !['fast', 'ml-random-forest'].includes(options.engine)) {
    throw new CliError(`--engine must be fast or ml-random-forest, got "${options.engine}"`);
  }
  // The engine is read with the spec, so its default search space and its checks are the engine's own.
  const spec = readSpec(options.spec, options.engine === undefined ? {} : { engine: options.engine });
  const { engine } = spec;
  const table = await readTable(dataPath, spec);
  let result: Awaited<ReturnType<typeof backtest>>;
  try {
    result = await backtest(spec, table, { engine });
  } catch (error) {
    if (error instanceof TrainingDataError) throw new CliError(`${dataPath}: ${error.message}`);
    throw error;
  }
  if (options.json) {
    printJson(result);
    return;
  }
  console.log(
    `${spec.name}: ${engine} engine, ${result.rows} rows (${result.trainRows} to fit, ${result.holdoutRows} held out), ` +
      `variant ${result.variant}, ${result.trials.length} candidates searched in ${formatNumber(result.searchSeconds, 3)} s`,
  );
  printTable(
    Object.entries(result.metrics).map(([metric, value]) => ({ metric, holdout: formatNumber(value, 5) })),
    ['metric', 'holdout'],
  );
  console.log(`\nfinal fit ${formatNumber(result.fitSeconds, 3)} s, model ${result.modelBytes} bytes`);
}
