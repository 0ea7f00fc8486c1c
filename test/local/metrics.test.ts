import { describe, expect, it } from 'vitest';
import { EmfFormatError, MetricStore, parseEmf } from '../../local/metrics.ts';

const emf = (timestamp: number, values: Record<string, unknown>, dimensions: string[][] = [['model']]) => ({
  _aws: {
    Timestamp: timestamp,
    CloudWatchMetrics: [
      {
        Namespace: 'Driftline',
        Dimensions: dimensions,
        Metrics: [
          { Name: 'PredictLatency', Unit: 'Milliseconds' },
          { Name: 'PredictRequests', Unit: 'Count' },
        ],
      },
    ],
  },
  ...values,
});

describe('parseEmf', () => {
  it('yields one datapoint per metric, value and dimension set (the EMF specification)', () => {
    // Prepare: two dimension sets and an array of latency values, as Powertools emits them.
    const document = emf(
      1_000,
      { model: 'air', version: '3', PredictLatency: [12, 15], PredictRequests: 2 },
      [['model'], ['model', 'version']],
    );

    // Act
    const datapoints = parseEmf(document, 'predict');

    // Assess
    expect(datapoints).toHaveLength(6);
    expect(
      datapoints.filter((d) => d.metricName === 'PredictLatency').map((d) => [d.value, d.dimensions]),
    ).toEqual([
      [12, { model: 'air' }],
      [15, { model: 'air' }],
      [12, { model: 'air', version: '3' }],
      [15, { model: 'air', version: '3' }],
    ]);
    expect(datapoints[0]).toMatchObject({
      namespace: 'Driftline',
      unit: 'Milliseconds',
      timestamp: 1_000,
      source: 'predict',
    });
  });

  it.each([
    [
      'a missing namespace',
      { _aws: { Timestamp: 0, CloudWatchMetrics: [{ Dimensions: [[]], Metrics: [] }] } },
    ],
    ['a missing value', emf(0, { model: 'air', PredictRequests: 1 })],
    ['a string value', emf(0, { model: 'air', PredictLatency: '12', PredictRequests: 1 })],
    ['a missing dimension value', emf(0, { PredictLatency: 1, PredictRequests: 1 })],
    ['a missing timestamp', { _aws: { CloudWatchMetrics: [] } }],
  ])('refuses %s', (_, document) => {
    expect(() => parseEmf(document)).toThrow(EmfFormatError);
  });
});

