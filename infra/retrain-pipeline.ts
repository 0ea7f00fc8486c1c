/**
 * The retraining pipeline: the one ASL file in `statemachines/`, its `${XxxFunctionArn}` placeholders
 * filled with the pipeline's Lambdas, started by a drop under `incoming/` or by a model's schedule.
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Match, Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction, SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from './nag.ts';
import { fromProjectRoot } from './project.ts';
import {
  type AslDefinition,
  type AslRetrier,
  type AslState,
  type PipelineFunctionKey,
  placeholderFor,
  RETRAIN_DEFINITION_FILE,
  retrainDefinition,
} from './retrain-definition.ts';

/** Drops land under this key prefix; nothing else in the bucket starts a run. */
export const DROP_PREFIX = 'incoming/';

/** The Lambdas behind the ASL's `Resource` placeholders: `validate` fills `${ValidateFunctionArn}`, and so on. */
export type PipelineFunctions = { readonly [K in PipelineFunctionKey]: IFunction };

/**
 * The most items each Map state fans out: the spec allows at most 200 search trials (`search.trials`), and
 * the final fit uses at most 8 shards (`shardCount`).
 */
export const MAP_ITEM_LIMITS: Readonly<Record<string, number>> = {
  SearchHyperparameters: 200,
  FitFinalModel: 8,
};

/** Errors Lambda raises before the function runs (throttling): a retry of one costs its delay, not a timeout. */
const FAIL_FAST_ERRORS = new Set(['Lambda.TooManyRequestsException']);

/** Where the run starts once it holds the lease: the lease's expiry covers the path from here. */
export const LEASED_FROM_STATE = 'Validate';

/** A retrier's total wait between attempts: `IntervalSeconds × BackoffRate^i`, each capped at `MaxDelaySeconds`. */
function retryDelaySeconds(retrier: AslRetrier): number {
  const {
    IntervalSeconds = 1,
    MaxAttempts = 3,
    BackoffRate = 2,
    MaxDelaySeconds = Number.POSITIVE_INFINITY,
  } = retrier;
  let total = 0;
  for (let i = 0; i < MaxAttempts; i++)
    total += Math.min(IntervalSeconds * BackoffRate ** i, MaxDelaySeconds);
  return total;
}

/**
 * The longest a definition can run from `from` to an end, in seconds, by Amazon's rules: each Task runs to
 * its `TimeoutSeconds` on every attempt its retriers allow (a throttled attempt only costs its delay), plus
 * every retry delay; a Map runs `ceil(items / MaxConcurrency)` waves of its item processor
 * ({@link MAP_ITEM_LIMITS}); a Choice, and a Catch, may lead to its longest branch.
 * @throws {RangeError} for a loop on the way, or a Map without a limit.
 */
export function worstCaseSeconds(definition: AslDefinition, from = definition.StartAt): number {
  const memo = new Map<string, number>();
  const visiting = new Set<string>();
  const longest = (name: string): number => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    if (visiting.has(name)) throw new RangeError(`the definition loops through ${name}`);
    visiting.add(name);
    const state = definition.States[name];
    const next = [
      state.Next,
      state.Default,
      ...(state.Choices ?? []).map((c) => c.Next),
      ...(state.Catch ?? []).map((c) => c.Next),
    ]
      .filter((target): target is string => target !== undefined)
      .map(longest);
    const total = ownSeconds(name, state) + Math.max(0, ...next);
    visiting.delete(name);
    memo.set(name, total);
    return total;
  };
  return longest(from);
}

function ownSeconds(name: string, state: AslState): number {
  if (state.Type === 'Wait') return state.Seconds ?? 0;
  if (state.Type === 'Map') {
    const items = MAP_ITEM_LIMITS[name];
    if (items === undefined || state.ItemProcessor === undefined)
      throw new RangeError(`Map state ${name} has no item limit in MAP_ITEM_LIMITS`);
    return Math.ceil(items / (state.MaxConcurrency || items)) * worstCaseSeconds(state.ItemProcessor);
  }
  if (state.Type !== 'Task') return 0;
  const retries = state.Retry ?? [];
  const attempts =
    1 +
    retries
      .filter((retrier) => !retrier.ErrorEquals.every((error) => FAIL_FAST_ERRORS.has(error)))
      .reduce((sum, retrier) => sum + (retrier.MaxAttempts ?? 3), 0);
  const delays = retries.reduce((sum, retrier) => sum + retryDelaySeconds(retrier), 0);
  return (state.TimeoutSeconds ?? 60) * attempts + delays;
}

/**
 * The run lease's timing, from the definition: once admitted, a run holds the lease for at most its
 * worst-case path from {@link LEASED_FROM_STATE} (after that, a run that died holding it no longer blocks
 * the model), and it may wait for the lease as long as the execution timeout leaves after that path.
 */
export function runLeaseTiming(definition: AslDefinition = retrainDefinition()): {
  leaseSeconds: number;
  waitSeconds: number;
} {
  const leaseSeconds = Math.ceil(worstCaseSeconds(definition, LEASED_FROM_STATE));
  const admitLoop =
    worstCaseSeconds(
      {
        ...definition,
        States: {
          ...definition.States,
          Admit: { ...definition.States.Admit, Next: undefined, Catch: undefined },
        },
      },
      'Admit',
    ) + (definition.States.WaitForRunLease?.Seconds ?? 0);
  return {
    leaseSeconds,
    waitSeconds: Math.floor((definition.TimeoutSeconds ?? 0) - leaseSeconds - admitLoop),
  };
}

/** The environment of the `admit` function: the run lease's timing ({@link runLeaseTiming}). */
export function runLeaseEnvironment(): Record<string, string> {
  const { leaseSeconds, waitSeconds } = runLeaseTiming();
  return { RUN_LEASE_SECONDS: String(leaseSeconds), RUN_LEASE_WAIT_SECONDS: String(waitSeconds) };
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
  /** Records runs whose execution stopped without succeeding (timed out, aborted, failed uncaught). */
  readonly runEnded: IFunction;
  /** @default none */
  readonly scheduledModels?: readonly ScheduledModel[];
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
  /** Sends executions that stopped without succeeding to the function that records their run. */
  public readonly endedRule: Rule;
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

    this.endedRule = new Rule(this, 'ExecutionEnded', {
      description: 'Records retraining runs whose execution timed out, was aborted or failed uncaught.',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [this.stateMachine.stateMachineArn],
          status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
        },
      },
      targets: [
        new LambdaFunction(props.runEnded, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 8,
          maxEventAge: Duration.hours(6),
        }),
      ],
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
