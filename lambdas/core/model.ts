/**
 * The model artifact: one binary file holding the fitted featurizer, the metadata a person needs to trust
 * the model (data, parameters, seed, code version, holdout metrics) and the forest in the one serving
 * format every engine exports to. The registry stores its sha256; loading verifies it, so a model that
 * was tampered with or half-written is never served.
 */
import { createHash } from 'node:crypto';
import type { Featurizer, TabularInstance } from './features.ts';
import { forecastFeatures, invertForecast, nextMonthOfYear, tabularFeatures, usesLog } from './features.ts';
import {
  deserializeForest,
  type FlatForest,
  predictRow,
  type SerializeOptions,
  serializeForest,
} from './forest/index.ts';
import type { EngineName, ForestParams, Task } from './types.ts';

const MAGIC = 'DLMODEL1';

/** What an artifact says about itself: enough to reproduce it and to explain it. */
export interface ModelMeta {
  model: string;
  task: Task;
  engine: EngineName;
  params: ForestParams;
  seed: number;
  /** The target and the feature names a request must carry (tabular) or the history it needs (forecast). */
  signature: { target: string; features: string[]; historyLength?: number; classes?: number[] };
  /**
   * Data the model was fitted on: dataset key and sha256, rows; the judged fit's training and holdout
   * rows, and `refitRows` when the served forest was refit on every row after the holdout judged it.
   */
  data: {
    datasetKey?: string;
    sha256?: string;
    rows: number;
    trainRows: number;
    holdoutRows: number;
    refitRows?: number;
  };
  /** Holdout metrics of this model (of its judged fit, when it was refit). */
  metrics: Record<string, number>;
  codeVersion: string;
  createdAt: string;
}

/** A model ready to predict. */
export interface LoadedModel {
  meta: ModelMeta;
  featurizer: Featurizer;
  forest: FlatForest;
  sha256: string;
  bytes: number;
}

/** Thrown when an artifact's bytes don't match the checksum the registry recorded. */
export class ChecksumMismatchError extends Error {
  constructor(expected: string, actual: string) {
    super(`model artifact checksum mismatch: registry says ${expected}, bytes hash to ${actual}`);
    this.name = 'ChecksumMismatchError';
  }
}

/** Thrown for bytes that are not a driftline model artifact. */
export class ArtifactFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArtifactFormatError';
  }
}

/** Thrown for a prediction request that does not fit the model (a 4xx at the API). */
export class InstanceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InstanceError';
  }
}

/** Hex sha256 of some bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Packs a model into its artifact bytes: magic, header length, JSON header, forest bytes. The JSON ends
 * in spaces up to an 8-byte boundary, so the forest's sections are aligned for `loadModel` to read them
 * in place. `options.formatVersion: 1` writes the forest as code before format 2 did (for comparisons).
 */
export function packModel(
  model: {
    meta: ModelMeta;
    featurizer: Featurizer;
    forest: FlatForest;
  },
  options: SerializeOptions = {},
): Uint8Array {
  const json = JSON.stringify({ meta: model.meta, featurizer: model.featurizer });
  const unpadded = Buffer.byteLength(json, 'utf8');
  const header = Buffer.from(
    json.padEnd(json.length + ((8 - ((MAGIC.length + 4 + unpadded) % 8)) % 8)),
    'utf8',
  );
  const forest = serializeForest(model.forest, options);
  const out = new Uint8Array(MAGIC.length + 4 + header.length + forest.length);
  out.set(Buffer.from(MAGIC, 'ascii'), 0);
  new DataView(out.buffer).setUint32(MAGIC.length, header.length, true);
  out.set(header, MAGIC.length + 4);
  out.set(forest, MAGIC.length + 4 + header.length);
  return out;
}

/**
 * Reads artifact bytes, verifying the sha256 the registry recorded when one is given.
 *
 * @param sha256 the bytes' sha256 when the caller already computed it (as they arrived, for instance).
 * @throws ChecksumMismatchError when the bytes don't hash to `expectedSha256`.
 * @throws ArtifactFormatError when the bytes are not a model artifact.
 */
