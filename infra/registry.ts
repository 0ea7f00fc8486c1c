/**
 * The model registry and the prediction log, both on-demand DynamoDB tables with point-in-time recovery.
 * They are separate tables so the serving function can be given write access to its log and nothing
 * but read access to the registry.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

export interface RegistryProps {
  /** Delete both tables with the stack (dev and LocalStack only). @default false (RETAIN) */
  readonly destroyOnRemoval?: boolean;
}

/** The TTL attribute of {@link Registry.predictionLog}: epoch seconds after which DynamoDB deletes the item. */
export const PREDICTION_LOG_TTL_ATTRIBUTE = 'expiresAt';

/** The registry table (`PK`/`SK`) and the prediction log (`id`, expiring on `expiresAt`). */
export class Registry extends Construct {
  /** Models, versions and their stages, runs, promotions and rollbacks: single-table, keys `PK` and `SK`. */
  public readonly table: Table;
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

    this.predictionLog = new Table(this, 'PredictionLog', {
      ...common,
      partitionKey: { name: 'id', type: AttributeType.STRING },
      timeToLiveAttribute: PREDICTION_LOG_TTL_ATTRIBUTE,
    });
  }
}
