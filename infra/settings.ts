/**
 * The deploy-time knobs, read once from CDK context (`cdk.json` or `-c key=value`) and checked, so a typo
 * fails the synth with the key's name instead of silently deploying the default.
 */
import type { Node } from 'constructs';

/** Everything the stack takes from context. */
export interface DriftlineSettings {
  /** CloudFormation stack name. @default 'Driftline' */
  readonly stackName: string;
  /** Delete the data bucket (and its objects) and tables with the stack: for dev and LocalStack only. @default false */
  readonly destroyOnRemoval: boolean;
  /** Require an API key on predict and the read-only routes. @default false */
  readonly apiKeyRequired: boolean;
  /** How `POST /models/{name}/feedback` callers prove who they are: IAM (SigV4) or an API key. @default 'iam' */
  readonly feedbackAuth: FeedbackAuth;
  /** Folder of model specs (`*.json`), relative to the repository root. @default 'data/specs' */
  readonly specsDir: string;
}

/** How feedback callers authenticate: a SigV4 signature (IAM), or the API's key in `x-api-key`. */
export type FeedbackAuth = 'iam' | 'apiKey';

/** A context value that is not what its key needs. */
export class ContextError extends Error {
  override readonly name = 'ContextError';
}

/** `-c flag=true` arrives as the string 'true', `cdk.json` as a boolean: both are accepted. */
function booleanContext(node: Node, key: string, fallback: boolean): boolean {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined) return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new ContextError(`context ${key} must be true or false, got ${JSON.stringify(value)}`);
}

function stringContext(node: Node, key: string, fallback: string, pattern: RegExp, rule: string): string {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new ContextError(`context ${key} ${rule}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** CloudFormation stack names: a letter, then letters, digits and dashes, at most 128 characters. */
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;

/**
 * Reads the settings from the context of `node` (usually the App's).
 * @throws {ContextError} naming the key when a value is malformed.
 * @example readSettings(app.node) // { stackName: 'Driftline', destroyOnRemoval: false, ... }
 */
export function readSettings(node: Node): DriftlineSettings {
  return {
    stackName: stringContext(
      node,
      'stackName',
      'Driftline',
      STACK_NAME,
      'must be a CloudFormation stack name (a letter, then letters, digits or dashes)',
    ),
    destroyOnRemoval: booleanContext(node, 'destroyOnRemoval', false),
    apiKeyRequired: booleanContext(node, 'apiKey', false),
    feedbackAuth: stringContext(
      node,
      'feedbackAuth',
      'iam',
      /^(iam|apiKey)$/,
      'must be iam or apiKey',
    ) as FeedbackAuth,
    specsDir: stringContext(node, 'specsDir', 'data/specs', /\S/, 'must be a folder path'),
  };
}
