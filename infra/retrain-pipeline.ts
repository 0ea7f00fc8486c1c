/**
 * The retraining pipeline: the one ASL file in `statemachines/`, its `${XxxFunctionArn}` placeholders
 * filled with the pipeline's Lambdas, started by a drop under `incoming/` or by a model's schedule.
 */
import { readFileSync } from 'node:fs';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Match, Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from './nag.ts';
import { fromProjectRoot } from './project.ts';

/** The state machine definition, shared with the local runtime. */
export const RETRAIN_DEFINITION_FILE = 'statemachines/retrain.asl.json';

/** Drops land under this key prefix; nothing else in the bucket starts a run. */
export const DROP_PREFIX = 'incoming/';

/** The Lambdas behind the ASL's `Resource` placeholders: `validate` fills `${ValidateFunctionArn}`, and so on. */
export interface PipelineFunctions {
  readonly admit: IFunction;
  readonly validate: IFunction;
  readonly drift: IFunction;
  readonly merge: IFunction;
  readonly featurize: IFunction;
  readonly train: IFunction;
  readonly select: IFunction;
  readonly evaluate: IFunction;
  readonly register: IFunction;
  readonly recordFailure: IFunction;
}

/** The retraining definition as JSON (its placeholders unfilled). */
export function retrainDefinition(): { TimeoutSeconds: number; States: Record<string, unknown> } {
  return JSON.parse(readFileSync(fromProjectRoot(RETRAIN_DEFINITION_FILE), 'utf8'));
}

/**
 * The environment of the `admit` function: how long a run's lease lasts if the run dies holding it (as
 * long as an execution may last, so a live run never loses it), and how long a run waits for the lease.
 */
export function runLeaseEnvironment(): Record<string, string> {
  const { TimeoutSeconds } = retrainDefinition();
  return {
    RUN_LEASE_SECONDS: String(TimeoutSeconds),
    RUN_LEASE_WAIT_SECONDS: String(TimeoutSeconds),
  };
}

/** A model that retrains on a schedule as well as on new data. */
export interface ScheduledModel {
  readonly name: string;
  /** An EventBridge schedule expression, e.g. `rate(7 days)`. */
  readonly schedule: string;
}

export interface RetrainPipelineProps {
  /** The data bucket; its `Object Created` events under {@link DROP_PREFIX} start runs. */
  readonly bucket: IBucket;
  readonly functions: PipelineFunctions;
  /** @default none */
  readonly scheduledModels?: readonly ScheduledModel[];
}

/**
 * The placeholder a function fills in the ASL file.
 * @example placeholderFor('recordFailure') // 'RecordFailureFunctionArn'
 */
export function placeholderFor(functionKey: string): string {
  return `${functionKey.charAt(0).toUpperCase()}${functionKey.slice(1)}FunctionArn`;
}

/** The Step Functions state machine, its triggers and the dead-letter queue of those triggers. */
export class RetrainPipeline extends Construct {
  public readonly stateMachine: StateMachine;
  /** Execution history (ALL events, without input and output payloads). */
  public readonly logGroup: LogGroup;
  /** Trigger events EventBridge could not deliver to the state machine after its retries. */
  public readonly deadLetterQueue: Queue;
  /** Starts a run for each new object under `incoming/`. */
  public readonly dropRule: Rule;
  /** One per scheduled model, keyed by model name. */
  public readonly scheduleRules: ReadonlyMap<string, Rule>;

  constructor(scope: Construct, id: string, props: RetrainPipelineProps) {
    super(scope, id);
    const functions = Object.entries(props.functions) as [string, IFunction][];

    // Step Functions asks for vended-log groups under /aws/vendedlogs/ so the account's CloudWatch Logs
    // resource policy does not grow with every state machine; the stack name keeps two stacks apart.
    this.logGroup = new LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-retrain`,
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromFile(fromProjectRoot(RETRAIN_DEFINITION_FILE)),
      definitionSubstitutions: Object.fromEntries(
        functions.map(([key, fn]) => [placeholderFor(key), fn.functionArn]),
      ),
      logs: { destination: this.logGroup, level: LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    for (const [, fn] of functions) {
      fn.grantInvoke(this.stateMachine);
      acknowledgeWildcardResource(
        this.stateMachine.role,
        `${fn.functionArn}:*`,
        'lambda:InvokeFunction on the function and its versions/aliases; the machine invokes only its own steps.',
      );
    }
    Validations.of(this.stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'CloudWatch Logs vended-log delivery (logs:*LogDelivery, DescribeLogGroups) and X-Ray actions support no resource-level permissions.',
    });

    this.deadLetterQueue = new Queue(this, 'TriggerDeadLetterQueue', {
      enforceSSL: true,
      encryption: QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the pipeline triggers; nothing consumes it but people.',
    });
    const target = (input?: RuleTargetInput) =>
      new SfnStateMachine(this.stateMachine, {
        input,
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 8,
        maxEventAge: Duration.hours(6),
      });

    this.dropRule = new Rule(this, 'DropCreated', {
      description: 'Starts a retraining run for each new data drop under incoming/.',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [props.bucket.bucketName] },
          object: { key: Match.prefix(DROP_PREFIX) },
        },
      },
      targets: [target()],
    });

    this.scheduleRules = new Map(
      (props.scheduledModels ?? []).map((model) => [
        model.name,
        new Rule(this, `Schedule-${model.name}`, {
          description: `Scheduled retraining of model ${model.name}.`,
          schedule: Schedule.expression(model.schedule),
          targets: [
            target(
              RuleTargetInput.fromObject({ source: 'driftline.schedule', detail: { model: model.name } }),
            ),
          ],
        }),
      ]),
    );
  }
}
