/**
 * `cdklocal synth`, offline: the deployment `localstack/deploy.sh` makes, checked without a LocalStack.
 *
 * What cdklocal 3.x does with an `aws-cdk` CLI of 2.177 or later (2.1148.1 here): it removes the
 * caller's AWS_* variables (except AWS_ENDPOINT_URL* and an allow-list), sets credentials test/test,
 * region us-east-1, AWS_ENDPOINT_URL=http://localhost.localstack.cloud:4566 and AWS_ENDPOINT_URL_S3
 * (unless given), and then runs the installed CLI in-process. Synthesis contacts nothing but an account
 * lookup, which fails quietly without LocalStack (the stack stays environment-agnostic), so it runs here
 * with bundling on: the assets are the ones LocalStack would receive. ~20 s on two cores.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DriftlineStack } from '../../infra/driftline-stack.ts';
import { loadModelSpecs } from '../../infra/model-specs.ts';
import { fromProjectRoot, projectRoot } from '../../infra/project.ts';
import {
  PIPELINE_FUNCTION_KEYS as PIPELINE_FUNCTIONS,
  placeholderFor,
  RETRAIN_DEFINITION_FILE,
} from '../../infra/retrain-definition.ts';
import { pathStyleApiUrl, REQUIRED_SERVICES } from '../../localstack/endpoint.ts';
import { testApp } from '../infra/support.ts';
import { closedEndpoint, readCompose } from './support.ts';

const run = promisify(execFile);
const CDKLOCAL = fromProjectRoot('node_modules/aws-cdk-local/bin/cdklocal');
const CDK_CLI_PACKAGE = fromProjectRoot('node_modules/aws-cdk/package.json');

/** Why cdklocal cannot run here, or undefined when it can. */
function unavailable(): string | undefined {
  if (!existsSync(CDKLOCAL)) return 'aws-cdk-local is not installed (run npm ci)';
  if (!existsSync(CDK_CLI_PACKAGE)) return 'cdklocal needs the aws-cdk CLI installed next to it (run npm ci)';
  return undefined;
}
const skipReason = unavailable();

/**
 * Lambda runtimes the frozen 4.14.0 image can run that a template may use: nodejs24.x came with
 * localstack/localstack#13410 (2025-11), before 4.14.0 (2026-02); python3.13 a year earlier
 * (localstack-core/localstack/services/lambda_/runtimes.py).
 */
const LOCALSTACK_4_14_RUNTIMES = ['nodejs20.x', 'nodejs22.x', 'nodejs24.x', 'python3.12', 'python3.13'];

type Resource = {
  Type: string;
  Properties: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  DeletionPolicy?: string;
};
type CloudTemplate = { Resources: Record<string, Resource>; Outputs: Record<string, { Value: unknown }> };

/** The LocalStack service a CloudFormation type needs: `AWS::StepFunctions::X` → stepfunctions; custom → lambda. */
function serviceOf(type: string): string | undefined {
  if (type === 'AWS::CDK::Metadata') return undefined;
  if (type.startsWith('Custom::')) return 'lambda';
  return type.split('::')[1].toLowerCase();
}

