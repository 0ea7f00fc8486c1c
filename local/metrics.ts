/**
 * The local CloudWatch metric store. Functions publish metrics the way they do on AWS, as CloudWatch
 * Embedded Metric Format (EMF) lines on stdout; the function host hands every such line here, and alarms
 * (evaluated by a later part of the runtime) query it by namespace, metric, dimensions and time window.
 *
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */

/** One datapoint, as CloudWatch would store it. */
export interface MetricDatum {
  readonly namespace: string;
  readonly metricName: string;
  /** The metric's dimensions (CloudWatch identifies a metric by namespace, name and exactly this set). */
  readonly dimensions: Readonly<Record<string, string>>;
  readonly unit: string;
  readonly value: number;
  /** Epoch milliseconds. */
  readonly timestamp: number;
  /** Which function logged it, when known. */
  readonly source?: string;
}

/** A metric query: namespace and name, optionally exact dimensions and a time window. */
export interface MetricQuery {
  readonly namespace: string;
  readonly metricName: string;
  /**
   * Dimensions the datapoints must have, exactly (CloudWatch semantics: `{ model: 'a' }` does not match a
   * datapoint with `{ model: 'a', version: '2' }`). Omitted: datapoints of every dimension set.
   */
  readonly dimensions?: Readonly<Record<string, string>>;
  /** Inclusive lower bound, epoch ms or a Date. */
  readonly startTime?: number | Date;
  /** Exclusive upper bound, epoch ms or a Date. */
  readonly endTime?: number | Date;
}

/** A line that claims to be EMF (`_aws.CloudWatchMetrics` present) but breaks the specification. */
export class EmfFormatError extends Error {
  override readonly name = 'EmfFormatError';
}

interface EmfDirective {
  Namespace: string;
  Dimensions: string[][];
  Metrics: { Name: string; Unit?: string }[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when `value` is an object carrying `_aws.CloudWatchMetrics`, i.e. meant as an EMF document. */
export function isEmf(value: unknown): value is Record<string, unknown> {
  return isRecord(value) && isRecord(value._aws) && Array.isArray(value._aws.CloudWatchMetrics);
}

function directiveOf(raw: unknown, index: number): EmfDirective {
  if (!isRecord(raw) || typeof raw.Namespace !== 'string' || raw.Namespace === '') {
    throw new EmfFormatError(`CloudWatchMetrics[${index}] needs a non-empty Namespace`);
  }
  const dimensionSets = raw.Dimensions ?? [[]];
  if (
    !Array.isArray(dimensionSets) ||
    !dimensionSets.every((set) => Array.isArray(set) && set.every((name) => typeof name === 'string'))
  ) {
    throw new EmfFormatError(`CloudWatchMetrics[${index}].Dimensions must be an array of arrays of names`);
  }
  if (!Array.isArray(raw.Metrics) || !raw.Metrics.every((m) => isRecord(m) && typeof m.Name === 'string')) {
    throw new EmfFormatError(`CloudWatchMetrics[${index}].Metrics must be an array of { Name, Unit? }`);
  }
  return {
    Namespace: raw.Namespace,
    Dimensions: dimensionSets as string[][],
    Metrics: raw.Metrics as EmfDirective['Metrics'],
  };
}

function valuesOf(document: Record<string, unknown>, metricName: string): number[] {
  const raw = document[metricName];
  const values = Array.isArray(raw) ? raw : [raw];
  if (raw === undefined || !values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new EmfFormatError(`metric "${metricName}" needs a numeric value (or an array of them)`);
  }
  return values as number[];
}

function dimensionsOf(document: Record<string, unknown>, names: string[]): Record<string, string> {
  return Object.fromEntries(
    names.map((name) => {
      const value = document[name];
      if (typeof value !== 'string') {
        throw new EmfFormatError(`dimension "${name}" needs a string value in the document`);
      }
      return [name, value];
    }),
  );
}

/**
 * The datapoints of one EMF document: one per metric, value and dimension set.
 * @throws {EmfFormatError} when the document breaks the EMF specification.
 * @example
 * parseEmf({ _aws: { Timestamp: 0, CloudWatchMetrics: [{ Namespace: 'Driftline', Dimensions: [['model']],
 *   Metrics: [{ Name: 'PredictLatency', Unit: 'Milliseconds' }] }] }, model: 'a', PredictLatency: 12 })
 * // [{ namespace: 'Driftline', metricName: 'PredictLatency', dimensions: { model: 'a' }, value: 12, ... }]
 */
export function parseEmf(document: unknown, source?: string): MetricDatum[] {
  if (!isEmf(document)) throw new EmfFormatError('not an EMF document: _aws.CloudWatchMetrics is missing');
  const meta = document._aws as Record<string, unknown>;
  const timestamp = meta.Timestamp;
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) {
    throw new EmfFormatError('_aws.Timestamp must be epoch milliseconds');
  }
  const directives = (meta.CloudWatchMetrics as unknown[]).map(directiveOf);
  return directives.flatMap((directive) =>
    directive.Dimensions.flatMap((names) => {
      const dimensions = dimensionsOf(document, names);
      return directive.Metrics.flatMap((metric) =>
        valuesOf(document, metric.Name).map((value) => ({
          namespace: directive.Namespace,
          metricName: metric.Name,
          dimensions,
          unit: metric.Unit ?? 'None',
          value,
          timestamp,
          ...(source === undefined ? {} : { source }),
        })),
      );
    }),
  );
}

function sameDimensions(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => b[key] === a[key]);
}

