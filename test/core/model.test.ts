import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildMatrix, fitForecastFeaturizer, invertForecast } from '#core/features.ts';
import { getLearner, predictBatch } from '#core/forest/index.ts';
import { servingLayout } from '#core/forest/serving.ts';
import {
  ArtifactFormatError,
  ChecksumMismatchError,
  InstanceError,
  loadModel,
  type ModelMeta,
  packModel,
  predictInstances,
  sha256Hex,
} from '#core/model.ts';
import type { Table } from '#core/types.ts';

const repo = new URL('../../', import.meta.url).pathname;
const lines = readFileSync(`${repo}data/air-passengers.csv`, 'utf8').trim().split('\n').slice(1);
const months = lines.map((line) => line.split(',')[0]);
const values = Float64Array.from(lines, (line) => Number(line.split(',')[1]));
const air: Table = {
  rowCount: lines.length,
  columns: [
    { name: 'month', kind: 'text', values: months },
    { name: 'value', kind: 'numeric', values },
  ],
};

async function forecastModel(monthOfYear: boolean) {
  const featurizer = fitForecastFeaturizer(air, {
    target: 'value',
    time: 'month',
    lags: 12,
    season: 12,
    transform: 'seasonal-log-ratio',
    monthOfYear,
  });
  const matrix = buildMatrix(featurizer, air);
  const forest = await getLearner('fast').fit(
    {
      task: 'regression',
      x: matrix.x,
      y: matrix.y,
      rowCount: matrix.rowCount,
      featureCount: matrix.featureCount,
      featureNames: featurizer.featureNames,
    },
    { nTrees: 20 },
    { seed: 7 },
  );
  const meta: ModelMeta = {
    model: 'air',
    task: 'forecast',
    engine: 'fast',
    params: forest.params,
    seed: 7,
    signature: { target: 'value', features: featurizer.featureNames, historyLength: 12 },
    data: { rows: 144, trainRows: 132, holdoutRows: 0, refitRows: 132 },
    metrics: {},
    codeVersion: 'test',
    createdAt: '2026-01-01T00:00:00.000Z',
  };
  return { bytes: packModel({ meta, featurizer, forest }), matrix, forest, featurizer };
}

describe('the model artifact', () => {
  it('round-trips and predicts exactly as the forest does on the training matrix', async () => {
    const { bytes, matrix, forest, featurizer } = await forecastModel(false);
    const model = loadModel(bytes, sha256Hex(bytes));
    // The last row: 1960-12 from 1959-12 … 1960-11
    const [prediction] = predictInstances(model, [{ history: Array.from(values.subarray(0, 143)) }]);
    const raw = predictBatch(forest, matrix.x.subarray(131 * 12), 1)[0];
    expect(prediction.value).toBe(invertForecast(featurizer, raw, matrix.base[131]));
    expect(model.meta.data.refitRows).toBe(132);
  });

  it('places the forest on an 8-byte boundary, so loading views its nodes in the artifact instead of copying them', async () => {
    // Prepare
    const { bytes } = await forecastModel(true);
    // Act
    const model = loadModel(bytes);
    // Assess
    const layout = servingLayout(model.forest);
    expect(layout.kind).toBe('packed');
    if (layout.kind === 'packed') expect(layout.words.buffer).toBe(bytes.buffer);
    const headerLength = new DataView(bytes.buffer).getUint32(8, true);
    expect((12 + headerLength) % 8).toBe(0);
  });

  it('refuses bytes whose checksum differs from the registry, and bytes that are no artifact', async () => {
    const { bytes } = await forecastModel(false);
    const tampered = Uint8Array.from(bytes);
    tampered[tampered.length - 1] ^= 1;
    expect(() => loadModel(tampered, sha256Hex(bytes))).toThrow(ChecksumMismatchError);
    expect(() => loadModel(new TextEncoder().encode('not a model at all'))).toThrow(ArtifactFormatError);
  });

  it('leaves the forest’s CRC-32 to the sha256 when the registry’s sha256 is given, and checks it otherwise', async () => {
    // Prepare: the forest's stored CRC-32 changed, the artifact hashed as it now is
    const { bytes } = await forecastModel(false);
    const forestAt = 12 + new DataView(bytes.buffer).getUint32(8, true);
    const changed = Uint8Array.from(bytes);
    changed[forestAt + 12] ^= 1;
    // Act / Assess: a matching sha256 proves the bytes; without one the CRC-32 still refuses them
    expect(loadModel(changed, sha256Hex(changed)).forest.nTrees).toBe(loadModel(bytes).forest.nTrees);
    expect(() => loadModel(changed)).toThrow(/CRC-32 mismatch/);
  });

  it('needs the month of the last history value when the model uses the month of year', async () => {
    const { bytes, matrix, forest, featurizer } = await forecastModel(true);
    const model = loadModel(bytes);
    const history = Array.from(values.subarray(0, 143));
    expect(() => predictInstances(model, [{ history }])).toThrow(InstanceError);
    expect(() => predictInstances(model, [{ history }])).toThrow(/lastMonth \(YYYY-MM\) is required/);
    const [prediction] = predictInstances(model, [{ history, lastMonth: months[142] }]);
    const raw = predictBatch(forest, matrix.x.subarray(131 * 13), 1)[0];
    expect(prediction.value).toBe(invertForecast(featurizer, raw, matrix.base[131]));
  });

  it('refuses a history whose forecast overflows to Infinity, which JSON would answer as null', async () => {
    // Prepare: a year at 1.7e308, which the seasonal log ratio's inversion multiplies past the largest double
    const model = loadModel((await forecastModel(false)).bytes);
    const history = Array.from({ length: 12 }, () => 1.7e308);
    // Act & Assess
    expect(() =>
      predictInstances(model, [{ history: Array.from(values.subarray(0, 12)) }, { history }]),
    ).toThrow(/^instances\[1\]\.history: the forecast from it is not a finite number/);
    expect(() => predictInstances(model, [{ history }])).toThrow(InstanceError);
  });
});