export function loadModel(
  bytes: Uint8Array,
  expectedSha256?: string,
  sha256: string = sha256Hex(bytes),
): LoadedModel {
  if (expectedSha256 !== undefined && sha256 !== expectedSha256)
    throw new ChecksumMismatchError(expectedSha256, sha256);
  const magic = Buffer.from(bytes.subarray(0, MAGIC.length)).toString('ascii');
  if (magic !== MAGIC) throw new ArtifactFormatError(`not a driftline model artifact (magic "${magic}")`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(MAGIC.length, true);
  const headerEnd = MAGIC.length + 4 + headerLength;
  if (headerEnd > bytes.length) throw new ArtifactFormatError('model artifact is truncated');
  const header = JSON.parse(Buffer.from(bytes.subarray(MAGIC.length + 4, headerEnd)).toString('utf8')) as {
    meta: ModelMeta;
    featurizer: Featurizer;
  };
  // A matched sha256 proves every byte, so the forest's own CRC-32 would only repeat it.
  const forest = deserializeForest(bytes.subarray(headerEnd), {
    integrityVerified: expectedSha256 !== undefined,
  });
  return { meta: header.meta, featurizer: header.featurizer, forest, sha256, bytes: bytes.length };
}

/** A forecast request: recent history, oldest first, and optionally the month being predicted (`YYYY-MM`). */
export interface ForecastInstance {
  history: number[];
  /** The month of the last history value; needed only by models that use the month of year. */
  lastMonth?: string;
}

/** One prediction. `label`/`probabilities` for classifiers, `value` for regression and forecasts. */
export interface Prediction {
  value?: number;
  label?: number;
  probabilities?: Record<string, number>;
  /** Inputs far outside what the model was trained on (the reliability signal while labels are late). */
  outOfRange?: string[];
}

/**
 * Predicts a batch of instances. Forecast instances are `{ history }`; tabular ones name their features.
 *
 * @throws InstanceError when an instance does not fit the model (too short a history, wrong type…).
 */
export function predictInstances(model: LoadedModel, instances: unknown[]): Prediction[] {
  const { featurizer, forest } = model;
  const row = new Float64Array(featurizer.featureNames.length);
  const probabilities = new Float64Array(Math.max(1, forest.classes.length));
  return instances.map((instance, index) => {
    if (featurizer.kind === 'forecast') {
      const { history, lastMonth } = asForecastInstance(instance, index);
      if (history.length < featurizer.historyLength) {
        throw new InstanceError(
          `instances[${index}].history has ${history.length} values; this model needs at least ${featurizer.historyLength}`,
        );
      }
      if (usesLog(featurizer.transform) && history.some((value) => value <= 0)) {
        throw new InstanceError(`instances[${index}].history: this model needs positive values`);
      }
      const month = lastMonth === undefined ? undefined : nextMonthOfYear(lastMonth);
      if (featurizer.monthOfYear && month === undefined) {
        throw new InstanceError(`instances[${index}].lastMonth (YYYY-MM) is required by this model`);
      }
      const base = forecastFeatures(featurizer, history, row, month);
      const value = invertForecast(featurizer, predictRow(forest, row), base);
      const { min, max } = featurizer.inputRange;
      // Values near the largest double overflow the transform's inversion (a level times a ratio): the
      // answer would be Infinity or NaN, which JSON writes as null. That is no forecast.
      if (!Number.isFinite(value)) {
        throw new InstanceError(
          `instances[${index}].history: the forecast from it is not a finite number; its values are too far outside what this model trained on (${min} to ${max})`,
        );
      }
      const margin = 0.1 * (max - min);
      const recent = history.slice(-featurizer.historyLength);
      const outside = recent.some((v) => v < min - margin || v > max + margin);
      return outside ? { value, outOfRange: ['history'] } : { value };
    }
    if (typeof instance !== 'object' || instance === null || Array.isArray(instance)) {
      throw new InstanceError(`instances[${index}] must be an object of feature values`);
    }
    const named = instance as TabularInstance;
    tabularFeatures(featurizer, named, row);
    const outOfRange = featurizer.numeric
      .filter(({ name, min, max }) => {
        const value = Number(named[name]);
        const margin = 0.1 * (max - min);
        return Number.isFinite(value) && (value < min - margin || value > max + margin);
      })
      .map(({ name }) => name);
    for (const { name, categories } of featurizer.categorical) {
      const value = named[name];
      if (value !== undefined && value !== null && !categories.includes(String(value))) outOfRange.push(name);
    }
    const extra = outOfRange.length ? { outOfRange } : {};
    if (featurizer.task === 'classification') {
      const top = predictRow(forest, row, probabilities);
      const byLabel: Record<string, number> = {};
      forest.classes.forEach((label, k) => {
        byLabel[String(label)] = probabilities[k];
      });
      return { label: forest.classes[top], probabilities: byLabel, ...extra };
    }
    return { value: predictRow(forest, row), ...extra };
  });
}

function asForecastInstance(instance: unknown, index: number): ForecastInstance {
  const candidate = instance as Partial<ForecastInstance> | null;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    !Array.isArray(candidate.history) ||
    !candidate.history.every((value) => typeof value === 'number' && Number.isFinite(value))
  ) {
    throw new InstanceError(`instances[${index}] must be {"history": [numbers, oldest first]}`);
  }
  if (candidate.lastMonth !== undefined && !/^\d{4}-(0[1-9]|1[0-2])$/.test(String(candidate.lastMonth))) {
    throw new InstanceError(`instances[${index}].lastMonth must be YYYY-MM`);
  }
  return { history: candidate.history, lastMonth: candidate.lastMonth };
}
