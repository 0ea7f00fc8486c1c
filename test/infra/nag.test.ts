import { Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import cdkNag from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { flattenReference } from '../../infra/nag.ts';
import { logicalIdOf, synthDriftline } from './support.ts';

/** Every finding of the AwsSolutions pack no acknowledgment covers, as `severity rule @ path`. */
function unacknowledgedFindings(scope: IConstruct): string[] {
  const report = new cdkNag.AwsSolutionsChecks().validateScope(scope);
  return report.violations.flatMap((violation) =>
    violation.violatingResources.map(
      (resource) => `${violation.severity} ${violation.ruleName} @ ${resource.constructPath}`,
    ),
  );
}

describe('cdk-nag AwsSolutions', () => {
  it.each([
    ['default', {}],
    ['dev (destroyOnRemoval, API key)', { destroyOnRemoval: true, apiKeyRequired: true }],
  ])('leaves no finding unacknowledged in the %s stack, errors or warnings', (_, props) => {
    // Prepare
    const { stack } = synthDriftline(props);
    // Act
    const findings = unacknowledgedFindings(stack);
    // Assess
    expect(findings).toEqual([]);
  });

  it('gives a reason for every acknowledgment', () => {
    // Prepare
    const { stack } = synthDriftline();
    // Act
    const acknowledgments = stack.node
      .findAll()
      .flatMap((construct) => construct.node.metadata)
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>));
    // Assess
    expect(acknowledgments.length).toBeGreaterThan(10);
    for (const [rule, reason] of acknowledgments) {
      expect(reason.length, rule).toBeGreaterThanOrEqual(40);
    }
  });

  it('still reports a wildcard grant that nobody acknowledged', () => {
    // Prepare
    const { stack } = synthDriftline();
    stack.functions.predict.addToRolePolicy(
      new PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }),
    );
    stack.functions.train.addToRolePolicy(
      new PolicyStatement({ actions: ['s3:GetObject'], resources: [stack.data.bucket.arnForObjects('*')] }),
    );
    // Act
    const findings = unacknowledgedFindings(stack);
    // Assess
    expect(findings.sort()).toEqual([
      'error AwsSolutions-IAM5[Resource::*] @ Driftline/predictRole/DefaultPolicy/Resource',
      `error AwsSolutions-IAM5[Resource::<${logicalIdOf(stack.data.bucket)}.Arn>/*] @ Driftline/trainRole/DefaultPolicy/Resource`,
    ]);
  });
});

describe('flattenReference', () => {
  it('names references the way cdk-nag names IAM5 findings', () => {
    // Prepare
    const objects = { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['DataBucketE6B0FAA8', 'Arn'] }, '/runs/*']] };
    // Act
    const flattened = [
      flattenReference(objects),
      flattenReference({ Ref: 'AWS::Region' }),
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string, not a JS template
      flattenReference({ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::x' }),
    ];
    // Assess
    expect(flattened).toEqual([
      '<DataBucketE6B0FAA8.Arn>/runs/*',
      '<AWS::Region>',
      'arn:<AWS::Partition>:s3:::x',
    ]);
  });
});
