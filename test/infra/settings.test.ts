import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { ContextError, readSettings } from '../../infra/settings.ts';

const settingsFrom = (context: Record<string, unknown>) => readSettings(new App({ context }).node);

describe('readSettings', () => {
  it('defaults to a retained Driftline stack without API key, IAM-signed feedback, specs from data/specs', () => {
    // Act
    const settings = settingsFrom({});
    // Assess
    expect(settings).toEqual({
      stackName: 'Driftline',
      destroyOnRemoval: false,
      apiKeyRequired: false,
      feedbackAuth: 'iam',
      specsDir: 'data/specs',
    });
  });

  it('accepts booleans from cdk.json and the strings that -c key=value passes', () => {
    // Act
    const settings = settingsFrom({
      stackName: 'Driftline-dev',
      destroyOnRemoval: 'true',
      apiKey: true,
      feedbackAuth: 'apiKey',
    });
    // Assess
    expect(settings).toMatchObject({
      stackName: 'Driftline-dev',
      destroyOnRemoval: true,
      apiKeyRequired: true,
      feedbackAuth: 'apiKey',
    });
  });

  it.each([
    [{ destroyOnRemoval: 'yes' }, /context destroyOnRemoval must be true or false, got "yes"/],
    [{ apiKey: 1 }, /context apiKey must be true or false, got 1/],
    [{ stackName: 'driftline/dev' }, /context stackName must be a CloudFormation stack name/],
    [{ feedbackAuth: 'none' }, /context feedbackAuth must be iam or apiKey, got "none"/],
  ])('fails on a malformed value, naming the key: %j', (context, message) => {
    // Act
    const read = () => settingsFrom(context);
    // Assess
    expect(read).toThrow(ContextError);
    expect(read).toThrow(message);
  });
});