/** Evaluates the `Fn::Join`/`Ref` value of an output with the values LocalStack's CloudFormation gives refs. */
function render(value: unknown, refs: Record<string, string>): string {
  if (typeof value === 'string') return value;
  const node = value as { Ref?: string; 'Fn::Join'?: [string, unknown[]] };
  if (node.Ref !== undefined) {
    if (!(node.Ref in refs)) throw new Error(`no value for Ref ${node.Ref}`);
    return refs[node.Ref];
  }
  if (node['Fn::Join'] !== undefined) {
    const [separator, parts] = node['Fn::Join'];
    return parts.map((part) => render(part, refs)).join(separator);
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

describe.skipIf(skipReason !== undefined)(
  `cdklocal synth${skipReason === undefined ? '' : ` (skipped: ${skipReason})`}`,
  () => {
    const outdir = mkdtempSync(join(tmpdir(), 'driftline-cdklocal-'));
    let template: CloudTemplate;
    let assets: { files: Record<string, unknown>; dockerImages: Record<string, unknown> };
    const resources = () => Object.entries(template.Resources);
    const functions = () => resources().filter(([, resource]) => resource.Type === 'AWS::Lambda::Function');
    const driftlineFunctions = () =>
      functions().filter(([, resource]) => resource.Metadata?.['driftline:name'] !== undefined);

    beforeAll(async () => {
      // The project's Node 22 first on PATH: cdk.json runs `node infra/app.ts`. The endpoints cdklocal
      // keeps from the environment point at a closed port, so that the account lookup fails at once even
      // where a LocalStack is running, and the synthesized stack is always environment-agnostic.
      const nowhere = await closedEndpoint();
      const env = {
        ...process.env,
        PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}`,
        AWS_ENDPOINT_URL: nowhere,
        AWS_ENDPOINT_URL_S3: nowhere,
        CDK_DISABLE_VERSION_CHECK: '1',
        CDK_DISABLE_CLI_TELEMETRY: 'true',
      };
      const args = [
        'synth',
        '--output',
        outdir,
        '--context',
        'destroyOnRemoval=true',
        '--quiet',
        '--no-notices',
      ];
      try {
        await run(process.execPath, [CDKLOCAL, ...args], {
          cwd: projectRoot,
          env,
          maxBuffer: 64 * 1024 * 1024,
          // A synth bundles every function with esbuild (over twenty); on a 2-core machine under a load
          // average of 18 that took more than 110 s, so the bound is a hang guard, not a speed check.
          timeout: 290_000,
        });
      } catch (error) {
        const { stderr = '', stdout = '' } = error as { stderr?: string; stdout?: string };
        throw new Error(`cdklocal synth failed:\n${(stderr || stdout).slice(-4000)}`);
      }
      template = JSON.parse(readFileSync(join(outdir, 'Driftline.template.json'), 'utf8'));
      assets = JSON.parse(readFileSync(join(outdir, 'Driftline.assets.json'), 'utf8'));
    }, 300_000);

    afterAll(() => rmSync(outdir, { recursive: true, force: true }));

    it('runs on the installed aws-cdk CLI', async () => {
      // Prepare
      const { version } = JSON.parse(readFileSync(CDK_CLI_PACKAGE, 'utf8')) as { version: string };
      // Act
      const { stdout } = await run(process.execPath, [CDKLOCAL, '--version']);
      // Assess
      expect(stdout).toContain(`cdk cli version v${version}`);
    });

    it('deploys the same resources as the app the infra tests synthesize', () => {
      // Prepare: the app as infra/app.ts builds it from the context deploy.sh passes. The CLI turns on
      // path metadata, which is part of the API deployment's logical id.
      const app = testApp();
      app.node.setContext('aws:cdk:enable-path-metadata', true);
      const stack = new DriftlineStack(app, 'Driftline', {
        destroyOnRemoval: true,
        modelSpecs: loadModelSpecs(fromProjectRoot('data/specs')),
      });
      const inventory = (all: Record<string, Resource>) =>
        Object.fromEntries(
          Object.entries(all)
            .filter(([, resource]) => resource.Type !== 'AWS::CDK::Metadata')
            .map(([id, resource]) => [id, resource.Type]),
        );
      // Act
      const expected = inventory(Template.fromStack(stack).toJSON().Resources);
      // Assess
      expect(inventory(template.Resources)).toEqual(expected);
      expect(Object.keys(template.Outputs).sort()).toEqual(
        Object.keys(Template.fromStack(stack).toJSON().Outputs).sort(),
      );
    });

    it('bundled every function locally, without Docker, into zip assets for the bootstrap bucket', () => {
      // Assess: CDK's own handlers are bundled too, and nothing needs ECR (not in community LocalStack).
      expect(assets.dockerImages).toEqual({});
      for (const [id, fn] of functions()) {
        const code = fn.Properties.Code as { S3Bucket?: unknown; S3Key?: string; ZipFile?: string };
        if (code.ZipFile !== undefined) continue;
        expect(code.S3Bucket, id).toEqual({
          // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax
          'Fn::Sub': 'cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}',
        });
      }
      const names = driftlineFunctions().map(([, fn]) => fn.Metadata?.['driftline:name']);
      expect(names).toEqual(expect.arrayContaining([...PIPELINE_FUNCTIONS, 'predict']));
      for (const [id, fn] of driftlineFunctions()) {
        const { S3Key } = fn.Properties.Code as { S3Key: string };
        const bundle = join(outdir, `asset.${S3Key.replace(/\.zip$/, '')}`);
        expect(existsSync(join(bundle, 'index.mjs')), `${id} index.mjs`).toBe(true);
        if (fn.Metadata?.['driftline:name'] === 'train') {
          expect(existsSync(join(bundle, 'forest-worker.mjs')), 'train forest-worker.mjs').toBe(true);
        }
      }
    });

    it('uses only Lambda runtimes the frozen LocalStack 4.14.0 image knows', () => {
      // Act
      const runtimes = new Set(functions().map(([, fn]) => fn.Properties.Runtime as string));
      // Assess
      for (const runtime of runtimes) expect(LOCALSTACK_4_14_RUNTIMES).toContain(runtime);
    });

    it('runs its arm64 functions on the host architecture in docker-compose.yml', () => {
      // Prepare
      const architectures = new Set(
        functions().flatMap(([, fn]) => (fn.Properties.Architectures as string[] | undefined) ?? ['x86_64']),
      );
      // Assess: arm64 bundles are plain JavaScript; without the flag an x86_64 host would need QEMU.
      expect(architectures).toContain('arm64');
      expect(readCompose().environment.LAMBDA_IGNORE_ARCHITECTURE).toBe('1');
    });

    it('needs no LocalStack service that docker-compose.yml leaves out', () => {
      // Act
      const needed = new Set(resources().flatMap(([, resource]) => serviceOf(resource.Type) ?? []));
      // Assess
      for (const service of needed) expect(REQUIRED_SERVICES as readonly string[]).toContain(service);
    });

    it('starts the state machine on drops under incoming/, with a definition LocalStack can substitute', () => {
      // Prepare: LocalStack's CloudFormation reads DefinitionS3Location from the bootstrap bucket and
      // replaces every ${Name} token with DefinitionSubstitutions, failing on a token it has no value for.
      const [[machineId, machine]] = resources().filter(
        ([, r]) => r.Type === 'AWS::StepFunctions::StateMachine',
      );
      const { Key } = machine.Properties.DefinitionS3Location as { Key: string };
      const substitutions = machine.Properties.DefinitionSubstitutions as Record<string, unknown>;
      const asset = assets.files[Key.replace(/\.json$/, '')] as { source: { path: string } };
      const definition = readFileSync(join(outdir, asset.source.path), 'utf8');
      const tokens = new Set([...definition.matchAll(/\$\{([a-zA-Z0-9_]+)\}/g)].map(([, name]) => name));
      const logicalIdOf = (name: string) =>
        driftlineFunctions().find(([, fn]) => fn.Metadata?.['driftline:name'] === name)?.[0];
      const dropRules = resources().filter(
        ([, r]) =>
          r.Type === 'AWS::Events::Rule' &&
          JSON.stringify((r.Properties.EventPattern as { source?: string[] } | undefined)?.source) ===
            '["aws.s3"]',
      );
      // Assess: the definition deployed is the file the local runtime runs.
      expect(definition).toBe(readFileSync(fromProjectRoot(RETRAIN_DEFINITION_FILE), 'utf8'));
      expect([...tokens].sort()).toEqual(Object.keys(substitutions).sort());
      for (const name of PIPELINE_FUNCTIONS) {
        expect(substitutions[placeholderFor(name)]).toEqual({ 'Fn::GetAtt': [logicalIdOf(name), 'Arn'] });
      }
      expect(dropRules).toHaveLength(1);
      const [[, rule]] = dropRules;
      expect(rule.Properties.EventPattern).toMatchObject({
        'detail-type': ['Object Created'],
        detail: { object: { key: [{ prefix: 'incoming/' }] } },
      });
      expect(rule.Properties.Targets).toEqual([expect.objectContaining({ Arn: { Ref: machineId } })]);
    });

    it('turns on EventBridge notifications for the data bucket, which LocalStack’s S3 sends', () => {
      // Prepare
      const notifications = resources().filter(([, r]) => r.Type === 'Custom::S3BucketNotifications');
      // Assess
      expect(notifications).toHaveLength(1);
      expect(notifications[0][1].Properties.NotificationConfiguration).toEqual({
        EventBridgeConfiguration: {},
      });
    });

    it('publishes an ApiUrl that, as LocalStack renders it, leads smoke.ts to the prod stage', () => {
      // Prepare: LocalStack's CloudFormation gives AWS::URLSuffix its own host name (no port).
      const [[apiId]] = resources().filter(([, r]) => r.Type === 'AWS::ApiGateway::RestApi');
      const [[stageId, stage]] = resources().filter(([, r]) => r.Type === 'AWS::ApiGateway::Stage');
      const refs = {
        [apiId]: 'a1b2c3d4e5',
        [stageId]: String(stage.Properties.StageName),
        'AWS::Region': 'us-east-1',
        'AWS::URLSuffix': 'localhost.localstack.cloud',
      };
      // Act
      const apiUrl = render(template.Outputs.ApiUrl.Value, refs);
      // Assess
      expect(apiUrl).toBe('https://a1b2c3d4e5.execute-api.us-east-1.localhost.localstack.cloud/prod/');
      expect(pathStyleApiUrl(apiUrl, 'http://localhost:4566')).toBe(
        'http://localhost:4566/_aws/execute-api/a1b2c3d4e5/prod/',
      );
    });

    it('deletes buckets (emptying them first) and tables with the stack (destroyOnRemoval=true)', () => {
      // Prepare
      const stateful = resources().filter(([, r]) =>
        ['AWS::S3::Bucket', 'AWS::DynamoDB::Table'].includes(r.Type),
      );
      const buckets = stateful.filter(([, r]) => r.Type === 'AWS::S3::Bucket').map(([id]) => id);
      const emptied = resources()
        .filter(([, r]) => r.Type === 'Custom::S3AutoDeleteObjects')
        .map(([, r]) => (r.Properties.BucketName as { Ref: string }).Ref);
      // Assess: the data and access-log buckets, the registry, runs and prediction-log tables
      expect(stateful).toHaveLength(5);
      for (const [id, resource] of stateful) expect(resource.DeletionPolicy, id).toBe('Delete');
      expect(emptied.sort()).toEqual(buckets.sort());
    });
  },
);
