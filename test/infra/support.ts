/**
 * Shared set-up of the infra tests: the stack synthesized the way `cdk synth` does it (the context of
 * cdk.json, the fixture specs) but without bundling, and readers for what the template grants.
 */
import { readFileSync } from 'node:fs';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { DriftlineStack, type DriftlineStackProps } from '../../infra/driftline-stack.ts';
import { loadModelSpecs } from '../../infra/model-specs.ts';
import { flattenReference } from '../../infra/nag.ts';
import { fromProjectRoot } from '../../infra/project.ts';

/** Two fixture models: air-passengers (scheduled, custom thresholds) and breast-cancer (all defaults). */
export const FIXTURE_SPECS_DIR = fromProjectRoot('test/infra/fixtures/specs');

/** The feature flags of cdk.json, so the tests see the template `cdk synth` produces. */
function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(fromProjectRoot('cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

/**
 * An App with cdk.json's context that bundles no asset (Template tests need no code) and skips CDK's
 * built-in CloudFormation validation (4 s a synth; `cdk synth` still runs it).
 */
export function testApp(): App {
  return new App({
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
  });
}

/** The stack with the fixture specs, and its template. */
export function synthDriftline(props: DriftlineStackProps = {}): {
  stack: DriftlineStack;
  template: Template;
} {
  const stack = new DriftlineStack(testApp(), 'Driftline', {
    modelSpecs: loadModelSpecs(FIXTURE_SPECS_DIR),
    ...props,
  });
  return { stack, template: Template.fromStack(stack) };
}

/** Template resources; CDK writes `Properties` on every resource these helpers read. */
type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

/** The logical id of the Lambda whose `driftline:name` metadata is `name`. */
export function functionLogicalId(template: Template, name: string): string {
  const functions = template.findResources('AWS::Lambda::Function', { Metadata: { 'driftline:name': name } });
  const ids = Object.keys(functions);
  if (ids.length !== 1) throw new Error(`expected one function named ${name}, found ${ids.length}`);
  return ids[0];
}

/** An IAM statement with actions and resources flattened to strings such as `<DataBucketE3.Arn>/runs/*`. */
export interface FlatStatement {
  effect: string;
  actions: string[];
  resources: string[];
}

const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

export function flattenStatements(document: unknown): FlatStatement[] {
  const statements = (document as { Statement: Record<string, unknown>[] }).Statement;
  return statements.map((statement) => ({
    effect: String(statement.Effect),
    actions: asArray(statement.Action).map(String),
    resources: asArray(statement.Resource).map(flattenReference),
  }));
}

/** Every statement role `roleId` carries, inline or through attached policies. */
export function statementsOfRole(template: Template, roleId: string): FlatStatement[] {
  const resources = template.toJSON().Resources as Resources;
  const role = resources[roleId];
  const inline = ((role.Properties.Policies as { PolicyDocument: unknown }[] | undefined) ?? []).flatMap(
    (policy) => flattenStatements(policy.PolicyDocument),
  );
  const attached = Object.values(resources)
    .filter((resource) => resource.Type === 'AWS::IAM::Policy')
    .filter((policy) =>
      asArray(policy.Properties.Roles).some((ref) => (ref as { Ref?: string }).Ref === roleId),
    )
    .flatMap((policy) => flattenStatements(policy.Properties.PolicyDocument));
  return [...inline, ...attached];
}

/** Every statement the execution role of function `name` carries. */
export function statementsOfFunction(template: Template, name: string): FlatStatement[] {
  const fn = (template.toJSON().Resources as Resources)[functionLogicalId(template, name)];
  const [roleId] = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
  return statementsOfRole(template, roleId);
}

/** IAM's wildcard matching of an action or resource pattern against a concrete value. */
function globMatches(pattern: string, value: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );
  return regex.test(value);
}

/**
 * Whether `statements` allow `action` on `resource` (both concrete, e.g. `dynamodb:PutItem` on
 * `<RegistryTable.Arn>`), honouring wildcards in the statements as IAM does.
 */
export function allows(statements: readonly FlatStatement[], action: string, resource: string): boolean {
  return statements.some(
    (statement) =>
      statement.effect === 'Allow' &&
      statement.actions.some((pattern) => globMatches(pattern, action)) &&
      statement.resources.some((pattern) => globMatches(pattern, resource)),
  );
}

/** The logical id of a construct's CloudFormation resource. */
export function logicalIdOf(construct: IConstruct): string {
  return Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
}

/** The flattened ARN of a resource's `Arn` attribute, as statements name it. */
export function arnOf(logicalId: string): string {
  return `<${logicalId}.Arn>`;
}
