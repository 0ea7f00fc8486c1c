import { describe, expect, it } from 'vitest';
import type { FunctionName } from '../../infra/driftline-stack.ts';
import { allows, arnOf, logicalIdOf, statementsOfFunction, synthDriftline } from './support.ts';

const PREFIXES = ['incoming', 'datasets', 'runs', 'models', 'reports'] as const;
type Prefix = (typeof PREFIXES)[number];

/** What each function needs (the design, plus validate's report under runs/): nothing more may be granted. */
interface Needs {
  read: Prefix[];
  write: Prefix[];
  registry: 'none' | 'read' | 'readWrite';
  /** `append`: put only (predict logs); `annotate`: get and update (feedback adds labels); `lookup`: get (reports). */
  predictionLog?: 'append' | 'annotate' | 'lookup';
  alerts?: boolean;
}

const NEEDS: Record<FunctionName, Needs> = {
  admit: { read: [], write: [], registry: 'readWrite' },
  validate: { read: ['incoming'], write: ['runs'], registry: 'readWrite' },
  drift: { read: ['incoming', 'datasets'], write: ['runs'], registry: 'read' },
  merge: { read: ['incoming', 'datasets'], write: ['datasets'], registry: 'readWrite' },
  featurize: { read: ['datasets'], write: ['runs'], registry: 'read' },
  train: { read: ['runs'], write: ['runs'], registry: 'none' },
  select: { read: ['runs'], write: ['runs'], registry: 'read' },
  evaluate: { read: ['runs', 'datasets', 'models'], write: ['models', 'runs'], registry: 'read' },
  register: {
    read: ['runs', 'datasets'],
    write: ['reports'],
    registry: 'readWrite',
    predictionLog: 'lookup',
  },
  recordFailure: { read: [], write: [], registry: 'readWrite' },
  runEnded: { read: [], write: [], registry: 'readWrite' },
  predict: { read: ['models'], write: [], registry: 'read', predictionLog: 'append' },
  feedback: { read: [], write: [], registry: 'read', predictionLog: 'annotate' },
  models: { read: [], write: [], registry: 'read' },
  pages: { read: ['runs', 'datasets'], write: [], registry: 'read', predictionLog: 'lookup' },
  rollback: { read: [], write: [], registry: 'readWrite', alerts: true },
  promote: { read: [], write: [], registry: 'readWrite', alerts: true },
};

const REGISTRY_READS = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'];
const REGISTRY_WRITES = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];

describe('least-privilege grants', () => {
  const { stack, template } = synthDriftline();
  const bucket = arnOf(logicalIdOf(stack.data.bucket));
  const registry = arnOf(logicalIdOf(stack.registry.table));
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

    it(`has ${needs.registry} access to the registry`, () => {
      // Act
      const reads = REGISTRY_READS.filter((action) => allows(statements, action, registry));
      const writes = REGISTRY_WRITES.filter((action) => allows(statements, action, registry));
      // Assess
      expect(reads).toEqual(needs.registry === 'none' ? [] : REGISTRY_READS);
      expect(writes).toEqual(needs.registry === 'readWrite' ? REGISTRY_WRITES : []);
    });

    it(`has ${needs.predictionLog ?? 'no'} access to the prediction log`, () => {
      // Assess
      expect(allows(statements, 'dynamodb:PutItem', predictionLog)).toBe(needs.predictionLog === 'append');
      expect(allows(statements, 'dynamodb:GetItem', predictionLog)).toBe(
        needs.predictionLog === 'annotate' || needs.predictionLog === 'lookup',
      );
      expect(allows(statements, 'dynamodb:UpdateItem', predictionLog)).toBe(
        needs.predictionLog === 'annotate',
      );
      expect(allows(statements, 'dynamodb:DeleteItem', predictionLog)).toBe(false);
      expect(allows(statements, 'dynamodb:Scan', predictionLog)).toBe(false);
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
});
