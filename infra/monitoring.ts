/**
 * Watching the served models and the pipeline. Per model: a p99-latency and a 5xx-rate alarm on the
 * metrics `predict` emits, whose ALARM state starts the `rollback` function through EventBridge, and a
 * dashboard. For the pipeline: failed runs and undeliverable triggers alert people, never roll back.
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Match, Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

/** The CloudWatch namespace `predict` publishes to (Powertools `POWERTOOLS_METRICS_NAMESPACE`). */
export const METRICS_NAMESPACE = 'Driftline';
/**
 * Powertools adds the service name to every metric's dimensions, so an alarm must name it too: CloudWatch
 * matches a metric by its exact dimension set. Must equal the `serviceName` in `lambdas/shared/observability.ts`.
 */
export const METRICS_SERVICE = 'driftline';

/** Metric names `predict` emits, with the dimensions `service` and `model` (and also per `version`). */
export const PREDICT_METRICS = {
  latency: 'PredictLatency',
  requests: 'PredictRequests',
  clientErrors: 'Predict4xx',
  serverErrors: 'Predict5xx',
  /** Emitted by `feedback`: a labelled prediction's error over its version's holdout error. */
  liveQuality: 'LiveQualityRatio',
  /** A request production's refused artifact answered 503 (`ARTIFACT_REFUSED_METRIC` of the handlers). */
  artifactRefused: 'ArtifactRefused',
} as const;

/**
 * Who answered: production, a canary taking a share of traffic, or a shadow predicting without answering.
 * Each role has its own alarms, so a bad canary is stopped without touching production.
 */
export type ServingRole = 'production' | 'canary' | 'shadow';

/** A metric `predict` or `feedback` emits for one role of `model`, at the model's alarm period. */
function predictMetric(
  model: ModelAlarmSettings,
  role: ServingRole,
  metricName: string,
  statistic: string,
  label?: string,
): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: METRICS_SERVICE, model: model.name, role },
    statistic,
    period: Duration.seconds(model.periodSeconds),
    label,
  });
}

/** Alarm thresholds of one served model (the spec's `monitoring` block, defaults applied). */
export interface ModelAlarmSettings {
  readonly name: string;
  /** p99 latency in milliseconds above which the model is rolled back. */
  readonly latencyP99Ms: number;
  /** Share of requests answered with a 5xx above which the model is rolled back. */
  readonly errorRate: number;
  /** Live error over holdout error above which the version is rolled back. */
  readonly qualityMultiple: number;
  /** Labelled predictions a period needs before its live quality counts. */
  readonly minFeedback: number;
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
}

export interface MonitoringProps {
  readonly models: readonly ModelAlarmSettings[];
  /** Started by any of this stack's rollback alarms entering ALARM. */
  readonly rollback: IFunction;
  /** Promotes canaries and shadows whose bake ended without an alarm, every minute. */
  readonly promote: IFunction;
  /** Its failed executions alert. */
  readonly stateMachine: IStateMachine;
  /** Dead-letter queues whose messages alert, keyed by a short name used in the alarm name. */
  readonly deadLetterQueues: Readonly<Record<string, IQueue>>;
}

/** The rollback alarms of one role of a model (a shadow never answers, so it has only `quality`). */
export interface RoleAlarms {
  readonly latency?: Alarm;
  readonly errorRate?: Alarm;
  readonly quality: Alarm;
  /** Production only: its artifact was refused; falls back to the previous version (spec `serving.fallback`). */
  readonly artifactRefused?: Alarm;
}

/** The rollback alarms of a model, per serving role. */
export type ModelAlarms = Readonly<Record<ServingRole, RoleAlarms>>;

function alarmsOf(alarms: ModelAlarms): Alarm[] {
  return Object.values(alarms).flatMap((role) =>
    [role.latency, role.errorRate, role.quality, role.artifactRefused].filter((a) => a !== undefined),
  );
}

