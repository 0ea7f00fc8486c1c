/**
 * The retraining state machine's definition file and its `${XxxFunctionArn}` placeholders, apart from the
 * construct so that what runs the file without CDK (the time budget, the pipeline tests) needs no CDK import.
 */
import { readFileSync } from 'node:fs';
import { fromProjectRoot } from './project.ts';

/** The state machine definition, shared with the local runtime. */
export const RETRAIN_DEFINITION_FILE = 'statemachines/retrain.asl.json';

/** The Lambdas behind the ASL's `Resource` placeholders, by key: `validate` fills `${ValidateFunctionArn}`. */
export const PIPELINE_FUNCTION_KEYS = [
  'admit',
  'validate',
  'drift',
  'merge',
  'featurize',
  'train',
  'select',
  'evaluate',
  'register',
  'recordFailure',
] as const;
export type PipelineFunctionKey = (typeof PIPELINE_FUNCTION_KEYS)[number];

/**
 * The placeholder a function fills in the ASL file.
 * @example placeholderFor('recordFailure') // 'RecordFailureFunctionArn'
 */
export function placeholderFor(functionKey: string): string {
  return `${functionKey.charAt(0).toUpperCase()}${functionKey.slice(1)}FunctionArn`;
}

/** The retraining definition as JSON (its placeholders unfilled). */
export function retrainDefinition(): AslDefinition {
  return JSON.parse(readFileSync(fromProjectRoot(RETRAIN_DEFINITION_FILE), 'utf8'));
}

/**
 * The definition with each `${XxxFunctionArn}` placeholder replaced by the ARN `arnOf` gives its function.
 * @throws {RangeError} naming a placeholder that is not one of {@link PIPELINE_FUNCTION_KEYS}.
 */
export function substituteFunctionArns(
  definition: AslDefinition,
  arnOf: (key: PipelineFunctionKey) => string,
): AslDefinition {
  const byPlaceholder = new Map(PIPELINE_FUNCTION_KEYS.map((key) => [placeholderFor(key), arnOf(key)]));
  return JSON.parse(
    JSON.stringify(definition).replaceAll(/\$\{(\w+)\}/g, (_, placeholder: string) => {
      const arn = byPlaceholder.get(placeholder);
      if (arn === undefined)
        throw new RangeError(`the definition's \${${placeholder}} names no pipeline function`);
      return arn;
    }),
  );
}

/** The parts of an ASL definition the time budget reads. */
export interface AslDefinition {
  StartAt: string;
  TimeoutSeconds?: number;
  States: Record<string, AslState>;
}
export interface AslRetrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
}
export interface AslState {
  Type: string;
  Resource?: string;
  Next?: string;
  Default?: string;
  Choices?: { Next: string }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
  Retry?: AslRetrier[];
  TimeoutSeconds?: number;
  Seconds?: number;
  MaxConcurrency?: number;
  ItemProcessor?: AslDefinition;
}
