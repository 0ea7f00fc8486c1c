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
    predictionLog: resources[stack.getLogicalId(registry.predictionLog.node.defaultChild as CfnTable)],
  };
}

describe('Registry', () => {
  const { table, predictionLog } = synthRegistry();

  it('keys the registry table on string PK and SK', () => {
    // Assess
    expect(table.Properties.KeySchema).toEqual([
      { AttributeName: 'PK', KeyType: 'HASH' },
      { AttributeName: 'SK', KeyType: 'RANGE' },
    ]);
    expect(table.Properties.AttributeDefinitions).toEqual([
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
    ['prediction log', predictionLog],
  ])('bills the %s on demand, with point-in-time recovery and no hard-coded name', (_, resource) => {
    // Assess
    expect(resource.Properties.BillingMode).toBe('PAY_PER_REQUEST');
    expect(resource.Properties.PointInTimeRecoverySpecification).toEqual({
      PointInTimeRecoveryEnabled: true,
    });
    expect(resource.Properties.TableName).toBeUndefined();
  });

  it('retains both tables by default and deletes them when destroyOnRemoval is set', () => {
    // Act
    const dev = synthRegistry(true);
    // Assess
    expect([table.DeletionPolicy, predictionLog.DeletionPolicy]).toEqual(['Retain', 'Retain']);
    expect([dev.table.DeletionPolicy, dev.predictionLog.DeletionPolicy]).toEqual(['Delete', 'Delete']);
  });
});
