/**
 * The offline CLI as a user runs it: a real `driftline` process, its output and its exit code.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom, shuffled } from '../../lambdas/core/random.ts';

const repo = new URL('../../', import.meta.url).pathname;
const airSpec = join(repo, 'data/specs/air-passengers.json');
let dir: string;

function driftline(...args: string[]) {
  const result = spawnSync(process.execPath, [join(repo, 'bin/driftline.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, DRIFTLINE_HOME: join(dir ?? tmpdir(), 'no-runtime') },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `driftline` with the local runtime's state folder at `home`. */
function driftlineAt(home: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [join(repo, 'bin/driftline.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, DRIFTLINE_HOME: home },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function file(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const [header, ...rows] = readFileSync(join(repo, 'data/air-passengers.csv'), 'utf8').trim().split('\n');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'driftline-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('driftline drift', () => {
  it('reports drift between AirPassengers 1949-1954 and 1955-1960', () => {
    // Act
    const { code, stdout } = driftline(
      'drift',
      file('early.csv', [header, ...rows.slice(0, 72)]),
      file('late.csv', [header, ...rows.slice(72)]),
      '--json',
    );
    // Assess
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.drifted).toBe(true);
    expect(report.columns[0]).toMatchObject({ column: 'value', test: 'ks', drifted: true, severity: 'high' });
    // scipy.stats.ks_2samp(values[:72], values[72:]) → statistic 0.9166666666666666, pvalue 1.5063...e-32
    expect(report.columns[0].statistic).toBeCloseTo(0.9166666666666666, 12);
  });

  it('reports no drift between two halves of a shuffled series', () => {
    // Prepare: the same months in a seeded random order, split in two
    const mixed = shuffled(rows, seededRandom(7));
    // Act
    const { code, stdout } = driftline(
      'drift',
      file('a.csv', [header, ...mixed.slice(0, 72)]),
      file('b.csv', [header, ...mixed.slice(72)]),
      '--json',
    );
    // Assess
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ drifted: false, status: 'no_drift' });
  });

  it('says insufficient_data for 5 rows rather than calling it drift', () => {
    const { code, stdout } = driftline(
      'drift',
      file('five-a.csv', [header, ...rows.slice(0, 5)]),
      file('five-b.csv', [header, ...rows.slice(100, 105)]),
      '--json',
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ drifted: false, status: 'insufficient_data' });
  });

  it('compares the transformed target the model learns from with a forecast spec', () => {
    const { stdout } = driftline(
      'drift',
      join(repo, 'data/drops/air-passengers-1949-1958.csv'),
      join(repo, 'data/drops/air-passengers-1959-1960.csv'),
      '--spec',
      airSpec,
      '--json',
    );
    const report = JSON.parse(stdout);
    // python3 -c "…ks_2samp(s(12,120), s(120,144), method='exact')" on ln y[t] − ln y[t−12]: p = 0.058499309365206
    expect(report).toMatchObject({
      status: 'no_drift',
      columns: [{ column: 'value (seasonal-log-ratio)', test: 'ks' }],
    });
    expect(report.columns).toHaveLength(1);
    expect(report.columns[0].pValue).toBeCloseTo(0.058499309365206, 10);
    // The report page's histograms and the sample sizes are not part of the CLI's JSON.
    expect(Object.keys(report.columns[0]).sort()).toEqual(
      [
        'column',
        'drifted',
        'kind',
        'psi',
        'reason',
        'severity',
        'statistic',
        'test',
        'threshold',
        'verdict',
        'pValue',
      ]
        .concat('psiNote' in report.columns[0] ? ['psiNote'] : [])
        .sort(),
    );
  });

  it('exits 2 with one line naming the file when a file is missing', () => {
    const { code, stderr } = driftline('drift', join(dir, 'nope.csv'), join(dir, 'nope.csv'));
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/nope\.csv: no such file/);
  });
});