/** The alerts topic, alarms, the alarm-to-rollback rule and one dashboard per model. */
export class Monitoring extends Construct {
  /** Every alarm of this stack notifies here (subscribe an e-mail or chat hook after deploy). */
  public readonly alertsTopic: Topic;
  /**
   * Alarm names that start with this prefix drive rollbacks: `<stack>/rollback/<model>/<metric>`. Stack
   * names cannot contain '/', so another stack's alarms never match.
   */
  public readonly rollbackAlarmPrefix: string;
  public readonly modelAlarms: ReadonlyMap<string, ModelAlarms>;
  public readonly dashboards: ReadonlyMap<string, Dashboard>;
  /** Sends ALARM state changes of the rollback alarms to the rollback function. */
  public readonly rollbackRule: Rule;
  /** Every minute, promotes the candidates whose bake ended. */
  public readonly bakeRule: Rule;
  /** Alarm events EventBridge could not deliver to the rollback function. */
  public readonly rollbackDeadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const stackName = Stack.of(this).stackName;
    this.rollbackAlarmPrefix = `${stackName}/rollback/`;

    // No SSE: CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed SNS key, and alert
    // text carries no data worth a customer-managed key.
    this.alertsTopic = new Topic(this, 'Alerts', { displayName: 'driftline alerts', enforceSSL: true });
    // enforceSSL gives the topic a resource policy, and it holds only the TLS deny: CloudWatch, which
    // publishes as its service principal for the alarms' SNS actions, must be allowed by name. Only this
    // account's alarms may (the confused-deputy guard).
    const { account, partition, region } = Stack.of(this);
    this.alertsTopic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alertsTopic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': account },
          ArnLike: { 'aws:SourceArn': `arn:${partition}:cloudwatch:${region}:${account}:alarm:*` },
        },
      }),
    );
    const notify = new SnsAction(this.alertsTopic);

    const modelAlarms = new Map<string, ModelAlarms>();
    const dashboards = new Map<string, Dashboard>();
    for (const model of props.models) {
      const alarms: ModelAlarms = {
        production: this.createRoleAlarms(model, 'production'),
        canary: this.createRoleAlarms(model, 'canary'),
        shadow: this.createRoleAlarms(model, 'shadow'),
      };
      for (const alarm of alarmsOf(alarms)) {
        alarm.addAlarmAction(notify);
        alarm.addOkAction(notify);
      }
      modelAlarms.set(model.name, alarms);
      dashboards.set(model.name, this.createDashboard(model, alarms));
    }
    this.modelAlarms = modelAlarms;
    this.dashboards = dashboards;

    this.rollbackDeadLetterQueue = new Queue(this, 'RollbackDeadLetterQueue', {
      enforceSSL: true,
      encryption: QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.rollbackDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the rollback rule; it is watched by an alarm.',
    });
    this.rollbackRule = new Rule(this, 'RollbackOnAlarm', {
      description:
        'Rolls a model (or its baking candidate) back when one of its rollback alarms enters ALARM.',
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: ['CloudWatch Alarm State Change'],
        detail: {
          alarmName: Match.prefix(this.rollbackAlarmPrefix),
          state: { value: ['ALARM'] },
        },
      },
      targets: [
        new LambdaFunction(props.rollback, {
          deadLetterQueue: this.rollbackDeadLetterQueue,
          retryAttempts: 4,
          maxEventAge: Duration.minutes(30),
        }),
      ],
    });

    this.bakeRule = new Rule(this, 'BakeCandidates', {
      description: 'Promotes canary and shadow versions whose bake ended without an alarm.',
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [
        new LambdaFunction(props.promote, {
          event: RuleTargetInput.fromObject({ action: 'bake' }),
          retryAttempts: 2,
          maxEventAge: Duration.minutes(5),
        }),
      ],
    });

    this.createOperationsAlarms(props, notify);
  }

  private createRoleAlarms(model: ModelAlarmSettings, role: ServingRole): RoleAlarms {
    const metric = (metricName: string, statistic: string) =>
      predictMetric(model, role, metricName, statistic);
    const name = `${this.rollbackAlarmPrefix}${model.name}/${role}`;
    const action = role === 'production' ? 'roll back to the previous version' : `stop the ${role}`;
    const shared = {
      evaluationPeriods: model.evaluationPeriods,
      datapointsToAlarm: model.datapointsToAlarm,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      // No traffic is not a fault: an idle model must not be rolled back.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    };
    const quality = new Alarm(this, `${model.name}-${role}-Quality`, {
      ...shared,
      alarmName: `${name}/live-quality`,
      alarmDescription: `Live error of ${model.name} (${role}) above ${model.qualityMultiple}× its holdout error over at least ${model.minFeedback} labels: ${action}.`,
      // Below minFeedback labels a period counts as fine: one unlucky label must not roll a model back.
      metric: new MathExpression({
        expression: `IF(labels >= ${model.minFeedback}, ratio, 0)`,
        usingMetrics: {
          labels: metric(PREDICT_METRICS.liveQuality, 'SampleCount'),
          ratio: metric(PREDICT_METRICS.liveQuality, 'Average'),
        },
        label: 'live error / holdout error',
        period: Duration.seconds(model.periodSeconds),
      }),
      threshold: model.qualityMultiple,
    });
    if (role === 'shadow') return { quality };
    const latency = new Alarm(this, `${model.name}-${role}-LatencyP99`, {
      ...shared,
      alarmName: `${name}/latency-p99`,
      alarmDescription: `p99 predict latency of ${model.name} (${role}) above ${model.latencyP99Ms} ms: ${action}.`,
      metric: metric(PREDICT_METRICS.latency, 'p99'),
      threshold: model.latencyP99Ms,
    });
    const errorRate = new Alarm(this, `${model.name}-${role}-ErrorRate`, {
      ...shared,
      alarmName: `${name}/5xx-rate`,
      alarmDescription: `Share of ${model.name} (${role}) predict calls answered with a 5xx above ${model.errorRate}: ${action}.`,
      // A period with requests but no 5xx datapoint has an error rate of 0, not a missing one.
      metric: new MathExpression({
        expression: 'FILL(errors, 0) / requests',
        usingMetrics: {
          errors: metric(PREDICT_METRICS.serverErrors, 'Sum'),
          requests: metric(PREDICT_METRICS.requests, 'Sum'),
        },
        label: '5xx rate',
        period: Duration.seconds(model.periodSeconds),
      }),
      threshold: model.errorRate,
    });
    if (role !== 'production') return { latency, errorRate, quality };
    // One refused request is enough: the bytes are wrong for every request until the pointer moves.
    const artifactRefused = new Alarm(this, `${model.name}-${role}-ArtifactRefused`, {
      alarmName: `${name}/artifact-refused`,
      alarmDescription: `The production artifact of ${model.name} no longer matches its recorded sha256 and predict answers 503: fall back to the previous version unless the spec's serving.fallback is false.`,
      metric: metric(PREDICT_METRICS.artifactRefused, 'Sum'),
      // "> 0" like every rollback alarm, whose breaching datapoints the rollback function reads as "> threshold".
      threshold: 0,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    return { latency, errorRate, quality, artifactRefused };
  }

  private createDashboard(model: ModelAlarmSettings, alarms: ModelAlarms): Dashboard {
    const metric = (metricName: string, statistic: string, label: string, role: ServingRole = 'production') =>
      predictMetric(model, role, metricName, statistic, label);
    const dashboard = new Dashboard(this, `${model.name}-Dashboard`, {
      dashboardName: `${Stack.of(this).stackName}-${model.name}`,
    });
    dashboard.addWidgets(
      new GraphWidget({
        title: `${model.name}: predict latency (ms)`,
        left: [
          metric(PREDICT_METRICS.latency, 'p50', 'p50'),
          metric(PREDICT_METRICS.latency, 'p95', 'p95'),
          metric(PREDICT_METRICS.latency, 'p99', 'p99'),
        ],
        leftAnnotations: [{ value: model.latencyP99Ms, label: 'p99 rollback threshold' }],
        width: 12,
      }),
      new GraphWidget({
        title: `${model.name}: requests and errors`,
        left: [
          metric(PREDICT_METRICS.requests, 'Sum', 'requests'),
          metric(PREDICT_METRICS.clientErrors, 'Sum', '4xx'),
          metric(PREDICT_METRICS.serverErrors, 'Sum', '5xx'),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: `${model.name}: requests per model version`,
        left: [
          new MathExpression({
            expression: `SEARCH('{${METRICS_NAMESPACE},model,service,version} MetricName="${PREDICT_METRICS.requests}" model="${model.name}"', 'Sum', ${model.periodSeconds})`,
            usingMetrics: {},
            label: 'version',
            period: Duration.seconds(model.periodSeconds),
          }),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: `${model.name}: live error / holdout error (from feedback)`,
        left: [
          metric(PREDICT_METRICS.liveQuality, 'Average', 'production'),
          metric(PREDICT_METRICS.liveQuality, 'Average', 'canary', 'canary'),
          metric(PREDICT_METRICS.liveQuality, 'Average', 'shadow', 'shadow'),
        ],
        leftAnnotations: [{ value: model.qualityMultiple, label: 'rollback threshold' }],
        width: 12,
      }),
      new GraphWidget({
        title: `${model.name}: drift share per retraining run`,
        left: [
          new Metric({
            namespace: METRICS_NAMESPACE,
            metricName: 'DriftShare',
            dimensionsMap: { service: METRICS_SERVICE, model: model.name },
            statistic: 'Maximum',
            period: Duration.hours(1),
            label: 'share of drifted columns',
          }),
        ],
        width: 12,
      }),
      new AlarmStatusWidget({
        title: `${model.name}: rollback alarms`,
        alarms: alarmsOf(alarms),
        width: 12,
      }),
    );
    return dashboard;
  }

  private createOperationsAlarms(props: MonitoringProps, notify: SnsAction): void {
    const operationsPrefix = `${Stack.of(this).stackName}/ops/`;
    const failedRuns = new Alarm(this, 'RetrainFailed', {
      alarmName: `${operationsPrefix}retrain-failed`,
      alarmDescription:
        'A retraining run failed (validation gate, training or evaluation); production is unchanged.',
      metric: props.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    failedRuns.addAlarmAction(notify);
    // A run that times out or is stopped never reaches the pipeline's own failure step: alarm on those too.
    const stopped = {
      TimedOut: {
        name: 'retrain-timed-out',
        metric: props.stateMachine.metricTimedOut,
        why: 'ran past its timeout',
      },
      Aborted: { name: 'retrain-aborted', metric: props.stateMachine.metricAborted, why: 'was stopped' },
    };
    for (const [id, { name, metric, why }] of Object.entries(stopped)) {
      new Alarm(this, `Retrain${id}`, {
        alarmName: `${operationsPrefix}${name}`,
        alarmDescription: `A retraining execution ${why}; its run is recorded as failed and production is unchanged.`,
        metric: metric.call(props.stateMachine, { period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }).addAlarmAction(notify);
    }
    const queues = { ...props.deadLetterQueues, rollback: this.rollbackDeadLetterQueue };
    for (const [name, queue] of Object.entries(queues)) {
      const undelivered = new Alarm(this, `${name}-DeadLetters`, {
        alarmName: `${operationsPrefix}${name}-dead-letters`,
        alarmDescription: `Events EventBridge could not deliver (${name}); inspect the queue and replay them.`,
        metric: queue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: 'Maximum',
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      undelivered.addAlarmAction(notify);
    }
  }
}
