import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import type { FunctionName } from '../../infra/driftline-stack.ts';
import {
  allows,
  arnOf,
  type FlatStatement,
  flattenStatements,
  functionLogicalId,
  logicalIdOf,
  statementsOfFunction,
  statementsOfRole,
  synthDriftline,
} from './support.ts';

const PREFIXES = ['incoming', 'tables', 'datasets', 'runs', 'models', 'reports'] as const;
type Prefix = (typeof PREFIXES)[number];

/** DynamoDB item actions, as a function's grants are checked against them: every one either granted or not. */
const TABLE_ACTIONS = [
  'GetItem',
  'BatchGetItem',
  'Query',
  'Scan',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'ConditionCheckItem',
  'TransactWriteItems',
  'TransactGetItems',
  'PartiQLSelect',
  'PartiQLInsert',
  'PartiQLUpdate',
  'PartiQLDelete',
] as const;
type TableAction = (typeof TABLE_ACTIONS)[number];
const WRITES: readonly TableAction[] = [
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'TransactWriteItems',
  'PartiQLInsert',
  'PartiQLUpdate',
  'PartiQLDelete',
];

/**
 * What each function needs (the design, plus validate's report under runs/): nothing more may be granted.
 * `registry` is what serves (specs, versions, pointers, audit); `runs` the pipeline's bookkeeping.
 */
interface Needs {
  read: Prefix[];
  write: Prefix[];
  registry: TableAction[];
  runs: TableAction[];
  predictionLog: TableAction[];
  alerts?: boolean;
}

const NEEDS: Record<FunctionName, Needs> = {
  admit: { read: [], write: [], registry: [], runs: ['GetItem', 'PutItem', 'UpdateItem'], predictionLog: [] },
  validate: {
    read: ['incoming'],
    write: ['runs', 'tables'],
    registry: ['GetItem'],
    // Query: a retrain lists the drops held back to end at once when there is nothing new.
    runs: ['GetItem', 'Query', 'UpdateItem'],
    predictionLog: [],
  },
  drift: {
    read: ['tables', 'datasets', 'runs'],
    write: ['runs'],
    registry: ['GetItem'],
    runs: ['GetItem', 'Query', 'UpdateItem'],
    predictionLog: [],
  },
  merge: {
    read: ['tables', 'datasets', 'runs'],
    write: ['datasets'],
    registry: ['GetItem'],
    runs: ['GetItem', 'Query', 'UpdateItem'],
    predictionLog: [],
  },
  featurize: {
    read: ['datasets', 'runs'],
    write: ['runs'],
    registry: ['GetItem'],
    runs: ['UpdateItem'],
    predictionLog: [],
  },
  train: { read: ['runs'], write: ['runs'], registry: [], runs: ['UpdateItem'], predictionLog: [] },
  select: { read: ['runs'], write: ['runs'], registry: [], runs: ['UpdateItem'], predictionLog: [] },
  evaluate: {
    read: ['runs', 'datasets', 'models'],
    write: ['models', 'runs'],
    registry: ['GetItem'],
    runs: ['UpdateItem'],
    predictionLog: [],
  },
  register: {
    read: ['runs', 'datasets'],
    write: ['reports'],
    registry: ['GetItem', 'Query', 'PutItem', 'UpdateItem'],
    // Query: the report page it renders lists the model's runs.
    runs: ['GetItem', 'PutItem', 'Query', 'UpdateItem'],
    predictionLog: ['GetItem'],
  },
  recordFailure: { read: [], write: [], registry: [], runs: ['GetItem', 'UpdateItem'], predictionLog: [] },
  runEnded: {
    read: [],
    write: [],
    registry: [],
    runs: ['GetItem', 'Query', 'UpdateItem'],
    predictionLog: [],
  },
  predict: { read: ['models'], write: [], registry: ['GetItem'], runs: [], predictionLog: ['PutItem'] },
  feedback: {
    read: [],
    write: [],
    registry: ['GetItem'],
    runs: [],
    predictionLog: ['GetItem', 'UpdateItem'],
  },
  models: {
    read: ['models'],
    write: [],
    registry: ['GetItem', 'Query'],
    runs: ['Query'],
    predictionLog: [],
  },
  pages: {
    read: ['runs', 'datasets'],
    write: [],
    registry: ['GetItem', 'Query'],
    runs: ['Query'],
    predictionLog: ['GetItem'],
  },
  rollback: {
    read: [],
    write: [],
    registry: ['GetItem', 'Query', 'PutItem', 'UpdateItem'],
    runs: [],
    predictionLog: [],
    alerts: true,
  },
  promote: {
    read: [],
    write: [],
    registry: ['GetItem', 'Query', 'PutItem', 'UpdateItem'],
    runs: ['Query'],
    predictionLog: [],
    alerts: true,
  },
  // Specs only (its code writes a spec and its catalog entry); GetItem: the same spec again writes nothing.
  registerSpec: { read: [], write: [], registry: ['GetItem', 'UpdateItem'], runs: [], predictionLog: [] },
  recover: {
    read: ['incoming'],
    write: [],
    registry: ['Query'],
    runs: ['GetItem', 'Query', 'UpdateItem'],
    predictionLog: [],
  },
};

/**
 * The functions that may write the registry table: the lifecycle's writers, which change what serves, and
 * registerSpec, whose code writes specs only (IAM cannot tell the table's sort keys apart).
 */
const REGISTRY_WRITERS: readonly FunctionName[] = ['register', 'promote', 'rollback', 'registerSpec'];

