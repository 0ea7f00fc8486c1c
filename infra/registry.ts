/**
 * The model registry, the runs table and the prediction log, on-demand DynamoDB tables with point-in-time
 * recovery. They are separate tables because IAM grants by table, not by sort key: the serving function
 * may write its log and only read the registry, and the pipeline's steps may write their bookkeeping (the
 * runs table) without being able to write a version or a pointer (the registry table).
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

export interface RegistryProps {
  /** Delete the tables with the stack (dev and LocalStack only). @default false (RETAIN) */
  readonly destroyOnRemoval?: boolean;
}

/** The TTL attribute of {@link Registry.predictionLog}: epoch seconds after which DynamoDB deletes the item. */
export const PREDICTION_LOG_TTL_ATTRIBUTE = 'expiresAt';

/** The registry and runs tables (`PK`/`SK`) and the prediction log (`id`, expiring on `expiresAt`). */
export class Registry extends Construct {
  /** What serves: specs, versions and their stages, pointers, the audit of promotions and rollbacks (`PK`/`SK`). */
  public readonly table: Table;
  /** The pipeline's bookkeeping: runs, run leases, drop claims, baselines, held-back drops (`PK`/`SK`). */
  public readonly runs: Table;
  /** One item per prediction, keyed `id`, for audit and delayed-label accuracy. */
  public readonly predictionLog: Table;

  constructor(scope: Construct, id: string, props: RegistryProps = {}) {
    super(scope, id);
    const common = {
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.destroyOnRemoval ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    };

    this.table = new Table(this, 'Table', {
      ...common,
      partitionKey: { name: 'PK', type: AttributeType.STRING },
      sortKey: { name: 'SK', type: AttributeType.STRING },
    });

    this.runs = new Table(this, 'Runs', {
      ...common,
      partitionKey: { name: 'PK', type: AttributeType.STRING },
      sortKey: { name: 'SK', type: AttributeType.STRING },
    });

    this.predictionLog = new Table(this, 'PredictionLog', {
      ...common,
      partitionKey: { name: 'id', type: AttributeType.STRING },
      timeToLiveAttribute: PREDICTION_LOG_TTL_ATTRIBUTE,
    });
  }
}