describe('driftline validate', () => {
  it('passes the shipped data against the shipped spec', () => {
    const { code, stdout } = driftline(
      'validate',
      join(repo, 'data/breast-cancer.csv'),
      '--spec',
      join(repo, 'data/specs/breast-cancer.json'),
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/ok, 569 rows/);
  });

  it("prints each problem's whole message, however long, in the table's last column", () => {
    // Prepare: a drop saved as Windows-1252 (Excel's plain "CSV"), whose message ends with what to do
    const path = join(dir, 'latin1.csv');
    writeFileSync(path, Buffer.from('month,value\n1949-01,112\n1949-02,118 caf\xe9\n', 'latin1'));
    // Act
    const { code, stdout } = driftline('validate', path, '--spec', airSpec);
    // Assess: the row of the problem holds its message to the end
    expect(code).toBe(2);
    const row = stdout.split('\n').find((line) => line.includes('not_utf8'));
    expect(row).toMatch(/line 3: byte 0xE9 is not UTF-8; .*: save it as UTF-8 \(in Excel: "CSV UTF-8"\)$/);
  });

  it('exits 2 naming the line and the value of a malformed drop, and reports it as JSON', () => {
    // Prepare: the 14th data row (line 15) has a typo
    const lines = [header, ...rows];
    lines[14] = '1950-02,12six';
    // Act
    const { code, stdout, stderr } = driftline(
      'validate',
      file('typo.csv', lines),
      '--spec',
      airSpec,
      '--json',
    );
    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(/line 15/);
    const problem = JSON.parse(stdout).problems.find((p: { problem: string }) => p.problem === 'not_numeric');
    expect(problem).toMatchObject({ column: 'value', row: 15, count: 1 });
  });

  it('exits 2 on a spec with a bad field, naming the field', () => {
    const spec = file('spec.json', [
      JSON.stringify({ name: 'x', task: 'forecast', target: 'value', time: 'month', holdout: -3 }),
    ]);
    const { code, stderr } = driftline('validate', join(repo, 'data/air-passengers.csv'), '--spec', spec);
    expect(code).toBe(2);
    expect(stderr).toMatch(/spec\.holdout: must be a positive integer/);
  });
});

describe('driftline backtest', () => {
  it('scores the last 24 months one step ahead and reports metrics, fit time, model size and rows', () => {
    const { code, stdout } = driftline(
      'backtest',
      join(repo, 'data/air-passengers.csv'),
      '--spec',
      airSpec,
      '--json',
    );
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(Object.keys(result)).toEqual(
      expect.arrayContaining(['metrics', 'fitSeconds', 'modelBytes', 'rows']),
    );
    expect(result.rows).toBe(144);
    expect(result.holdoutRows).toBe(24);
    // The reference figures: SARIMA's airline model 2.55%, a forest on raw lags 7.46% (data/README.md).
    expect(result.metrics.mape).toBeLessThan(2.6);
  });

  it('exits 2 for an unknown engine', () => {
    const { code, stderr } = driftline(
      'backtest',
      join(repo, 'data/air-passengers.csv'),
      '--spec',
      airSpec,
      '--engine',
      'xgboost',
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(/--engine must be fast or ml-random-forest/);
  });
});

/** A port nothing listens on: one the system handed out, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The runtime.json a runtime killed without its cleanup leaves: `pid`, and endpoints on `port`. */
function staleRuntime(name: string, pid: number, port: number): string {
  const home = join(dir, name);
  mkdirSync(home);
  const url = `http://127.0.0.1:${port}`;
  writeFileSync(
    join(home, 'runtime.json'),
    JSON.stringify({
      pid,
      apiUrl: `${url}/`,
      region: 'us-east-1',
      endpoints: { s3: url, dynamodb: url, lambda: url, states: url },
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      outputs: {
        BucketName: 'data',
        RegistryTableName: 'registry',
        RunsTableName: 'runs',
        ApiUrl: `${url}/`,
        PromoteFunctionName: 'promote',
      },
    }),
  );
  return home;
}

describe('remote commands without a running driftline', () => {
  it('exit 2 with one line saying how to start one', () => {
    const { code, stderr } = driftline('models');
    expect(code).toBe(2);
    expect(stderr).toMatch(/no local driftline is running.*npm start/);
  });

  it('exit 2 naming what predict --json FILE must hold when it holds valid JSON of another shape', () => {
    // Prepare
    const path = join(dir, 'null.json');
    writeFileSync(path, 'null\n');
    // Act
    const { code, stderr } = driftline('predict', '--model', 'air-passengers', '--json', path);
    // Assess: not "not valid JSON (Cannot read properties of null …)"
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(
      `driftline: ${path}: holds null; give {"instances": [...]}, an array of instances or one instance`,
    );
  });

  it('exit 2 with that line when a killed runtime left its runtime.json behind', async () => {
    // Prepare: the runtime.json of a process that has ended (killed, so it never removed the file)
    const ended = spawnSync(process.execPath, ['-e', '']).pid;
    const home = staleRuntime('killed', ended, await closedPort());
    // Act
    const { code, stderr } = driftlineAt(home, 'runs', 'air-passengers');
    // Assess
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`no local driftline is running \\(process ${ended}\\b.*npm start`)),
    ]);
  });

  it('print one line, never a stack trace, when the endpoints do not answer', async () => {
    // Prepare: a live process (this one) named in runtime.json, but nothing on its ports
    const home = staleRuntime('silent', process.pid, await closedPort());
    for (const args of [
      ['models'],
      ['promote', 'air-passengers', '1'],
      ['predict', '--model', 'air-passengers', '--history', '1,2,3'],
    ]) {
      // Act
      const { code, stderr } = driftlineAt(home, ...args);
      // Assess
      expect({ args, code, lines: stderr.trim().split('\n') }).toEqual({
        args,
        code: 1,
        lines: [expect.stringMatching(/^driftline: can't reach driftline \(.*ECONNREFUSED.*npm start/)],
      });
    }
  });
});
