import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AlarmDefinition,
  AlarmDefinitionError,
  AlarmEvaluator,
  type AlarmEvaluatorOptions,
  AlarmNotFoundError,
  type AlarmRule,
  type AlarmStateValue,
  AlarmWaitTimeoutError,
  computeStatistic,
  decideAlarmState,
  evaluateMetricMath,
  percentile,
  type TreatMissingData,
} from '../../local/alarms.ts';
import {
  compilePattern,
  type EventBridgeEvent,
  EventBus,
  type PutEventInput,
} from '../../local/eventbridge.ts';
import { MetricStore } from '../../local/metrics.ts';
import { type LocalStack, readLocalStack } from '../../local/template.ts';
import { synthDriftline } from '../infra/support.ts';
import {
  ALARM_FIXTURE_STACK,
  alarmFixtureSources,
  buildAlarmFixtureApp,
  LATENCY_ALARM,
} from './fixtures/alarm-stack.ts';
import { type FixtureRuntime, startFixtureRuntime } from './support.ts';

const MINUTE = 60_000;
/** A period boundary: 2024-01-15 12:00:00 UTC. */
const T0 = Date.UTC(2024, 0, 15, 12, 0, 0);
const ACCOUNT = '000000000000';
const TOPIC = 'arn:aws:sns:us-east-1:000000000000:Fixture-Alerts';
const NAME = 'Fixture/rollback/air/latency-p99';
const ARN = `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:${NAME}`;
const silent = { line: () => {} };

/** The p99-latency alarm of one model, 1 of 1 datapoints, missing data not breaching. */
function latencyAlarm(overrides: Partial<AlarmDefinition> = {}): AlarmDefinition {
  return {
    logicalId: 'Latency',
    name: NAME,
    arn: ARN,
    description: 'p99 latency of air above 1000 ms: roll back.',
    namespace: 'Driftline',
    metricName: 'PredictLatency',
    dimensions: { model: 'air' },
    extendedStatistic: 'p99',
    periodSeconds: 60,
    evaluationPeriods: 1,
    threshold: 1000,
    comparisonOperator: 'GreaterThanThreshold',
    treatMissingData: 'notBreaching',
    actionsEnabled: true,
    alarmActions: [TOPIC],
    okActions: [TOPIC],
    insufficientDataActions: [],
    ...overrides,
  };
}

/** The 5xx-rate alarm as `infra/monitoring.ts` defines it: `FILL(errors, 0) / requests`. */
function errorRateAlarm(overrides: Partial<AlarmDefinition> = {}): AlarmDefinition {
  const metric = (id: string, metricName: string) => ({
    Id: id,
    MetricStat: {
      Metric: {
        Namespace: 'Driftline',
        MetricName: metricName,
        Dimensions: [
          { Name: 'model', Value: 'air' },
          { Name: 'role', Value: 'production' },
        ],
      },
      Period: 60,
      Stat: 'Sum',
    },
    ReturnData: false,
  });
  return latencyAlarm({
    name: 'Fixture/rollback/air/5xx-rate',
    arn: `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:Fixture/rollback/air/5xx-rate`,
    description: 'Share of air predict calls answered with a 5xx above 0.05: roll back.',
    namespace: undefined,
    metricName: undefined,
    dimensions: {},
    extendedStatistic: undefined,
    periodSeconds: undefined,
    threshold: 0.05,
    metrics: [
      { Expression: 'FILL(errors, 0) / requests', Id: 'expr_1', Label: '5xx rate', ReturnData: true },
      metric('errors', 'Predict5xx'),
      metric('requests', 'PredictRequests'),
    ],
    ...overrides,
  });
}

/** An evaluator on a fake clock, with a bus and SNS that record what they get. */
function harness(alarms: AlarmDefinition[], options: Partial<AlarmEvaluatorOptions> = {}) {
  const metrics = new MetricStore();
  const clock = { now: T0 + 30_000 };
  const events: PutEventInput[] = [];
  const published: { topicArn: string; subject: string; message: string }[] = [];
  const lines: string[] = [];
  const evaluator = new AlarmEvaluator({
    alarms,
    metrics,
    account: ACCOUNT,
    region: 'us-east-1',
    async putEvent(input) {
      events.push(input);
      return { event: input as unknown as EventBridgeEvent, deliveries: [] };
    },
    publish(request) {
      published.push(request);
      return `message-${published.length}`;
    },
    log: { line: (source, text) => lines.push(`[${source}] ${text}`) },
    now: () => clock.now,
    ...options,
  });
  const put = (
    value: number,
    timestamp = clock.now,
    metricName = 'PredictLatency',
    dimensions: Record<string, string> = { model: 'air' },
  ) => metrics.put({ namespace: 'Driftline', metricName, dimensions, unit: 'None', value, timestamp });
  return { metrics, clock, events, published, lines, evaluator, put };
}

/** Puts one `PredictLatency` datapoint of model `air` into `metrics`. */
const latencyPutter = (metrics: MetricStore) => (value: number, timestamp: number) =>
  metrics.put({
    namespace: 'Driftline',
    metricName: 'PredictLatency',
    dimensions: { model: 'air' },
    unit: 'Milliseconds',
    value,
    timestamp,
  });

const stateOf = (evaluator: AlarmEvaluator, name = NAME) =>
  evaluator.list().find((alarm) => alarm.name === name)!.state;

