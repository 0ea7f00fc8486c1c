import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { functionLogicalId, logicalIdOf, synthDriftline } from './support.ts';

/** A dashboard body `Fn::Join`ed around `{ Ref: 'AWS::Region' }`, as text (Refs become their name). */
function renderJoin(body: { 'Fn::Join': [string, (string | { Ref: string })[]] }): string {
  const [separator, parts] = body['Fn::Join'];
  return parts.map((part) => (typeof part === 'string' ? part : part.Ref)).join(separator);
}

describe('Monitoring', () => {
  const { stack, template } = synthDriftline();
  const topic = { Ref: logicalIdOf(stack.monitoring.alertsTopic) };
  const alarmNamed = (name: string) =>
    Object.values(template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: name } }))[0]
      ?.Properties;

  const dimensions = (model: string, role: string) => [
    { Name: 'model', Value: model },
    { Name: 'role', Value: role },
    { Name: 'service', Value: 'driftline' },
  ];

  // air-passengers sets every threshold in its spec; breast-cancer takes the defaults.
  it.each([
    [
      'air-passengers',
      'production',
      { threshold: 500, period: 300, evaluationPeriods: 3, datapointsToAlarm: 2 },
    ],
    ['air-passengers', 'canary', { threshold: 500, period: 300, evaluationPeriods: 3, datapointsToAlarm: 2 }],
    [
      'breast-cancer',
      'production',
      { threshold: 1000, period: 60, evaluationPeriods: 5, datapointsToAlarm: 3 },
    ],
  ])('alarms when the p99 predict latency of %s (%s) passes its threshold', (model, role, expected) => {
    // Assess
    expect(alarmNamed(`Driftline/rollback/${model}/${role}/latency-p99`)).toMatchObject({
      Namespace: 'Driftline',
      MetricName: 'PredictLatency',
      Dimensions: dimensions(model, role),
      ExtendedStatistic: 'p99',
      Period: expected.period,
      Threshold: expected.threshold,
      EvaluationPeriods: expected.evaluationPeriods,
      DatapointsToAlarm: expected.datapointsToAlarm,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic],
    });
  });

  it.each([
    ['air-passengers', 'production', 0.02, 300],
    ['air-passengers', 'canary', 0.02, 300],
    ['breast-cancer', 'production', 0.05, 60],
  ])(
    'alarms when the 5xx share of %s (%s) predict calls passes its error rate',
    (model, role, errorRate, period) => {
      // Prepare
      const alarm = alarmNamed(`Driftline/rollback/${model}/${role}/5xx-rate`);
      const metric = (metricName: string) => ({
        Metric: { Namespace: 'Driftline', MetricName: metricName, Dimensions: dimensions(model, role) },
        Period: period,
        Stat: 'Sum',
      });
      // Assess
      expect(alarm).toMatchObject({
        Threshold: errorRate,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [topic],
      });
      expect(alarm.Metrics).toEqual([
        { Id: 'expr_1', Expression: 'FILL(errors, 0) / requests', Label: '5xx rate', ReturnData: true },
        { Id: 'errors', MetricStat: metric('Predict5xx'), ReturnData: false },
        { Id: 'requests', MetricStat: metric('PredictRequests'), ReturnData: false },
      ]);
    },
  );

  it.each(['production', 'canary', 'shadow'])(
    'alarms when the live error of breast-cancer (%s) passes qualityMultiple × holdout over minFeedback labels',
    (role) => {
      // Prepare: breast-cancer takes the defaults (qualityMultiple 2, minFeedback 5, period 60 s)
      const alarm = alarmNamed(`Driftline/rollback/breast-cancer/${role}/live-quality`);
      const metric = (stat: string) => ({
        Metric: {
          Namespace: 'Driftline',
          MetricName: 'LiveQualityRatio',
          Dimensions: dimensions('breast-cancer', role),
        },
        Period: 60,
        Stat: stat,
      });
      // Assess
      expect(alarm).toMatchObject({
        Threshold: 2,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
      expect(alarm.Metrics).toEqual([
        {
          Id: 'expr_1',
          Expression: 'IF(labels >= 5, ratio, 0)',
          Label: 'live error / holdout error',
          ReturnData: true,
        },
        { Id: 'labels', MetricStat: metric('SampleCount'), ReturnData: false },
        { Id: 'ratio', MetricStat: metric('Average'), ReturnData: false },
      ]);
    },
  );

  it('gives a shadow no latency or error-rate alarm: it never answers', () => {
    expect(alarmNamed('Driftline/rollback/breast-cancer/shadow/latency-p99')).toBeUndefined();
    expect(alarmNamed('Driftline/rollback/breast-cancer/shadow/5xx-rate')).toBeUndefined();
  });

  it('asks the promote function every minute to promote candidates whose bake ended', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [functionLogicalId(template, 'promote'), 'Arn'] },
          Input: JSON.stringify({ action: 'bake' }),
        }),
      ],
    });
  });

  it("sends this stack's rollback alarms entering ALARM to the rollback function, with a dead-letter queue", () => {
    // Prepare
    const rollbackId = functionLogicalId(template, 'rollback');
    // Assess
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        detail: { alarmName: [{ prefix: 'Driftline/rollback/' }], state: { value: ['ALARM'] } },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [rollbackId, 'Arn'] },
          DeadLetterConfig: {
            Arn: { 'Fn::GetAtt': [logicalIdOf(stack.monitoring.rollbackDeadLetterQueue), 'Arn'] },
          },
          RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 1800 },
        }),
      ],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [rollbackId, 'Arn'] },
      Principal: 'events.amazonaws.com',
    });
  });

  it.each(['air-passengers', 'breast-cancer'])(
    'alarms on the first request a refused production artifact of %s answers, a rollback alarm (the fallback)',
    (model) => {
      // Assess: one period with one refused request; named under the rollback prefix, so the rollback
      // rule sends it to the rollback function, which falls back unless serving.fallback is false
      expect(alarmNamed(`Driftline/rollback/${model}/production/artifact-refused`)).toMatchObject({
        Namespace: 'Driftline',
        MetricName: 'ArtifactRefused',
        Dimensions: dimensions(model, 'production'),
        Statistic: 'Sum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [topic],
      });
      expect(alarmNamed(`Driftline/rollback/${model}/canary/artifact-refused`)).toBeUndefined();
    },
  );

  it('never rolls back for pipeline alarms: they are named outside the rollback prefix', () => {
    // Prepare
    const names = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (alarm) => alarm.Properties.AlarmName as string,
    );
    // Assess
    expect(names.filter((name) => !name.startsWith('Driftline/rollback/')).sort()).toEqual([
      'Driftline/ops/retrain-aborted',
      'Driftline/ops/retrain-failed',
      'Driftline/ops/retrain-timed-out',
      'Driftline/ops/rollback-dead-letters',
      'Driftline/ops/triggers-dead-letters',
    ]);
    expect(alarmNamed('Driftline/ops/retrain-failed')).toMatchObject({
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsFailed',
      Threshold: 1,
      AlarmActions: [topic],
    });
    for (const [name, metric] of [
      ['retrain-timed-out', 'ExecutionsTimedOut'],
      ['retrain-aborted', 'ExecutionsAborted'],
    ]) {
      expect(alarmNamed(`Driftline/ops/${name}`)).toMatchObject({
        Namespace: 'AWS/States',
        MetricName: metric,
        Threshold: 1,
        AlarmActions: [topic],
      });
    }
  });

  it('only accepts alert publications over TLS', () => {
    // Assess
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [topic],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('lets CloudWatch publish the alarms of this account only', () => {
    // Assess
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [topic],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: topic,
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: {
                'aws:SourceArn': {
                  'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':alarm:\\*$')])],
                },
              },
            },
          }),
        ]),
      },
    });
  });

  it('draws a dashboard per model with latency percentiles, traffic, errors and per-version requests', () => {
    // Prepare
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const air = dashboards.find(
      (dashboard) => dashboard.Properties.DashboardName === 'Driftline-air-passengers',
    );
    const widgets = JSON.parse(renderJoin(air?.Properties.DashboardBody)).widgets as {
      properties: { metrics?: unknown[][]; title: string };
    }[];
    const metricLines = widgets
      .flatMap((widget) => widget.properties.metrics ?? [])
      .map((line) => JSON.stringify(line));
    // Assess
    expect(dashboards.map((dashboard) => dashboard.Properties.DashboardName).sort()).toEqual([
      'Driftline-air-passengers',
      'Driftline-breast-cancer',
    ]);
    for (const stat of ['p50', 'p95', 'p99']) {
      expect(metricLines).toContain(
        JSON.stringify([
          'Driftline',
          'PredictLatency',
          'model',
          'air-passengers',
          'role',
          'production',
          'service',
          'driftline',
          { label: stat, stat },
        ]),
      );
    }
    for (const metricName of ['PredictRequests', 'Predict4xx', 'Predict5xx']) {
      expect(metricLines.some((line) => line.includes(`"${metricName}","model","air-passengers"`))).toBe(
        true,
      );
    }
    expect(metricLines.some((line) => line.includes("SEARCH('{Driftline,model,service,version}"))).toBe(true);
  });
});
