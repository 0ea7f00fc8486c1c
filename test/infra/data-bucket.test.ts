import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnBucket } from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { DataBucket } from '../../infra/data-bucket.ts';
import { testApp } from './support.ts';

function synthBucket(destroyOnRemoval?: boolean): {
  template: Template;
  dataBucketId: string;
  logsBucketId: string;
} {
  const stack = new Stack(testApp(), 'Test');
  const data = new DataBucket(stack, 'Data', { destroyOnRemoval });
  return {
    template: Template.fromStack(stack),
    dataBucketId: stack.getLogicalId(data.bucket.node.defaultChild as CfnBucket),
    logsBucketId: stack.getLogicalId(data.accessLogsBucket.node.defaultChild as CfnBucket),
  };
}

describe('DataBucket', () => {
  const { template, dataBucketId, logsBucketId } = synthBucket();
  const dataBucket = template.toJSON().Resources[dataBucketId];

  it('encrypts with S3-managed keys, blocks public access and keeps versions', () => {
    // Assess
    expect(dataBucket.Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      VersioningConfiguration: { Status: 'Enabled' },
    });
  });

  it('has no hard-coded name, so two stacks can live side by side', () => {
    // Assess
    expect(dataBucket.Properties.BucketName).toBeUndefined();
  });

  it('denies every request that does not use TLS', () => {
    // Assess
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: dataBucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('sends object events to EventBridge', () => {
    // Assess
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: dataBucketId },
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    });
  });

  it('writes server access logs to its own private log bucket', () => {
    // Assess
    expect(dataBucket.Properties.LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: logsBucketId },
      LogFilePrefix: 'data/',
    });
    expect(template.toJSON().Resources[logsBucketId].Properties).toMatchObject({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
    });
  });

  it('is retained when the stack is deleted, by default', () => {
    // Assess
    expect(dataBucket.DeletionPolicy).toBe('Retain');
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
  });

  it('is deleted with its objects when destroyOnRemoval is set', () => {
    // Act
    const dev = synthBucket(true);
    // Assess
    expect(dev.template.toJSON().Resources[dev.dataBucketId].DeletionPolicy).toBe('Delete');
    dev.template.hasResourceProperties('Custom::S3AutoDeleteObjects', {
      BucketName: { Ref: dev.dataBucketId },
    });
  });
});
