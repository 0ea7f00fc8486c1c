/**
 * The CDK app (`cdk.json`: `node infra/app.ts`). Context keys: `stackName` (default Driftline),
 * `destroyOnRemoval`, `apiKey`, `specsDir` (default data/specs); see {@link readSettings}.
 * Every synth runs the cdk-nag AwsSolutions pack: an unacknowledged finding fails it.
 */
import { App, Validations } from 'aws-cdk-lib';
import cdkNag from 'cdk-nag';
import { DriftlineStack } from './driftline-stack.ts';
import { loadModelSpecs } from './model-specs.ts';
import { fromProjectRoot } from './project.ts';
import { readSettings } from './settings.ts';

const app = new App();
const settings = readSettings(app.node);

new DriftlineStack(app, settings.stackName, {
  // Environment-agnostic unless the CLI knows an account: synth works offline, without credentials.
  env:
    process.env.CDK_DEFAULT_ACCOUNT && process.env.CDK_DEFAULT_REGION
      ? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION }
      : undefined,
  destroyOnRemoval: settings.destroyOnRemoval,
  apiKeyRequired: settings.apiKeyRequired,
  feedbackAuth: settings.feedbackAuth,
  modelSpecs: loadModelSpecs(fromProjectRoot(settings.specsDir)),
});

// cdk-nag 3 is a CDK policy-validation plugin (it replaced v2's Aspect); cdk-nag is CommonJS whose named
// exports Node cannot detect, hence the default import.
Validations.of(app).addPlugins(new cdkNag.AwsSolutionsChecks(app, { verbose: true }));

app.synth();
