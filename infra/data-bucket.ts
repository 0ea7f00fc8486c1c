/**
 * The data bucket: drops arrive under `incoming/`, the pipeline keeps `datasets/`, `runs/`, `models/` and
 * `reports/`. Object events go to EventBridge (not S3 notifications) so rules can filter on key prefix.
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface DataBucketProps {
  /**
   * Delete both buckets and every object in them with the stack. For dev stacks and LocalStack only:
   * the data bucket holds every drop and model.
   * @default false (RETAIN)
   */
  readonly destroyOnRemoval?: boolean;
}

/** The construct id of CDK's singleton Lambda that configures bucket notifications. */
const BUCKET_NOTIFICATIONS_HANDLER_ID = 'BucketNotificationsHandler050a0587b7544547bf325f094a3db834';

/** The versioned, private, TLS-only data bucket and the bucket that receives its access logs. */
export class DataBucket extends Construct {
  /** Drops, datasets, runs, models and reports. */
  public readonly bucket: Bucket;
  /** Server access logs of {@link bucket}. */
  public readonly accessLogsBucket: Bucket;

  constructor(scope: Construct, id: string, props: DataBucketProps = {}) {
    super(scope, id);
    const destroy = props.destroyOnRemoval ?? false;
    const removal = {
      removalPolicy: destroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      autoDeleteObjects: destroy,
    };
    const privateTlsOnly = {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
    };

    this.accessLogsBucket = new Bucket(this, 'AccessLogs', {
      ...privateTlsOnly,
      ...removal,
      lifecycleRules: [{ expiration: Duration.days(90) }],
    });

    this.bucket = new Bucket(this, 'Bucket', {
      ...privateTlsOnly,
      ...removal,
      versioned: true,
      eventBridgeEnabled: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'data/',
      // Versioning keeps every overwritten model and dataset; old versions only need to outlive a rollback.
      lifecycleRules: [
        {
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
    });

    // `eventBridgeEnabled` is applied by CDK's stack-wide bucket-notifications custom resource.
    const notificationsHandler = Stack.of(this).node.tryFindChild(BUCKET_NOTIFICATIONS_HANDLER_ID);
    if (notificationsHandler === undefined) {
      throw new Error(
        `DataBucket: CDK no longer creates ${BUCKET_NOTIFICATIONS_HANDLER_ID}; revisit its cdk-nag acknowledgment`,
      );
    }
    Validations.of(notificationsHandler).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        "CDK's own deploy-time handler that turns on EventBridge notifications; it only writes its logs.",
    });
  }
}
