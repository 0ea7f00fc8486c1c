/**
 * Numbers nobody bounded in advance reach the registry and the run records: a KS p-value of a strongly
 * drifted column, a MAPE over labels near zero. DynamoDB stores magnitudes 1e-130 to ~1e126 only, and the
 * document client refused numbers past ±2^53 and read them back as BigInts. Before `document-client.ts`,
 * the drift step's run-record write of a 0.7 shift over 1,000 rows failed with DynamoDB's
 * `Number underflow`, so the drop whose drift the check exists for ended its run on a storage error.
 * Runs on dynalite and, in CI, on DynamoDB Local (`npm run test:dynamodb-local`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ksTwoSample } from '../../lambdas/core/stats/ks-two-sample.ts';
import type { DriftResult } from '../../lambdas/shared/contract.ts';
import {
  DYNAMODB_MAX_MAGNITUDE,
  storableNumber,
  withStorableNumbers,
} from '../../lambdas/shared/document-client.ts';
import { Registry } from '../../lambdas/shared/registry.ts';
import {
  createRegistryTable,
  registryTables,
  startTestEmulators,
  type TestEmulators,
} from '../support/emulators.ts';
import { versionRecord } from '../support/versions.ts';

let emulators: TestEmulators;
let registry: Registry;

beforeAll(async () => {
  emulators = await startTestEmulators();
  await createRegistryTable('registry-numbers');
  registry = new Registry(registryTables('registry-numbers'));
});
afterAll(async () => emulators.close());

describe('storableNumber', () => {
  it('keeps numbers DynamoDB stores and brings the others to the nearest it stores', () => {
    expect(storableNumber(0.1)).toBe(0.1);
    expect(storableNumber(1e-130)).toBe(1e-130);
    expect(storableNumber(1e20)).toBe(1e20);
    expect(storableNumber(3.5e-235)).toBe(0);
    expect(storableNumber(-5e-324)).toBe(0);
    expect(storableNumber(1e200)).toBe(DYNAMODB_MAX_MAGNITUDE);
    expect(storableNumber(-Number.MAX_VALUE)).toBe(-DYNAMODB_MAX_MAGNITUDE);
    expect(DYNAMODB_MAX_MAGNITUDE).toBeLessThan(1e126);
  });

  it('maps plain objects, arrays and sets deeply, and leaves binary data and unchanged values alone', () => {
    const bytes = new Uint8Array([1, 2]);
    const input = { a: [1, { b: 1e-200 }], s: new Set([1e300]), bytes, text: 'x' };
    const output = withStorableNumbers(input);
    expect(output).toEqual({ a: [1, { b: 0 }], s: new Set([DYNAMODB_MAX_MAGNITUDE]), bytes, text: 'x' });
    expect(output.bytes).toBe(bytes);
    const unchanged = { a: [1, 2], b: { c: 'd' } };
    expect(withStorableNumbers(unchanged)).toBe(unchanged);
  });
});

describe('the registry with numbers past what DynamoDB and the SDK take', () => {
  it('stores the drift record of a strongly drifted column (p-value 3.5e-235) and reads it back', async () => {
    // Arrange: the drift step's own statistic on a 0.7 shift of 1,000 evenly spread values.
    const reference = Float64Array.from({ length: 1000 }, (_, i) => i / 1000);
    const { statistic, pValue } = ksTwoSample(
      reference,
      reference.map((value) => value + 0.7),
    );
    expect(pValue).toBeGreaterThan(0);
    expect(pValue).toBeLessThan(1e-130);
    const run = { model: 'numbers', runId: 'run-1', startedAt: '2026-01-01T00:00:00Z' };
    await registry.startRun({ ...run, trigger: 'drop', status: 'running', step: 'drift' });
    // Act
    const drift: DriftResult = {
      status: 'drift',
      share: 1,
      threshold: 0.5,
      driftedColumns: ['x'],
      summary: 'x drifted',
      columns: [
        {
          column: 'x',
          test: 'ks',
          statistic,
          pValue,
          verdict: 'drift',
          psi: 1e300,
          referenceRows: 1000,
          currentRows: 1000,
        },
      ],
      pooled: { drops: ['drops/x.csv'], rows: 1000 },
      reportKey: 'reports/drift.json',
    };
    await registry.updateRun(run.model, run.startedAt, run.runId, { drift });
    // Assert
    const stored = (await registry.getRun(run.model, run.startedAt, run.runId))?.drift as DriftResult;
    expect(stored.columns[0]).toMatchObject({ statistic, pValue: 0, psi: DYNAMODB_MAX_MAGNITUDE });
  });

  it('stores a version whose metrics are past 2^53 and reads them back as numbers JSON can serialise', async () => {
    // Arrange: a MAPE over labels near zero, an error sum past 2^53, an interval touching both limits.
    await registry.putSpec('numbers', { name: 'numbers' });
    const version = {
      ...versionRecord('numbers', 1, 'none'),
      metrics: { mape: 1e20, mae: 2 ** 53 + 2, rmse: 1e300 },
    };
    // Act
    await registry.createVersion(version);
    // Assert
    const stored = await registry.getVersion('numbers', 1);
    expect(stored?.metrics).toEqual({ mape: 1e20, mae: 2 ** 53 + 2, rmse: DYNAMODB_MAX_MAGNITUDE });
    expect(typeof stored?.metrics.mae).toBe('number');
    expect(() => JSON.stringify(stored)).not.toThrow();
    expect((await registry.listVersions('numbers'))[0].metrics.mape).toBe(1e20);
  });
});