function epochOf(time: number | Date | undefined, fallback: number): number {
  if (time === undefined) return fallback;
  return time instanceof Date ? time.getTime() : time;
}

/** Options of {@link MetricStore}. */
export interface MetricStoreOptions {
  /** Datapoints older than this (relative to the newest put) are dropped. @default 24 hours */
  readonly retentionMs?: number;
  /** At most this many datapoints are kept, oldest dropped first. @default 200_000 */
  readonly maxDatapoints?: number;
}

/** Told about the datapoints of each {@link MetricStore.put}. */
export type MetricListener = (datapoints: readonly MetricDatum[]) => void;

/**
 * An in-memory CloudWatch: datapoints from EMF lines, queried like `GetMetricData` by metric identity
 * and time window. Bounded by age and count so a long-running local stack does not grow without end.
 */
export class MetricStore {
  private datapoints: MetricDatum[] = [];
  private readonly listeners = new Set<MetricListener>();
  private newest = Number.NEGATIVE_INFINITY;
  private oldest = Number.POSITIVE_INFINITY;
  private readonly retentionMs: number;
  private readonly maxDatapoints: number;

  constructor(options: MetricStoreOptions = {}) {
    this.retentionMs = options.retentionMs ?? 24 * 60 * 60 * 1000;
    this.maxDatapoints = options.maxDatapoints ?? 200_000;
    if (!(this.retentionMs > 0))
      throw new RangeError(`retentionMs must be positive, got ${this.retentionMs}`);
    if (!(this.maxDatapoints >= 1)) {
      throw new RangeError(`maxDatapoints must be at least 1, got ${this.maxDatapoints}`);
    }
  }

  /** Records datapoints, dropping those that fell out of the retention window or over the cap. */
  put(...datapoints: MetricDatum[]): void {
    for (const datum of datapoints) {
      this.datapoints.push(datum);
      this.newest = Math.max(this.newest, datum.timestamp);
      this.oldest = Math.min(this.oldest, datum.timestamp);
    }
    const keepFrom = this.newest - this.retentionMs;
    if (this.oldest < keepFrom) {
      this.datapoints = this.datapoints.filter((d) => d.timestamp >= keepFrom);
      this.oldest = this.datapoints.reduce((min, d) => Math.min(min, d.timestamp), Number.POSITIVE_INFINITY);
    }
    if (this.datapoints.length > this.maxDatapoints) {
      this.datapoints.splice(0, this.datapoints.length - this.maxDatapoints);
    }
    if (datapoints.length > 0) for (const listener of this.listeners) listener(datapoints);
  }

  /**
   * Calls `listener` with the datapoints of every later {@link put}, once they are queryable (alarms use it
   * to evaluate as soon as their metrics move). The listener runs inside `put` and must not throw.
   * @returns a function that removes the listener.
   */
  onPut(listener: MetricListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /**
   * Records the metrics of a log line if it is an EMF document; other lines are ignored.
   * @returns how many datapoints the line carried (0 for a line that is not EMF).
   * @throws {EmfFormatError} for a line that is EMF but malformed.
   */
  putLogLine(line: string, source?: string): number {
    if (!line.includes('"_aws"')) return 0;
    let document: unknown;
    try {
      document = JSON.parse(line);
    } catch {
      return 0;
    }
    if (!isEmf(document)) return 0;
    const datapoints = parseEmf(document, source);
    this.put(...datapoints);
    return datapoints.length;
  }

  /** Datapoints of one metric in a time window, oldest first. */
  query(query: MetricQuery): MetricDatum[] {
    const from = epochOf(query.startTime, Number.NEGATIVE_INFINITY);
    const to = epochOf(query.endTime, Number.POSITIVE_INFINITY);
    return this.datapoints
      .filter(
        (d) =>
          d.namespace === query.namespace &&
          d.metricName === query.metricName &&
          d.timestamp >= from &&
          d.timestamp < to &&
          (query.dimensions === undefined || sameDimensions(d.dimensions, query.dimensions)),
      )
      .sort((a, b) => a.timestamp - b.timestamp);
  }

  /** The distinct metrics seen (namespace, name, dimensions), like `ListMetrics`. */
  listMetrics(
    namespace?: string,
  ): { namespace: string; metricName: string; dimensions: Record<string, string> }[] {
    const seen = new Map<
      string,
      { namespace: string; metricName: string; dimensions: Record<string, string> }
    >();
    for (const d of this.datapoints) {
      if (namespace !== undefined && d.namespace !== namespace) continue;
      const dimensions = Object.fromEntries(
        Object.entries(d.dimensions).sort(([a], [b]) => a.localeCompare(b)),
      );
      const key = JSON.stringify([d.namespace, d.metricName, dimensions]);
      if (!seen.has(key)) seen.set(key, { namespace: d.namespace, metricName: d.metricName, dimensions });
    }
    return [...seen.values()];
  }

  /** How many datapoints are held. */
  get size(): number {
    return this.datapoints.length;
  }
}
