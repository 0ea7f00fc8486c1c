/**
 * Recovery without a person: a schedule that runs the `recover` function, which marks runs whose
 * execution no longer runs `interrupted`, hands their drops to new runs and starts runs for drops whose
 * event was lost. The local runtime also runs it once when it starts (the `driftline:invokeOnStart`
 * metadata), since a killed runtime loses its executions.
 */
import { Arn, ArnFormat, type CfnResource, Duration, Stack } from 'aws-cdk-lib';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { DriftlineFunction } from './driftline-function.ts';
import { acknowledgeWildcardResource } from './nag.ts';

/** The environment variable that names the state machine to the `recover` function. */
export const STATE_MACHINE_ENV = 'STATE_MACHINE_ARN';

/** Metadata the local runtime reads: invoke the function with this event once it has started. */
export const INVOKE_ON_START_METADATA = 'driftline:invokeOnStart';

export interface RecoveryProps {
  /** The `recover` function, already bound to the registry (read/write) and the bucket (`incoming/*` read). */
  readonly function: DriftlineFunction;
  /** The retraining state machine whose executions it checks and starts. */
  readonly stateMachine: StateMachine;
  /** @default 5 minutes */
  readonly interval?: Duration;
}

/** The recovery schedule, and the recovery function's access to the state machine. */
export class Recovery extends Construct {
  /** Runs the recovery every {@link RecoveryProps.interval}. */
  public readonly rule: Rule;

  constructor(scope: Construct, id: string, props: RecoveryProps) {
    super(scope, id);
    const { function: fn, stateMachine } = props;
    fn.addEnvironment(STATE_MACHINE_ENV, stateMachine.stateMachineArn);
    // It starts runs (for drops without one) and reads the status of the executions of this machine only.
    stateMachine.grantStartExecution(fn);
    const executions = Arn.format(
      {
        service: 'states',
        resource: 'execution',
        resourceName: `${stateMachine.stateMachineName}:*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      },
      Stack.of(this),
    );
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ['states:DescribeExecution'], resources: [executions] }),
    );
    acknowledgeWildcardResource(
      fn.executionRole,
      executions,
      'DescribeExecution on the executions of the retraining machine only; their names are the run ids',
    );
    (fn.node.defaultChild as CfnResource).addMetadata(INVOKE_ON_START_METADATA, { trigger: 'start' });

    this.rule = new Rule(this, 'Schedule', {
      description: 'Marks runs whose execution stopped interrupted and starts runs for drops that have none.',
      schedule: Schedule.rate(props.interval ?? Duration.minutes(5)),
      targets: [
        new LambdaFunction(fn, {
          event: RuleTargetInput.fromObject({ trigger: 'schedule' }),
          retryAttempts: 2,
          maxEventAge: Duration.minutes(10),
        }),
      ],
    });
  }
}
