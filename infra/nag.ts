/**
 * Helpers for acknowledging cdk-nag findings precisely. cdk-nag 3 names each wildcard finding of
 * AwsSolutions-IAM5 after the flattened resource (`Resource::<DataBucketE38.Arn>/runs/*`), and an
 * acknowledgment must name that finding exactly, so grants acknowledge the very ARNs they create and a
 * new, unintended wildcard still fails the synth.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * A resolved CloudFormation value flattened the way cdk-nag does it: `Fn::GetAtt` to `<Id.Attr>`, `Ref`
 * to `<Id>`, `Fn::Join` joined, `${x}` of `Fn::Sub` to `<x>`.
 */
export function flattenReference(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/}/g, '>');
  if (typeof value === 'object' && value !== null) {
    const node = value as Record<string, unknown>;
    if ('Fn::Join' in node) {
      const [delimiter, parts] = node['Fn::Join'] as [string, unknown[]];
      return parts.map(flattenReference).join(delimiter);
    }
    if ('Fn::Sub' in node) return flattenReference(node['Fn::Sub']);
    if ('Fn::GetAtt' in node) {
      const [resource, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
      return `<${flattenReference(resource)}.${flattenReference(attribute)}>`;
    }
    if ('Ref' in node) return `<${flattenReference(node.Ref)}>`;
  }
  return JSON.stringify(value);
}

/**
 * Acknowledges the AwsSolutions-IAM5 finding for one wildcard resource of a policy under `scope`.
 * @param resource The ARN as used in the policy statement (a token is resolved against the stack).
 * @example acknowledgeWildcardResource(role, bucket.arnForObjects('runs/*'), 'prefix-scoped run artifacts')
 */
export function acknowledgeWildcardResource(scope: IConstruct, resource: string, reason: string): void {
  const flattened = flattenReference(Stack.of(scope).resolve(resource));
  Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${flattened}]`, reason });
}