describe('least-privilege grants', () => {
  const { stack, template } = synthDriftline();
  const bucket = arnOf(logicalIdOf(stack.data.bucket));
  const registry = arnOf(logicalIdOf(stack.registry.table));
  const runs = arnOf(logicalIdOf(stack.registry.runs));
  const predictionLog = arnOf(logicalIdOf(stack.registry.predictionLog));
  const alerts = `<${logicalIdOf(stack.monitoring.alertsTopic)}>`;
  const objectUnder = (prefix: Prefix) => `${bucket}/${prefix}/model/v1/file.json`;

  describe.each(Object.entries(NEEDS))('%s', (name, needs) => {
    const statements = statementsOfFunction(template, name);

    it('reads and writes objects under exactly its prefixes, and deletes none', () => {
      // Act
      const readable = PREFIXES.filter((prefix) => allows(statements, 's3:GetObject', objectUnder(prefix)));
      const writable = PREFIXES.filter((prefix) => allows(statements, 's3:PutObject', objectUnder(prefix)));
      const deletable = PREFIXES.filter((prefix) =>
        allows(statements, 's3:DeleteObject', objectUnder(prefix)),
      );
      // Assess
      expect(readable.sort()).toEqual([...needs.read].sort());
      expect(writable.sort()).toEqual([...needs.write].sort());
      expect(deletable).toEqual([]);
      expect(allows(statements, 's3:GetObject', `${bucket}/elsewhere.json`)).toBe(false);
    });

    it.each([
      ['registry', registry, needs.registry],
      ['runs', runs, needs.runs],
      ['prediction log', predictionLog, needs.predictionLog],
    ] as const)('is granted exactly its actions on the %s table', (_table, arn, expected) => {
      // Act
      const granted = TABLE_ACTIONS.filter((action) => allows(statements, `dynamodb:${action}`, arn));
      // Assess
      expect(granted.sort()).toEqual([...expected].sort());
      expect(
        granted.filter((action) => ['Scan', 'DeleteItem'].includes(action) || action.startsWith('Batch')),
      ).toEqual([]);
    });

    it(needs.alerts ? 'may publish alerts' : 'cannot publish alerts', () => {
      // Assess
      expect(allows(statements, 'sns:Publish', alerts)).toBe(needs.alerts === true);
    });

    it('has no wildcard action', () => {
      // Assess
      expect(
        statements.flatMap((statement) => statement.actions).filter((action) => action.includes('*')),
      ).toEqual([]);
    });
  });

  it('lets only register, promote (and its bake schedule), rollback and registerSpec write the registry table', () => {
    // Act: every function that may write anything to the registry table (pointers, versions, specs, audit)
    const writers = Object.keys(NEEDS).filter((name) =>
      WRITES.some((action) => allows(statementsOfFunction(template, name), `dynamodb:${action}`, registry)),
    );
    // Assess
    expect(writers.sort()).toEqual([...REGISTRY_WRITERS].sort());
  });

  it('lets no other role of the stack write the registry table, nor any managed policy', () => {
    // Prepare
    const resources = template.toJSON().Resources as Record<
      string,
      { Type: string; Properties: { PolicyDocument?: unknown; Description?: string } }
    >;
    const writes = (statements: FlatStatement[]) =>
      WRITES.some((action) => allows(statements, `dynamodb:${action}`, registry));
    const roleOf = (name: string) =>
      (
        resources[functionLogicalId(template, name)].Properties as unknown as {
          Role: { 'Fn::GetAtt': [string, string] };
        }
      ).Role['Fn::GetAtt'][0];
    // Act: every role (functions, the state machine, rules, custom resources) and every managed policy
    const writingRoles = Object.keys(template.findResources('AWS::IAM::Role')).filter((id) =>
      writes(statementsOfRole(template, id)),
    );
    const writingPolicies = Object.values(template.findResources('AWS::IAM::ManagedPolicy'))
      .filter((policy) => writes(flattenStatements(policy.Properties.PolicyDocument)))
      .map((policy) => String(policy.Properties.Description));
    // Assess
    expect(writingRoles.sort()).toEqual(REGISTRY_WRITERS.map(roleOf).sort());
    expect(writingPolicies).toEqual([]);
  });

  it('names each table it grants on: no wildcard table or index', () => {
    // Act
    const dynamoResources = Object.keys(NEEDS).flatMap((name) =>
      statementsOfFunction(template, name)
        .filter((statement) => statement.actions.some((action) => action.startsWith('dynamodb:')))
        .flatMap((statement) => statement.resources),
    );
    // Assess
    expect(dynamoResources.filter((resource) => resource.includes('*'))).toEqual([]);
  });

  describe("the operator's policy (the CLI)", () => {
    const [operator] = Object.values(
      template.findResources('AWS::IAM::ManagedPolicy', {
        Properties: { Description: Match.stringLikeRegexp('the CLI') },
      }),
    );
    const statements = flattenStatements(operator.Properties.PolicyDocument);
    const granted = (arn: string) =>
      TABLE_ACTIONS.filter((action) => allows(statements, `dynamodb:${action}`, arn));
    const functionArn = (name: FunctionName) => arnOf(functionLogicalId(template, name));

    it('reads both tables and writes neither, nor scans or deletes', () => {
      // Assess
      expect(granted(registry)).toEqual(['GetItem', 'Query']);
      expect(granted(runs)).toEqual(['GetItem', 'Query']);
      expect(granted(predictionLog)).toEqual([]);
    });

    it('registers specs, promotes and rolls back by invoking those functions, and invokes no other', () => {
      // Act
      const invocable = Object.keys(NEEDS).filter((name) =>
        allows(statements, 'lambda:InvokeFunction', functionArn(name as FunctionName)),
      );
      // Assess
      expect(invocable.sort()).toEqual(['promote', 'registerSpec', 'rollback']);
    });
  });
});
