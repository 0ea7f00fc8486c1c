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

/** A metric's identity: namespace, name and its exact dimension set (order-independent). */
function seriesKey(
  namespace: string,
  metricName: string,
  dimensions: Readonly<Record<string, string>>,
): string {
  const names = Object.keys(dimensions);
  if (names.length > 1) names.sort();
  let key = `${namespace}\u0000${metricName}`;
  for (const name of names) key += `\u0000${name}\u0001${dimensions[name]}`;
  return key;
}

/** The first index in `times[from..to)` whose value is >= `time` (or > `time` when `after`). */
function lowerBound(times: readonly number[], from: number, to: number, time: number, after = false): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] < time || (after && times[mid] === time)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The datapoints of one metric (namespace, name, exact dimensions) in time order; `start` skips the ones
 * dropped by retention until they are compacted away, so dropping from the front costs O(1) amortised.
 */
class Series {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly times: number[] = [];
  readonly data: MetricDatum[] = [];
  start = 0;
  /** The newest timestamp ever dropped: every dropped datapoint was at or before it (drops take the oldest). */
  droppedThrough = Number.NEGATIVE_INFINITY;

  constructor(datum: MetricDatum) {
    this.namespace = datum.namespace;
    this.metricName = datum.metricName;
    this.dimensions = datum.dimensions;
  }

  get size(): number {
    return this.times.length - this.start;
  }

  get oldest(): number {
    return this.size > 0 ? this.times[this.start] : Number.POSITIVE_INFINITY;
  }

  /** Inserts in time order; a datapoint equal in time to others goes after them (arrival order). */
  add(datum: MetricDatum): void {
    const { times } = this;
    if (times.length === this.start || datum.timestamp >= times[times.length - 1]) {
      times.push(datum.timestamp);
      this.data.push(datum);
      return;
    }
    const at = lowerBound(times, this.start, times.length, datum.timestamp, true);
    times.splice(at, 0, datum.timestamp);
    this.data.splice(at, 0, datum);
  }

  /** Drops datapoints older than `time`; returns how many. */
  dropBefore(time: number): number {
    const end = lowerBound(this.times, this.start, this.times.length, time);
    return this.dropFirst(end - this.start);
  }

  /** Drops the `n` oldest datapoints; returns how many. */
  dropFirst(n: number): number {
    const dropped = Math.min(n, this.size);
    if (dropped > 0)
      this.droppedThrough = Math.max(this.droppedThrough, this.times[this.start + dropped - 1]);
    this.start += dropped;
    if (this.start > 1024 && this.start * 2 > this.times.length) {
      this.times.splice(0, this.start);
      this.data.splice(0, this.start);
      this.start = 0;
    }
    return dropped;
  }

  /** How many datapoints have `from <= timestamp < to`. */
  countIn(from: number, to: number): number {
    const first = lowerBound(this.times, this.start, this.times.length, from);
    return lowerBound(this.times, first, this.times.length, to) - first;
  }

  /** Datapoints with `from <= timestamp < to`, oldest first. */
  window(from: number, to: number): MetricDatum[] {
    const first = lowerBound(this.times, this.start, this.times.length, from);
    const last = lowerBound(this.times, first, this.times.length, to);
    return this.data.slice(first, last);
  }
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
  /** Series by {@link seriesKey}; queries find their window by binary search, so they do not grow with history. */
  private readonly series = new Map<string, Series>();
  /** Series by namespace and name, for queries without dimensions. */
  private readonly byMetric = new Map<string, Series[]>();
  private readonly listeners = new Set<MetricListener>();
  private newest = Number.NEGATIVE_INFINITY;
  private count = 0;
  /** Retention is enforced over every series at most once per this many ms of datapoint time. */
  private prunedUpTo = Number.NEGATIVE_INFINITY;
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
      const key = seriesKey(datum.namespace, datum.metricName, datum.dimensions);
      let series = this.series.get(key);
      if (!series) {
        series = new Series(datum);
        this.series.set(key, series);
        const metric = `${datum.namespace}\u0000${datum.metricName}`;
        const list = this.byMetric.get(metric);
        if (list) list.push(series);
        else this.byMetric.set(metric, [series]);
      }
      series.add(datum);
      this.count += 1;
      if (datum.timestamp > this.newest) this.newest = datum.timestamp;
    }
    const keepFrom = this.newest - this.retentionMs;
    // Every series is swept when the window has moved by a hundredth of the retention (or more): the work
    // is bounded by the series count, not by the datapoints held.
    if (keepFrom - this.prunedUpTo >= this.retentionMs / 100) {
      for (const series of this.series.values()) this.count -= series.dropBefore(keepFrom);
      this.prunedUpTo = keepFrom;
    }
    while (this.count > this.maxDatapoints) {
      let oldest: Series | undefined;
      for (const series of this.series.values())
        if (!oldest || series.oldest < oldest.oldest) oldest = series;
      this.count -= oldest!.dropFirst(1);
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
    // Datapoints past the retention may wait for the next sweep; they are never returned.
    const from = Math.max(epochOf(query.startTime, Number.NEGATIVE_INFINITY), this.newest - this.retentionMs);
    const to = epochOf(query.endTime, Number.POSITIVE_INFINITY);
    if (query.dimensions !== undefined) {
      const series = this.series.get(seriesKey(query.namespace, query.metricName, query.dimensions));
      return series ? series.window(from, to) : [];
    }
    const all = this.byMetric.get(`${query.namespace}\u0000${query.metricName}`) ?? [];
    return all.flatMap((series) => series.window(from, to)).sort((a, b) => a.timestamp - b.timestamp);
  }

  /**
   * A stamp of what {@link query} returns for `query`: while it is the same number, so are the datapoints,
   * and a statistic computed from them still holds (alarms re-evaluate every second, and this lets them
   * compute again only the periods that received datapoints since). The stamp is the count in the window:
   * datapoints are only ever added, or dropped oldest first, so a window no drop has reached changes only
   * by growing. `undefined` when a drop (retention, the cap) may have reached the window: compute again.
   */
  windowStamp(query: MetricQuery): number | undefined {
    const from = epochOf(query.startTime, Number.NEGATIVE_INFINITY);
    const to = epochOf(query.endTime, Number.POSITIVE_INFINITY);
    // Past the retention a window loses datapoints to query() before the sweep drops them.
    if (from < this.newest - this.retentionMs) return undefined;
    const all =
      query.dimensions !== undefined
        ? [this.series.get(seriesKey(query.namespace, query.metricName, query.dimensions))]
        : (this.byMetric.get(`${query.namespace}\u0000${query.metricName}`) ?? []);
    let count = 0;
    for (const series of all) {
      if (!series) continue;
      if (series.droppedThrough >= from) return undefined;
      count += series.countIn(from, to);
    }
    return count;
  }

  /** The distinct metrics seen (namespace, name, dimensions), like `ListMetrics`. */
  listMetrics(
    namespace?: string,
  ): { namespace: string; metricName: string; dimensions: Record<string, string> }[] {
    return [...this.series.values()]
      .filter((series) => series.size > 0 && (namespace === undefined || series.namespace === namespace))
      .map((series) => ({
        namespace: series.namespace,
        metricName: series.metricName,
        dimensions: Object.fromEntries(
          Object.entries(series.dimensions).sort(([a], [b]) => a.localeCompare(b)),
        ),
      }));
  }

  /** How many datapoints are held. */
  get size(): number {
    return this.count;
  }
}