describe('MetricStore', () => {
  it('collects EMF log lines and ignores every other line', () => {
    const store = new MetricStore();

    expect(
      store.putLogLine(
        JSON.stringify(emf(5, { model: 'air', PredictLatency: 9, PredictRequests: 1 })),
        'predict',
      ),
    ).toBe(2);
    expect(store.putLogLine('{"level":"INFO","message":"_aws is mentioned but this is no EMF"}')).toBe(0);
    expect(store.putLogLine('plain text')).toBe(0);
    expect(store.size).toBe(2);
  });

  it('queries by metric identity (exact dimensions) and a half-open time window', () => {
    // Prepare
    const store = new MetricStore();
    for (const [t, model, latency] of [
      [100, 'air', 10],
      [200, 'air', 20],
      [300, 'air', 30],
      [200, 'cancer', 99],
    ] as const) {
      store.putLogLine(JSON.stringify(emf(t, { model, PredictLatency: latency, PredictRequests: 1 })));
    }
    store.putLogLine(
      JSON.stringify(
        emf(200, { model: 'air', version: '2', PredictLatency: 77, PredictRequests: 1 }, [
          ['model', 'version'],
        ]),
      ),
    );

    // Act
    const air = store.query({
      namespace: 'Driftline',
      metricName: 'PredictLatency',
      dimensions: { model: 'air' },
    });
    const window = store.query({
      namespace: 'Driftline',
      metricName: 'PredictLatency',
      dimensions: { model: 'air' },
      startTime: 200,
      endTime: new Date(300),
    });
    const everySeries = store.query({ namespace: 'Driftline', metricName: 'PredictLatency' });

    // Assess
    expect(air.map((d) => d.value)).toEqual([10, 20, 30]);
    expect(window.map((d) => d.value)).toEqual([20]);
    expect(everySeries).toHaveLength(5);
    expect(store.listMetrics('Driftline')).toContainEqual({
      namespace: 'Driftline',
      metricName: 'PredictLatency',
      dimensions: { model: 'air', version: '2' },
    });
  });

  it('drops datapoints older than the retention and beyond the cap', () => {
    const store = new MetricStore({ retentionMs: 1_000, maxDatapoints: 3 });
    const point = (timestamp: number, value: number) => ({
      namespace: 'N',
      metricName: 'M',
      dimensions: {},
      unit: 'Count',
      value,
      timestamp,
    });

    store.put(point(0, 1), point(500, 2));
    store.put(point(1_600, 3));
    expect(store.query({ namespace: 'N', metricName: 'M' }).map((d) => d.value)).toEqual([3]);
    store.put(point(1_700, 4), point(1_800, 5), point(1_900, 6));
    expect(store.query({ namespace: 'N', metricName: 'M' }).map((d) => d.value)).toEqual([4, 5, 6]);
    expect(() => new MetricStore({ retentionMs: 0 })).toThrow(RangeError);
  });

  it('keeps each metric in time order whatever the arrival order, and finds windows by time', () => {
    // Prepare: 10,000 datapoints of one metric arriving shuffled, and another metric beside it.
    const store = new MetricStore();
    const point = (timestamp: number, metricName = 'M', dimensions: Record<string, string> = { a: '1' }) => ({
      namespace: 'N',
      metricName,
      dimensions,
      unit: 'Count',
      value: timestamp,
      timestamp,
    });
    const times = Array.from({ length: 10_000 }, (_, i) => i);
    for (let i = times.length - 1; i > 0; i--) {
      const j = (i * 7919) % (i + 1);
      [times[i], times[j]] = [times[j], times[i]];
    }
    for (const t of times) store.put(point(t), point(t, 'Other'));
    store.put(point(5_000, 'M', { a: '1', b: '2' }));

    // Act
    const window = store.query({
      namespace: 'N',
      metricName: 'M',
      dimensions: { a: '1' },
      startTime: 4_998,
      endTime: 5_002,
    });
    const everySet = store.query({ namespace: 'N', metricName: 'M', startTime: 5_000, endTime: 5_001 });

    // Assess
    expect(window.map((d) => d.timestamp)).toEqual([4_998, 4_999, 5_000, 5_001]);
    expect(everySet).toHaveLength(2);
    expect(store.size).toBe(20_001);
  });

  it('stamps a window so that an equal stamp means the same datapoints, and gives none once a drop reaches it', () => {
    // Prepare: two dimension sets of one metric, the cap at 6 datapoints.
    const store = new MetricStore({ retentionMs: 10_000, maxDatapoints: 6 });
    const point = (timestamp: number, dimensions: Record<string, string> = { a: '1' }) => ({
      namespace: 'N',
      metricName: 'M',
      dimensions,
      unit: 'Count',
      value: timestamp,
      timestamp,
    });
    const late = { namespace: 'N', metricName: 'M', dimensions: { a: '1' }, startTime: 200, endTime: 300 };
    const everySet = { namespace: 'N', metricName: 'M', startTime: 200, endTime: 300 };
    store.put(point(100), point(210), point(250), point(220, { a: '2' }));

    // Act + Assess: the stamp is the window's count, whatever arrives outside it.
    expect(store.windowStamp(late)).toBe(2);
    expect(store.windowStamp(everySet)).toBe(3);
    store.put(point(400));
    expect(store.windowStamp(late)).toBe(2);
    // A datapoint arriving late, inside the window, changes it.
    store.put(point(205));
    expect(store.windowStamp(late)).toBe(3);
    // The cap drops the oldest (100: before the window, which keeps its stamp), then reaches into it.
    store.put(point(410));
    expect(store.query({ namespace: 'N', metricName: 'M', dimensions: { a: '1' } })).toHaveLength(5);
    expect(store.windowStamp(late)).toBe(3);
    store.put(point(420));
    expect(store.windowStamp(late)).toBeUndefined();
    expect(store.windowStamp(everySet)).toBeUndefined();
    expect(store.windowStamp({ ...late, startTime: 300, endTime: 500 })).toBe(3);
    // A window past the retention loses datapoints to query() before any sweep: no stamp either.
    store.put(point(10_350));
    expect(store.windowStamp({ ...late, startTime: 300, endTime: 500 })).toBeUndefined();
  });
});
