import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnTable } from 'aws-cdk-lib/aws-dynamodb';
import { describe, expect, it } from 'vitest';
import { Registry } from '../../infra/registry.ts';
import { testApp } from './support.ts';

function synthRegistry(destroyOnRemoval?: boolean) {
  const stack = new Stack(testApp(), 'Test');
  const registry = new Registry(stack, 'Registry', { destroyOnRemoval });
  const resources = Template.fromStack(stack).toJSON().Resources;
  return {
    table: resources[stack.getLogicalId(registry.table.node.defaultChild as CfnTable)],
    runs: resources[stack.getLogicalId(registry.runs.node.defaultChild as CfnTable)],
    predictionLog: resources[stack.getLogicalId(registry.predictionLog.node.defaultChild as CfnTable)],
  };
}

describe('Registry', () => {
  const { table, runs, predictionLog } = synthRegistry();

  it.each([
    ['registry', table],
    ['runs', runs],
  ])('keys the %s table on string PK and SK', (_, resource) => {
    // Assess
    expect(resource.Properties.KeySchema).toEqual([
      { AttributeName: 'PK', KeyType: 'HASH' },
      { AttributeName: 'SK', KeyType: 'RANGE' },
    ]);
    expect(resource.Properties.AttributeDefinitions).toEqual([
      { AttributeName: 'PK', AttributeType: 'S' },
      { AttributeName: 'SK', AttributeType: 'S' },
    ]);
  });

  it('keys the prediction log on a string id and expires items on expiresAt', () => {
    // Assess
    expect(predictionLog.Properties.KeySchema).toEqual([{ AttributeName: 'id', KeyType: 'HASH' }]);
    expect(predictionLog.Properties.AttributeDefinitions).toEqual([
      { AttributeName: 'id', AttributeType: 'S' },
    ]);
    expect(predictionLog.Properties.TimeToLiveSpecification).toEqual({
      AttributeName: 'expiresAt',
      Enabled: true,
    });
  });

  it.each([
    ['registry', table],
    ['runs table', runs],
    ['prediction log', predictionLog],
  ])('bills the %s on demand, with point-in-time recovery and no hard-coded name', (_, resource) => {
    // Assess
    expect(resource.Properties.BillingMode).toBe('PAY_PER_REQUEST');
    expect(resource.Properties.PointInTimeRecoverySpecification).toEqual({
      PointInTimeRecoveryEnabled: true,
    });
    expect(resource.Properties.TableName).toBeUndefined();
  });

  it('retains the tables by default and deletes them when destroyOnRemoval is set', () => {
    // Act
    const dev = synthRegistry(true);
    // Assess
    expect([table, runs, predictionLog].map((resource) => resource.DeletionPolicy)).toEqual([
      'Retain',
      'Retain',
      'Retain',
    ]);
    expect([dev.table, dev.runs, dev.predictionLog].map((resource) => resource.DeletionPolicy)).toEqual([
      'Delete',
      'Delete',
      'Delete',
    ]);
  });
});