describe('computeStatistic', () => {
  // Reference: /usr/bin/python3 -c "import numpy as np; x=[12,250,31,1480,77,95,640,18,1020,44];
  //   print(np.sum(x), np.mean(x), np.min(x), np.max(x), len(x))"  →  3667 366.7 12 1480 10
  const values = [12, 250, 31, 1480, 77, 95, 640, 18, 1020, 44];

  it.each([
    ['Sum', 3667],
    ['Average', 366.7],
    ['Minimum', 12],
    ['Maximum', 1480],
    ['SampleCount', 10],
  ])('computes %s of a period’s raw values', (stat, expected) => {
    expect(computeStatistic(stat, values)).toBeCloseTo(expected, 12);
  });

  // Reference (nearest rank = NumPy's inverted_cdf): /usr/bin/python3 -c "import numpy as np;
  //   y=[(i*7919)%1000 for i in range(1,201)];
  //   [print(p, np.percentile(y,p,method='inverted_cdf')) for p in (0,10,50,90,95,99,99.5,99.9,100)]"
  //   → 0 3 · 10 93 · 50 498 · 90 897 · 95 947 · 99 981 · 99.5 984 · 99.9 987 · 100 987
  const sample = Array.from({ length: 200 }, (_, i) => ((i + 1) * 7919) % 1000);
  it.each([
    ['p0', 3],
    ['p10', 93],
    ['p50', 498],
    ['p90', 897],
    ['p95', 947],
    ['p99', 981],
    ['p99.5', 984],
    ['p99.9', 987],
    ['p100', 987],
  ])('computes the percentile %s as the nearest rank, a value that was published', (stat, expected) => {
    expect(computeStatistic(stat, sample)).toBe(expected);
  });

  it('ranks exactly where p·n/100 is an integer that floating point misses (99.9 % of 1000 values)', () => {
    // 99.9 · 1000 / 100 = 999.0000000000001 in doubles; the 999th value is the answer, not the 1000th.
    const thousand = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(thousand, 99.9)).toBe(999);
  });

  it('refuses a period without values and statistics it does not compute', () => {
    expect(() => computeStatistic('Average', [])).toThrow(RangeError);
    expect(() => computeStatistic('tm99', [1])).toThrow(AlarmDefinitionError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});

describe('evaluateMetricMath', () => {
  it('fills a missing error count with 0 before dividing, and drops divisions by zero and missing requests', () => {
    // Act: FILL(errors, 0) / requests, the 5xx-rate alarm of infra/monitoring.ts
    const rate = evaluateMetricMath('FILL(errors, 0) / requests', {
      errors: [undefined, 5, 1, undefined],
      requests: [100, 50, 0, undefined],
    });
    // Assess
    expect(rate).toEqual([0, 0.1, undefined, undefined]);
  });

  it('counts a period’s live quality only from the fifth label: IF(labels >= 5, ratio, 0)', () => {
    const quality = evaluateMetricMath('IF(labels >= 5, ratio, 0)', {
      labels: [undefined, 4, 5, 9],
      ratio: [undefined, 3, 2.5, 1.2],
    });
    expect(quality).toEqual([undefined, 0, 2.5, 1.2]);
  });

  it('gives 1 or 0 for comparisons and logical operators, missing when an operand is missing', () => {
    const inputs = { a: [1, 2, 3, undefined], b: [2, 2, 2, 2] };
    expect(evaluateMetricMath('a > b', inputs)).toEqual([0, 0, 1, undefined]);
    expect(evaluateMetricMath('a >= b', inputs)).toEqual([0, 1, 1, undefined]);
    expect(evaluateMetricMath('a < b', inputs)).toEqual([1, 0, 0, undefined]);
    expect(evaluateMetricMath('a <= b', inputs)).toEqual([1, 1, 0, undefined]);
    expect(evaluateMetricMath('a == b', inputs)).toEqual([0, 1, 0, undefined]);
    expect(evaluateMetricMath('a != b', inputs)).toEqual([1, 0, 1, undefined]);
    expect(evaluateMetricMath('a > 1 AND b == 2', inputs)).toEqual([0, 1, 1, undefined]);
    expect(evaluateMetricMath('a > 2 || a < 2', inputs)).toEqual([1, 0, 1, undefined]);
  });

  it('follows arithmetic precedence: unary minus, ^ before * and /, before + and -', () => {
    const inputs = { a: [2, 4] };
    expect(evaluateMetricMath('1 + 2 * 3 ^ 2', inputs)).toEqual([19, 19]);
    expect(evaluateMetricMath('-a + 8 / a - (a - 1) * 2', inputs)).toEqual([0, -8]);
    expect(evaluateMetricMath('2 ^ -1', inputs)).toEqual([0.5, 0.5]);
  });

  it('repeats the last value over gaps with FILL(s, REPEAT), and drops a false IF without a false branch', () => {
    expect(
      evaluateMetricMath('FILL(s, REPEAT)', { s: [undefined, 3, undefined, undefined, 5, undefined] }),
    ).toEqual([undefined, 3, 3, 3, 5, 5]);
    expect(evaluateMetricMath('IF(s > 1, s)', { s: [1, 2, undefined] })).toEqual([undefined, 2, undefined]);
    expect(evaluateMetricMath('ABS(s)', { s: [-1.5, undefined] })).toEqual([1.5, undefined]);
  });

  it('aggregates a list period by period over the series present, and one series over all its periods', () => {
    const inputs = { a: [1, undefined, 5, undefined], b: [3, 2, undefined, undefined] };
    expect(evaluateMetricMath('MAX([a, b])', inputs)).toEqual([3, 2, 5, undefined]);
    expect(evaluateMetricMath('MIN([a, b])', inputs)).toEqual([1, 2, 5, undefined]);
    expect(evaluateMetricMath('SUM(METRICS())', inputs)).toEqual([4, 2, 5, undefined]);
    expect(evaluateMetricMath('AVG([a, b])', inputs)).toEqual([2, 2, 5, undefined]);
    expect(evaluateMetricMath('a / MAX(a)', inputs)).toEqual([0.2, undefined, 1, undefined]);
  });

  it('refuses unknown ids, unsupported functions and syntax errors by name', () => {
    expect(() => evaluateMetricMath('a + c', { a: [1] })).toThrow(/unknown id "c"/);
    expect(() => evaluateMetricMath('ANOMALY_DETECTION_BAND(a, 2)', { a: [1] })).toThrow(
      AlarmDefinitionError,
    );
    expect(() => evaluateMetricMath('FILL(a, LINEAR)', { a: [1] })).toThrow(/LINEAR/);
    expect(() => evaluateMetricMath('a +', { a: [1] })).toThrow(/unexpected end/);
    expect(() => evaluateMetricMath('(a', { a: [1] })).toThrow(/expected "\)"/);
    expect(() => evaluateMetricMath('a $ 2', { a: [1] })).toThrow(/unexpected "\$"/);
  });
});

describe('decideAlarmState', () => {
  /** A range from the documentation's notation (oldest first): 0 not breaching, X breaching, - missing. */
  const range = (pattern: string) =>
    pattern.split(' ').map((cell, i) => ({
      timestamp: T0 + i * MINUTE,
      ...(cell === '-' ? {} : { value: cell === 'X' ? 2 : 0 }),
    }));
  const rule = (datapointsToAlarm: number, treatMissingData: TreatMissingData): AlarmRule => ({
    threshold: 1,
    comparisonOperator: 'GreaterThanThreshold',
    evaluationPeriods: 3,
    datapointsToAlarm,
    treatMissingData,
  });
  const TREATMENTS: TreatMissingData[] = ['missing', 'ignore', 'breaching', 'notBreaching'];
  type Expected = AlarmStateValue | 'retain';

  // Both tables of "How alarm state is evaluated when data is missing" (CloudWatch user guide,
  // doc_source/AlarmThatSendsEmail.md): columns MISSING, IGNORE, BREACHING, NOT BREACHING.
  const threeOfThree: [string, Expected, Expected, Expected, Expected][] = [
    ['0 - X - X', 'OK', 'OK', 'OK', 'OK'],
    ['0 - - - -', 'OK', 'OK', 'OK', 'OK'],
    ['- - - - -', 'INSUFFICIENT_DATA', 'retain', 'ALARM', 'OK'],
    ['0 X X - X', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
    ['- - - - X', 'INSUFFICIENT_DATA', 'retain', 'ALARM', 'OK'],
    ['X - - - -', 'ALARM', 'retain', 'ALARM', 'OK'],
  ];
  const twoOfThree: [string, Expected, Expected, Expected, Expected][] = [
    ['0 - X - X', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
    ['0 0 X 0 X', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
    ['0 - X - -', 'OK', 'OK', 'ALARM', 'OK'],
    ['- - - - 0', 'OK', 'OK', 'ALARM', 'OK'],
    ['- - - - X', 'INSUFFICIENT_DATA', 'retain', 'ALARM', 'OK'],
  ];

  it.each(threeOfThree)(
    '3 of 3, datapoints %s: as AWS documents for each treatment of missing data',
    (pattern, ...expected) => {
      const states = TREATMENTS.map(
        (treat) => decideAlarmState(range(pattern), rule(3, treat)).state ?? 'retain',
      );
      expect(states).toEqual(expected);
    },
  );

  it.each(twoOfThree)(
    '2 of 3, datapoints %s: as AWS documents for each treatment of missing data',
    (pattern, ...expected) => {
      const states = TREATMENTS.map(
        (treat) => decideAlarmState(range(pattern), rule(2, treat)).state ?? 'retain',
      );
      expect(states).toEqual(expected);
    },
  );

  it('alarms on M out of the last N datapoints, consecutive or not, and not on fewer', () => {
    const threeOfFive: AlarmRule = { ...rule(3, 'missing'), evaluationPeriods: 5 };
    expect(decideAlarmState(range('0 0 X 0 X 0 X'), threeOfFive).state).toBe('ALARM');
    expect(decideAlarmState(range('X X 0 0 X 0 X'), threeOfFive).state).toBe('OK');
  });

  it.each([
    ['GreaterThanThreshold', 10, 'OK', 11, 'ALARM'],
    ['GreaterThanOrEqualToThreshold', 9, 'OK', 10, 'ALARM'],
    ['LessThanThreshold', 10, 'OK', 9, 'ALARM'],
    ['LessThanOrEqualToThreshold', 11, 'OK', 10, 'ALARM'],
  ] as const)(
    'compares with %s against a threshold of 10',
    (comparisonOperator, calm, calmState, high, highState) => {
      const oneOfOne: AlarmRule = {
        ...rule(1, 'missing'),
        evaluationPeriods: 1,
        threshold: 10,
        comparisonOperator,
      };
      expect(decideAlarmState([{ timestamp: T0, value: calm }], oneOfOne).state).toBe(calmState);
      expect(decideAlarmState([{ timestamp: T0, value: high }], oneOfOne).state).toBe(highState);
    },
  );

  it('words the reason as CloudWatch does', () => {
    const oneOfOne: AlarmRule = { ...rule(1, 'missing'), evaluationPeriods: 1, threshold: 50 };
    expect(decideAlarmState([{ timestamp: T0 - MINUTE, value: 99.5 }], oneOfOne).reason).toBe(
      'Threshold Crossed: 1 out of the last 1 datapoints [99.5 (15/01/24 11:59:00)] was greater than the threshold (50.0) (minimum 1 datapoint for OK -> ALARM transition).',
    );
    expect(decideAlarmState(range('- - - - -'), rule(3, 'missing')).reason).toBe(
      'Insufficient Data: 5 datapoints were unknown.',
    );
    expect(decideAlarmState(range('- - - - -'), rule(3, 'breaching')).reason).toBe(
      'Threshold Crossed: no datapoints were received for 5 periods and 5 missing datapoints were treated as [Breaching].',
    );
  });
});

describe('AlarmEvaluator', () => {
  it('buckets datapoints into epoch-aligned periods [k·period, (k+1)·period)', async () => {
    // Prepare: a Sum alarm over 2 periods; T0 is a period boundary, the clock is 5 s into the period.
    const { evaluator, put, clock } = harness([
      latencyAlarm({
        extendedStatistic: undefined,
        statistic: 'Sum',
        evaluationPeriods: 2,
        treatMissingData: 'missing',
      }),
    ]);
    clock.now = T0 + 5_000;
    put(100, T0 - 2 * MINUTE);
    put(1, T0 - 1);
    put(2, T0);
    put(4, T0 + 4_999);

    // Act
    const [transition] = await evaluator.evaluateNow();

    // Assess: the two most recent periods, the datapoint 1 ms before T0 in the earlier one.
    const reasonData = JSON.parse(transition.state.reasonData!);
    expect(reasonData.recentDatapoints).toEqual([1, 6]);
    expect(reasonData.evaluatedDatapoints).toEqual([
      { timestamp: '2024-01-15T12:00:00.000+0000', value: 6 },
      { timestamp: '2024-01-15T11:59:00.000+0000', value: 1 },
    ]);
    expect(transition).toMatchObject({ from: 'INSUFFICIENT_DATA', to: 'OK' });
  });

  it('scales every period by the period scale: 0.01 makes a 60-second period 600 ms', async () => {
    // Prepare
    const { evaluator, put, clock } = harness(
      [
        latencyAlarm({
          extendedStatistic: undefined,
          statistic: 'Sum',
          evaluationPeriods: 2,
          treatMissingData: 'missing',
        }),
      ],
      { periodScale: 0.01 },
    );
    clock.now = T0 + 700;
    put(1, T0 + 599);
    put(2, T0 + 600);

    // Act
    const [transition] = await evaluator.evaluateNow();

    // Assess
    expect(evaluator.list()[0].periodMs).toBe(600);
    expect(JSON.parse(transition.state.reasonData!).recentDatapoints).toEqual([1, 2]);
  });

  it('lets a breaching datapoint age out of the evaluation range in scaled time (N + 2 periods)', async () => {
    // Prepare: 1 of 1, missing data not breaching; scaled periods of 600 ms.
    const { evaluator, put, clock } = harness([latencyAlarm()], { periodScale: 0.01 });
    clock.now = T0 + 650;
    put(1500);
    await evaluator.evaluateNow();

    // Act: the last instant the range (3 periods) still holds the datapoint's period, then the next.
    clock.now = T0 + 2_399;
    const stillAlarm = await evaluator.evaluateNow();
    clock.now = T0 + 2_400;
    const recovered = await evaluator.evaluateNow();

    // Assess
    expect(evaluator.history(NAME).map((t) => t.to)).toEqual(['ALARM', 'OK']);
    expect(stillAlarm).toEqual([]);
    expect(recovered[0].state.reason).toBe(
      'Threshold Crossed: no datapoints were received for 3 periods and 3 missing datapoints were treated as [NonBreaching].',
    );
  });

  it('evaluates a percentile over the raw values of the period: 2 slow calls of 100 breach p99, 1 does not', async () => {
    const { evaluator, put, clock } = harness([latencyAlarm()]);
    for (let i = 0; i < 99; i += 1) put(100, T0 + i);
    put(2000, T0 + 100);
    await evaluator.evaluateNow();
    expect(stateOf(evaluator).value).toBe('OK');

    // Act: the next period, with 98 fast and 2 slow calls: the 99th value of 100 is a slow one.
    clock.now += MINUTE;
    for (let i = 0; i < 98; i += 1) put(100, T0 + MINUTE + i);
    put(2000, T0 + MINUTE + 98);
    put(2500, T0 + MINUTE + 99);
    await evaluator.evaluateNow();

    // Assess
    expect(stateOf(evaluator)).toMatchObject({
      value: 'ALARM',
      reason: expect.stringContaining('[2000.0 (15/01/24 12:01:00)] was greater than the threshold (1000.0)'),
    });
  });

  it('evaluates a metric-math alarm on its ReturnData expression: no 5xx is a rate of 0, 10 of 100 is 0.1', async () => {
    const { evaluator, put, clock } = harness([errorRateAlarm()]);
    const dimensions = { model: 'air', role: 'production' };
    put(100, clock.now, 'PredictRequests', dimensions);
    await evaluator.evaluateNow();
    expect(stateOf(evaluator, 'Fixture/rollback/air/5xx-rate').value).toBe('OK');

    clock.now += MINUTE;
    put(100, clock.now, 'PredictRequests', dimensions);
    put(10, clock.now, 'Predict5xx', dimensions);
    // A datapoint with another dimension set is another metric: it must not count.
    put(1000, clock.now, 'PredictRequests', { model: 'air' });
    await evaluator.evaluateNow();

    expect(stateOf(evaluator, 'Fixture/rollback/air/5xx-rate')).toMatchObject({
      value: 'ALARM',
      reason: expect.stringContaining('[0.1 (15/01/24 12:01:00)]'),
    });
  });

  it('puts a state-change event shaped as AWS documents it for a single-metric alarm', async () => {
    // Prepare
    const { evaluator, put, events, clock } = harness([latencyAlarm()]);
    await evaluator.evaluateNow();
    put(1500, T0);

    // Act
    await evaluator.evaluateNow();

    // Assess: the documented example's fields and reason (CloudWatch user guide, "Alarm events and EventBridge").
    expect(events[1]).toEqual({
      source: 'aws.cloudwatch',
      'detail-type': 'CloudWatch Alarm State Change',
      resources: [ARN],
      time: new Date(clock.now),
      detail: {
        alarmName: NAME,
        state: {
          value: 'ALARM',
          reason:
            'Threshold Crossed: 1 out of the last 1 datapoints [1500.0 (15/01/24 12:00:00)] was greater than the threshold (1000.0) (minimum 1 datapoint for OK -> ALARM transition).',
          reasonData: expect.any(String),
          timestamp: '2024-01-15T12:00:30.000+0000',
        },
        previousState: {
          value: 'OK',
          reason: expect.stringMatching(/^Threshold Crossed: no datapoints were received/),
          reasonData: expect.any(String),
          timestamp: '2024-01-15T12:00:30.000+0000',
        },
        configuration: {
          description: 'p99 latency of air above 1000 ms: roll back.',
          metrics: [
            {
              id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
              metricStat: {
                metric: { namespace: 'Driftline', name: 'PredictLatency', dimensions: { model: 'air' } },
                period: 60,
                stat: 'p99',
              },
              returnData: true,
            },
          ],
        },
      },
    });
    const detail = events[1].detail as { state: { reasonData: string } };
    expect(JSON.parse(detail.state.reasonData)).toEqual({
      version: '1.0',
      queryDate: '2024-01-15T12:00:30.000+0000',
      startDate: '2024-01-15T12:00:00.000+0000',
      statistic: 'p99',
      period: 60,
      recentDatapoints: [1500],
      threshold: 1000,
      evaluatedDatapoints: [{ timestamp: '2024-01-15T12:00:00.000+0000', value: 1500 }],
    });
  });

  it('describes a metric-math alarm’s queries in the event as AWS documents them', async () => {
    const { evaluator, events } = harness([errorRateAlarm()]);
    await evaluator.evaluateNow();
    const dimensions = { model: 'air', role: 'production' };
    const metricStat = (name: string) => ({
      metric: { namespace: 'Driftline', name, dimensions },
      period: 60,
      stat: 'Sum',
    });
    expect((events[0].detail as { configuration: unknown }).configuration).toEqual({
      description: 'Share of air predict calls answered with a 5xx above 0.05: roll back.',
      metrics: [
        { id: 'expr_1', expression: 'FILL(errors, 0) / requests', label: '5xx rate', returnData: true },
        { id: 'errors', metricStat: metricStat('Predict5xx'), returnData: false },
        { id: 'requests', metricStat: metricStat('PredictRequests'), returnData: false },
      ],
    });
  });

  it('notifies the actions of the new state with CloudWatch’s JSON notification, unless actions are disabled', async () => {
    // Prepare: missing data treated as missing, so the alarm also reaches INSUFFICIENT_DATA.
    const insufficient = 'arn:aws:sns:us-east-1:000000000000:Fixture-Missing';
    const { evaluator, put, published, clock, lines } = harness([
      latencyAlarm({
        treatMissingData: 'missing',
        insufficientDataActions: [insufficient, 'arn:aws:automate:us-east-1:ec2:stop'],
      }),
    ]);

    // Act: ALARM, then OK, then no data at all.
    put(1500);
    await evaluator.evaluateNow();
    clock.now += MINUTE;
    put(10);
    await evaluator.evaluateNow();
    clock.now += 3 * MINUTE;
    await evaluator.evaluateNow();

    // Assess
    expect(published.map((p) => [p.topicArn, p.subject])).toEqual([
      [TOPIC, 'ALARM: "Fixture/rollback/air/latency-p99" in US East (N. Virginia)'],
      [TOPIC, 'OK: "Fixture/rollback/air/latency-p99" in US East (N. Virginia)'],
      [insufficient, 'INSUFFICIENT_DATA: "Fixture/rollback/air/latency-p99" in US East (N. Virginia)'],
    ]);
    expect(JSON.parse(published[0].message)).toEqual({
      AlarmName: NAME,
      AlarmDescription: 'p99 latency of air above 1000 ms: roll back.',
      AWSAccountId: ACCOUNT,
      AlarmConfigurationUpdatedTimestamp: '2024-01-15T12:00:30.000+0000',
      NewStateValue: 'ALARM',
      NewStateReason: expect.stringMatching(/^Threshold Crossed: 1 out of the last 1 datapoints \[1500\.0/),
      StateChangeTime: '2024-01-15T12:00:30.000+0000',
      Region: 'US East (N. Virginia)',
      AlarmArn: ARN,
      OldStateValue: 'INSUFFICIENT_DATA',
      OKActions: [TOPIC],
      AlarmActions: [TOPIC],
      InsufficientDataActions: [insufficient, 'arn:aws:automate:us-east-1:ec2:stop'],
      Trigger: {
        MetricName: 'PredictLatency',
        Namespace: 'Driftline',
        StatisticType: 'ExtendedStatistic',
        Statistic: 'p99',
        Unit: null,
        Dimensions: [{ value: 'air', name: 'model' }],
        Period: 60,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 1000,
        TreatMissingData: 'missing',
        EvaluateLowSampleCountPercentile: '',
      },
    });
    expect(lines).toContain(
      `[alarm] ${NAME}: action arn:aws:automate:us-east-1:ec2:stop is not run locally (SNS actions are)`,
    );

    // Act: the same with actions disabled — the event still goes to the bus, no one is notified.
    const disabled = harness([latencyAlarm({ actionsEnabled: false })]);
    disabled.put(1500);
    await disabled.evaluator.evaluateNow();
    expect(disabled.published).toEqual([]);
    expect(disabled.events).toHaveLength(1);
  });

  it('sends nothing while the state holds, however often it evaluates', async () => {
    const { evaluator, put, events, published, lines } = harness([latencyAlarm()]);
    await evaluator.evaluateNow();
    await evaluator.evaluateNow();
    put(1500);
    await evaluator.evaluateNow();
    await evaluator.evaluateNow();
    await evaluator.evaluateNow();

    expect(events.map((e) => (e.detail as { state: { value: string } }).state.value)).toEqual([
      'OK',
      'ALARM',
    ]);
    expect(published).toHaveLength(2);
    expect(lines).toEqual([
      expect.stringMatching(/^\[alarm\] Fixture\/rollback\/air\/latency-p99 INSUFFICIENT_DATA → OK: /),
      expect.stringMatching(/^\[alarm\] Fixture\/rollback\/air\/latency-p99 OK → ALARM: Threshold Crossed/),
    ]);
  });

  it('keeps the state when every datapoint is missing and missing data is ignored', async () => {
    const { evaluator, put, events, clock } = harness([latencyAlarm({ treatMissingData: 'ignore' })]);
    put(1500);
    await evaluator.evaluateNow();
    clock.now += 10 * MINUTE;
    await evaluator.evaluateNow();
    expect(stateOf(evaluator).value).toBe('ALARM');
    expect(events).toHaveLength(1);
  });

  it('evaluates as soon as datapoints of an alarm’s metric arrive, without waiting for the timer', async () => {
    // Prepare: the real clock, an hourly timer.
    const { evaluator, metrics } = harness([latencyAlarm()], {
      now: undefined,
      evaluationIntervalMs: 3_600_000,
    });
    evaluator.start();
    await evaluator.waitForState(NAME, 'OK', 1_000);

    // Act
    const arrived = Date.now();
    metrics.put({
      namespace: 'Driftline',
      metricName: 'PredictLatency',
      dimensions: { model: 'air' },
      unit: 'Milliseconds',
      value: 1500,
      timestamp: arrived,
    });
    // Assess: in ALARM long before the hourly timer (the deadline is generous for a busy machine).
    await evaluator.waitForState(NAME, 'ALARM', 30_000);
    await evaluator.stop();
    const alarm = evaluator.history(NAME).at(-1)!;
    expect(alarm.deliveredAt).toBeGreaterThanOrEqual(arrived);
  });

  it('keeps what it cannot evaluate in INSUFFICIENT_DATA with the reason, and names unknown alarms', async () => {
    const band = latencyAlarm({
      name: 'Fixture/band',
      arn: `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:Fixture/band`,
      comparisonOperator: 'LessThanLowerOrGreaterThanUpperThreshold',
      threshold: undefined,
    });
    const { evaluator, lines } = harness([band]);
    evaluator.start();
    const transitions = await evaluator.evaluateNow();
    await evaluator.stop();

    expect(transitions).toEqual([]);
    expect(evaluator.list()).toEqual([
      expect.objectContaining({
        name: 'Fixture/band',
        state: expect.objectContaining({ value: 'INSUFFICIENT_DATA' }),
        unsupported: expect.stringMatching(/anomaly-detection bands are not/),
      }),
    ]);
    expect(lines[0]).toMatch(/^\[alarm\] note: Fixture\/band is not evaluated locally/);
    expect(() => evaluator.history('nope')).toThrow(AlarmNotFoundError);
    await expect(evaluator.waitForState('Fixture/band', 'OK', 20)).rejects.toThrow(AlarmWaitTimeoutError);
  });

  it('computes again only the periods whose datapoints changed, so evaluating does not grow with history', async () => {
    // Prepare: the p99 alarm over 5 periods (a range of 7) on a store that counts what it hands out,
    // 1,000 datapoints in each of the 7 periods, the clock in the last one.
    class CountingStore extends MetricStore {
      handedOut = 0;
      override query(query: Parameters<MetricStore['query']>[0]) {
        const datapoints = super.query(query);
        this.handedOut += datapoints.length;
        return datapoints;
      }
    }
    const metrics = new CountingStore();
    const { evaluator, clock } = harness([latencyAlarm({ evaluationPeriods: 5, datapointsToAlarm: 1 })], {
      metrics,
    });
    const putLatency = latencyPutter(metrics);
    clock.now = T0 + 30_000;
    for (let period = -6; period <= 0; period++)
      for (let i = 0; i < 1000; i++) putLatency(10 + (i % 7), T0 + period * MINUTE + i * 50);
    await evaluator.evaluateNow();
    expect(metrics.handedOut).toBe(7000);

    // Act: one more datapoint in the current period, then one arriving late in an earlier period.
    metrics.handedOut = 0;
    putLatency(12, T0 + 55_000);
    await evaluator.evaluateNow();
    const afterCurrent = metrics.handedOut;
    metrics.handedOut = 0;
    putLatency(5000, T0 - 3 * MINUTE + 1);
    const [late] = await evaluator.evaluateNow();

    // Assess: the second evaluation read the current period alone; the late datapoint's period was read
    // again, and its p99 (5,000 ms among 1,001 values: the 991st smallest is still 16) left the alarm OK;
    // the evaluated datapoints equal those computed from scratch by a fresh evaluator.
    expect(afterCurrent).toBe(1001);
    expect(metrics.handedOut).toBe(1001);
    expect(late).toBeUndefined();
    const fresh = harness([latencyAlarm({ evaluationPeriods: 5, datapointsToAlarm: 1 })], { metrics });
    fresh.clock.now = clock.now;
    const [settled] = await fresh.evaluator.evaluateNow();
    expect(JSON.parse(settled.state.reasonData!).recentDatapoints).toEqual(
      JSON.parse(evaluator.list()[0].state.reasonData!).recentDatapoints,
    );
  });

  it('reads a period again when late datapoints or the cap change it, and decides on its new statistic', async () => {
    // Prepare: the p99 alarm, 1 of 3; 100 datapoints of 10 ms in each of the last 3 periods; OK. The
    // store holds at most 302 datapoints.
    const metrics = new MetricStore({ maxDatapoints: 302 });
    const { evaluator, clock } = harness(
      [latencyAlarm({ evaluationPeriods: 3, datapointsToAlarm: 1, treatMissingData: 'missing' })],
      { metrics },
    );
    const putLatency = latencyPutter(metrics);
    clock.now = T0 + 30_000;
    for (let period = -2; period <= 0; period++)
      for (let i = 0; i < 100; i++) putLatency(10, T0 + period * MINUTE + i * 100);
    expect((await evaluator.evaluateNow())[0]).toMatchObject({ to: 'OK' });

    // Act 1: two slow requests arrive late in the oldest period: its p99, the 101st smallest of its 102
    // values, is 2,000.
    putLatency(2000, T0 - 2 * MINUTE + 50);
    putLatency(2000, T0 - 2 * MINUTE + 60);
    const [breached] = await evaluator.evaluateNow();

    // Act 2: the cap drops the oldest datapoints as the current period gets 3 more, the two slow ones
    // among them: that period's p99 falls back to 10.
    for (let i = 0; i < 3; i++) putLatency(10, T0 + 20_000 + i);
    const [recovered] = await evaluator.evaluateNow();

    // Assess
    expect(breached).toMatchObject({ from: 'OK', to: 'ALARM' });
    expect(recovered).toMatchObject({ from: 'ALARM', to: 'OK' });
    expect(JSON.parse(recovered.state.reasonData!).recentDatapoints).toEqual([10, 10, 10]);
  });
});

describe('with the driftline stack', () => {
  let stack: LocalStack;

  beforeAll(() => {
    // The synthesized template of infra/ (fixture specs), read as the runtime reads it; the state machine's
    // definition asset is not needed for alarms.
    const template = synthDriftline().template.toJSON() as Parameters<typeof readLocalStack>[0]['template'];
    const assetKeys = Object.values(template.Resources).flatMap((resource) => {
      const location = resource.Properties?.DefinitionS3Location as { Key?: string } | undefined;
      return location?.Key ? [location.Key] : [];
    });
    const pass = '{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}';
    stack = readLocalStack(
      {
        stackName: 'Driftline',
        artifactId: 'Driftline',
        template,
        outdir: tmpdir(),
        fileAssets: Object.fromEntries(assetKeys.map((key) => [key, pass])),
      },
      { region: 'us-east-1', apiUrl: 'http://127.0.0.1:1/' },
    );
  });

  function busOf(delivered: { rule: string; target: string; event: EventBridgeEvent }[]) {
    return new EventBus({
      account: ACCOUNT,
      region: 'us-east-1',
      rules: stack.rules,
      log: silent,
      async deliver(target, input, rule) {
        delivered.push({ rule: rule.name, target: target.arn, event: JSON.parse(input) });
        return 'captured';
      },
    });
  }

  it('evaluates every alarm of the stack; with no data at all they go OK (missing data not breaching), in one line', async () => {
    const { evaluator, lines, events } = harness(stack.alarms as AlarmDefinition[]);
    await evaluator.evaluateNow();
    const alarms = evaluator.list();
    expect(alarms.filter((a) => a.unsupported)).toEqual([]);
    expect(new Set(alarms.map((a) => a.state.value))).toEqual(new Set(['OK']));
    // Every alarm sends its event; the console gets one line for them all.
    expect(events).toHaveLength(stack.alarms.length);
    expect(lines).toEqual([
      `[alarm] ${stack.alarms.length} alarms INSUFFICIENT_DATA → OK on their first evaluation (each reason in runtime.alarms.list())`,
    ]);
  });

  it('routes a rollback alarm’s ALARM, not its OK, through the real rule to the rollback function', async () => {
    // Prepare: the canary's 5xx-rate alarm of air-passengers, on the stack's own bus rules.
    const alarm = stack.alarms.find((a) => a.name === 'Driftline/rollback/air-passengers/canary/5xx-rate')!;
    const rule = stack.rules.find((r) => r.logicalId?.startsWith('MonitoringRollbackOnAlarm'))!;
    const rollbackArn = stack.functions.find((f) => f.shortName === 'rollback')!.arn;
    const delivered: { rule: string; target: string; event: EventBridgeEvent }[] = [];
    const bus = busOf(delivered);
    const { evaluator, put, clock } = harness([alarm], { putEvent: (input) => bus.put(input) });
    await evaluator.evaluateNow();
    const dimensions = { model: 'air-passengers', role: 'canary', service: 'driftline' };

    // Act: 20 % of calls fail in as many periods as the alarm needs.
    for (let i = 0; i < alarm.datapointsToAlarm!; i += 1) {
      clock.now += evaluator.list()[0].periodMs!;
      put(50, clock.now, 'PredictRequests', dimensions);
      put(10, clock.now, 'Predict5xx', dimensions);
      await evaluator.evaluateNow();
    }

    // Assess
    const [ok, alarmed] = evaluator.history(alarm.name);
    expect([ok.to, alarmed.to]).toEqual(['OK', 'ALARM']);
    const matches = compilePattern(rule.eventPattern!);
    expect(matches(ok.event)).toBe(false);
    expect(matches(alarmed.event)).toBe(true);
    expect(delivered).toEqual([{ rule: rule.name, target: rollbackArn, event: alarmed.event }]);
    expect(alarmed.deliveries).toEqual([{ rule: rule.name, target: rule.targets[0].id, result: 'captured' }]);
    // What lambdas/rollback/handler.ts reads: the model and role dimensions of the alarm's metrics.
    const metrics = (
      alarmed.event!.detail as {
        configuration: { metrics: { metricStat?: { metric: { dimensions: unknown } } }[] };
      }
    ).configuration.metrics;
    expect(metrics.flatMap((m) => (m.metricStat ? [m.metricStat.metric.dimensions] : []))).toEqual([
      dimensions,
      dimensions,
    ]);
  });

  it('rolls back on live quality only from the minimum number of labels a period needs', async () => {
    const alarm = stack.alarms.find(
      (a) => a.name === 'Driftline/rollback/breast-cancer/production/live-quality',
    )!;
    const { evaluator, put, clock } = harness([alarm]);
    const dimensions = { model: 'breast-cancer', role: 'production', service: 'driftline' };
    const period = evaluator.list()[0].periodMs!;
    const labelled = (labels: number) => {
      clock.now += period;
      for (let i = 0; i < labels; i += 1) put(50, clock.now, 'LiveQualityRatio', dimensions);
      return evaluator.evaluateNow();
    };
    const minimum = Number(/labels >= (\d+)/.exec(JSON.stringify(alarm.metrics))![1]);

    // Act: periods with one label too few keep the alarm OK however bad the ratio; full periods alarm.
    for (let i = 0; i < alarm.evaluationPeriods; i += 1) await labelled(minimum - 1);
    const beforeMinimum = stateOf(evaluator, alarm.name).value;
    for (let i = 0; i < alarm.datapointsToAlarm!; i += 1) await labelled(minimum);

    // Assess
    expect(beforeMinimum).toBe('OK');
    expect(stateOf(evaluator, alarm.name).value).toBe('ALARM');
  });
});

describe('in the local runtime', () => {
  let fixture: FixtureRuntime;

  beforeAll(async () => {
    fixture = await startFixtureRuntime({
      build: buildAlarmFixtureApp,
      buildId: 'alarm-fixture',
      sources: alarmFixtureSources,
      cdkOut: join(tmpdir(), 'driftline-local-alarm-fixture.cdk.out'),
      alarmPeriodScale: 0.005,
    });
  });
  afterAll(() => fixture?.close());

  it('sends the ALARM of a function’s EMF latency through the rule to the rollback function, then recovers', async () => {
    // Prepare
    const { runtime } = fixture;
    expect(runtime.stack.stackName).toBe(ALARM_FIXTURE_STACK);
    expect(runtime.alarms.periodScale).toBe(0.005);
    await runtime.alarms.waitForState(LATENCY_ALARM, 'OK', 30_000);

    // Act: the function prints p99-breaching latencies as EMF, as predict does.
    await runtime.invoke('emf', { model: 'air', latency: [1500, 1700] });
    await runtime.alarms.waitForState(LATENCY_ALARM, 'ALARM', 30_000);

    // Assess: the event reached the rollback function through the rule; SNS was notified.
    const alarmed = runtime.alarms.history(LATENCY_ALARM).at(-1)!;
    expect(alarmed.deliveries).toEqual([
      expect.objectContaining({ result: expect.stringMatching(/^invoked AlarmFixture-rollback/) }),
    ]);
    let rollbackLogs: string[] = [];
    for (let i = 0; i < 100 && !rollbackLogs.some((l) => l.includes(LATENCY_ALARM)); i += 1) {
      await sleep(20);
      rollbackLogs = runtime.logs('rollback');
    }
    const logged = JSON.parse(rollbackLogs.find((l) => l.includes('"counted"'))!);
    expect(logged.event).toMatchObject({
      source: 'aws.cloudwatch',
      'detail-type': 'CloudWatch Alarm State Change',
      detail: {
        alarmName: LATENCY_ALARM,
        state: { value: 'ALARM' },
        previousState: { value: 'OK' },
        configuration: { description: 'p99 latency of air above 1000 ms: roll back.' },
      },
    });
    expect(runtime.notifications.map((n) => n.subject)).toContain(
      `ALARM: "${LATENCY_ALARM}" in US East (N. Virginia)`,
    );

    // Act: no more data; the breaching period leaves the 3-period range after at most 0.9 s of wall time.
    await runtime.alarms.waitForState(LATENCY_ALARM, 'OK', 30_000);
    expect(runtime.alarms.history(LATENCY_ALARM).map((t) => t.to)).toEqual(['OK', 'ALARM', 'OK']);
  });
});
