/**
 * The local runtime's view of the architecture, read from the synthesized CDK template — never a second,
 * hand-written copy. The CDK app is synthesized in-process without bundling (the runtime runs the handler
 * sources), or a fresh `cdk.out` is reused; the template is then resolved for the local deployment into
 * functions, buckets, tables, the state machine, rules, API routes, alarms, topics and outputs.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { App } from 'aws-cdk-lib';
import type { EventPattern, EventRule, RuleTarget } from './eventbridge.ts';
import { type ExecutionRole, readExecutionRole } from './iam.ts';
import {
  type CfnResource,
  type CfnTemplate,
  IntrinsicError,
  type LocalDeployment,
  TemplateResolver,
} from './intrinsics.ts';

/** The repository root (where `package.json` and `cdk.json` are). */
export const repoRoot: string = fileURLToPath(new URL('../', import.meta.url));

/** A template the runtime cannot run: a missing handler file, an unsupported construct, … */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

// --- loading --------------------------------------------------------------------------------------

/** Adds the stack(s) to a fresh CDK App. */
export type AppBuilder = (app: App) => void | Promise<void>;

/** One stack of a cloud assembly. */
export interface SynthesizedStack {
  stackName: string;
  artifactId: string;
  template: CfnTemplate;
  /** The cloud assembly folder the stack was read from. */
  outdir: string;
  /** The text of the stack's JSON file assets (e.g. a state machine definition), by S3 object key. */
  fileAssets: Record<string, string>;
}

/** Options of {@link loadStack}. */
export interface LoadStackOptions {
  /** Where the cloud assembly is written (and reused from). */
  readonly outdir: string;
  /** Builds the app. @default {@link buildDriftlineApp} */
  readonly build?: AppBuilder;
  /** Names the builder, so a `cdk.out` written by another builder is never reused. @default 'driftline' */
  readonly buildId?: string;
  /**
   * Files and folders whose changes make a `cdk.out` stale.
   * @default infra/, lambdas/, statemachines/, the specs folder, cdk.json, package.json
   */
  readonly sources?: readonly string[];
  /** CDK context on top of `cdk.json`'s. */
  readonly context?: Record<string, unknown>;
  /** The stack to run when the app has several. @default the only one */
  readonly stackName?: string;
  /** Synthesize even when `cdk.out` is fresh. @default false */
  readonly force?: boolean;
}

const STAMP_FILE = 'driftline-local.json';

function cdkJsonContext(): Record<string, unknown> {
  const path = join(repoRoot, 'cdk.json');
  if (!existsSync(path)) return {};
  return (JSON.parse(readFileSync(path, 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
}

/** Newest modification time under `paths` (files, or folders walked recursively; dot folders skipped). */
function newestMtime(paths: readonly string[]): number {
  let newest = 0;
  const visit = (path: string) => {
    if (!existsSync(path)) return;
    const stat = statSync(path);
    newest = Math.max(newest, stat.mtimeMs);
    if (!stat.isDirectory()) return;
    for (const entry of readdirSync(path)) {
      if (!entry.startsWith('.') && entry !== 'node_modules') visit(join(path, entry));
    }
  };
  paths.forEach(visit);
  return newest;
}

/**
 * The driftline app as `infra/app.ts` builds it (stack name, settings and model specs from context),
 * without the cdk-nag validation plugin: the local runtime needs the template, not the audit.
 */
export async function buildDriftlineApp(app: App): Promise<void> {
  const [{ DriftlineStack }, { readSettings }, { loadModelSpecs }, { fromProjectRoot }] = await Promise.all([
    import('../infra/driftline-stack.ts'),
    import('../infra/settings.ts'),
    import('../infra/model-specs.ts'),
    import('../infra/project.ts'),
  ]);
  const settings = readSettings(app.node);
  new DriftlineStack(app, settings.stackName, {
    destroyOnRemoval: settings.destroyOnRemoval,
    apiKeyRequired: settings.apiKeyRequired,
    feedbackAuth: settings.feedbackAuth,
    modelSpecs: loadModelSpecs(fromProjectRoot(settings.specsDir)),
  });
}

/**
 * Synthesizes the app in-process with bundling skipped for every stack, into a staging folder that then
 * replaces `outdir` — unless another process wrote an equally fresh one meanwhile, which is kept.
 * @returns the stack named `stackName`, or the only stack.
 */
export async function synthesize(options: LoadStackOptions): Promise<SynthesizedStack> {
  const { App } = await import('aws-cdk-lib');
  const staging = `${options.outdir}.synth-${process.pid}-${randomUUID().slice(0, 8)}`;
  mkdirSync(staging, { recursive: true });
  const began = Date.now();
  try {
    const context = { ...cdkJsonContext(), ...options.context, 'aws:cdk:bundling-stacks': [] };
    const app = new App({ outdir: staging, context, analyticsReporting: false });
    await (options.build ?? buildDriftlineApp)(app);
    app.synth();
    writeFileSync(join(staging, STAMP_FILE), JSON.stringify(stampOf(options)));
    // Only an assembly stamped after this synthesis began is as fresh as ours; an older one is stale.
    const fresher =
      sameStamp(options.outdir, options) && statSync(join(options.outdir, STAMP_FILE)).mtimeMs >= began;
    if (!fresher) {
      rmSync(options.outdir, { recursive: true, force: true });
      renameSync(staging, options.outdir);
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return readCloudAssembly(options.outdir, options.stackName);
}

function stampOf(options: LoadStackOptions): { buildId: string; context: string } {
  return { buildId: options.buildId ?? 'driftline', context: contextHash(options) };
}

/** Whether `outdir` holds an assembly written by the same builder with the same context. */
function sameStamp(outdir: string, options: LoadStackOptions): boolean {
  const path = join(outdir, STAMP_FILE);
  if (!existsSync(path) || !existsSync(join(outdir, 'manifest.json'))) return false;
  const stamp = JSON.parse(readFileSync(path, 'utf8')) as { buildId?: string; context?: string };
  const expected = stampOf(options);
  return stamp.buildId === expected.buildId && stamp.context === expected.context;
}

function contextHash(options: LoadStackOptions): string {
  return createHash('sha256')
    .update(JSON.stringify({ ...cdkJsonContext(), ...options.context }))
    .digest('hex');
}

/**
 * The stack from `options.outdir` when that cloud assembly is newer than every source and was built by the
 * same builder with the same context; otherwise a fresh synthesis.
 */
export async function loadStack(options: LoadStackOptions): Promise<SynthesizedStack & { reused: boolean }> {
  if (!options.force && sameStamp(options.outdir, options)) {
    const specsDir = String(cdkJsonContext().specsDir ?? 'data/specs');
    const sources = options.sources ?? [
      ...['infra', 'lambdas', 'statemachines', 'cdk.json', 'package.json'].map((p) => join(repoRoot, p)),
      isAbsolute(specsDir) ? specsDir : join(repoRoot, specsDir),
    ];
    if (statSync(join(options.outdir, STAMP_FILE)).mtimeMs > newestMtime(sources)) {
      return { ...readCloudAssembly(options.outdir, options.stackName), reused: true };
    }
  }
  return { ...(await synthesize(options)), reused: false };
}

interface AssemblyManifest {
  artifacts?: Record<
    string,
    { type: string; displayName?: string; properties?: { templateFile?: string; stackName?: string } }
  >;
}

/**
 * Reads a stack's template from a cloud assembly folder (`cdk.out`).
 * @throws {TemplateError} when there is no such stack, or several and no name was given.
 */
export function readCloudAssembly(outdir: string, stackName?: string): SynthesizedStack {
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as AssemblyManifest;
  const stacks = Object.entries(manifest.artifacts ?? {})
    .filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack')
    .map(([artifactId, artifact]) => ({
      artifactId,
      stackName: artifact.properties?.stackName ?? artifact.displayName ?? artifactId,
      templateFile: artifact.properties?.templateFile ?? `${artifactId}.template.json`,
    }));
  const chosen = stackName === undefined ? stacks : stacks.filter((s) => s.stackName === stackName);
  if (chosen.length !== 1) {
    const names = stacks.map((s) => s.stackName).join(', ') || 'none';
    throw new TemplateError(
      stackName === undefined
        ? `the app has ${stacks.length} stacks (${names}); say which to run`
        : `the app has no stack "${stackName}" (stacks: ${names})`,
    );
  }
  const [stack] = chosen;
  return {
    stackName: stack.stackName,
    artifactId: stack.artifactId,
    template: JSON.parse(readFileSync(join(outdir, stack.templateFile), 'utf8')) as CfnTemplate,
    outdir,
    fileAssets: readJsonAssets(outdir, stack.artifactId),
  };
}

/**
 * The stack's JSON file assets by object key, read at once so nothing is read from `outdir` later (another
 * process may replace it).
 */
function readJsonAssets(outdir: string, artifactId: string): Record<string, string> {
  const manifestPath = join(outdir, `${artifactId}.assets.json`);
  if (!existsSync(manifestPath)) return {};
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    files?: Record<
      string,
      { source: { path?: string }; destinations: Record<string, { objectKey: string }> }
    >;
  };
  const assets: Record<string, string> = {};
  for (const file of Object.values(manifest.files ?? {})) {
    const path = file.source.path;
    if (!path?.startsWith('asset.') || !path.endsWith('.json')) continue;
    const text = readFileSync(resolve(outdir, path), 'utf8');
    for (const destination of Object.values(file.destinations)) assets[destination.objectKey] = text;
  }
  return assets;
}

// --- the local model ------------------------------------------------------------------------------

/** A Lambda function the runtime can run: its source entry and configuration. */
export interface LocalFunction {
  logicalId: string;
  /** Physical name (`<stack>-<logicalId>`, or the template's FunctionName). */
  name: string;
  /** `driftline:name`, e.g. `predict`; the logical id when absent. */
  shortName: string;
  arn: string;
  /** Absolute path of the handler source. */
  entry: string;
  /**
   * The module a container loads, when not the source entry: the function's bundle (`local/bundle.ts`).
   * On AWS it sits in `LAMBDA_TASK_ROOT`.
   */
  code?: string;
  /**
   * Scripts bundled next to the handler on AWS (worker threads it starts), by the environment variable
   * that names them: absolute source paths, replaced by their bundles when the function is bundled.
   */
  scripts?: Record<string, string>;
  /** The exported handler function's name. */
  handler: string;
  environment: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
  /** The event to invoke it with once the runtime has started (`driftline:invokeOnStart`), if any. */
  invokeOnStart?: unknown;
  /** Its execution role: what its calls to AWS may do. */
  role: ExecutionRole;
}

export interface LocalBucket {
  logicalId: string;
  name: string;
  arn: string;
  /** S3 sends its object events to EventBridge. */
  eventBridge: boolean;
  versioned: boolean;
}

/** A table, with the key schema in the DynamoDB API's own shape (ready for `CreateTable`). */
export interface LocalTable {
  logicalId: string;
  name: string;
  arn: string;
  keySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
  attributeDefinitions: { AttributeName: string; AttributeType: 'S' | 'N' | 'B' }[];
  globalSecondaryIndexes: { IndexName: string; KeySchema: LocalTable['keySchema']; Projection: unknown }[];
  localSecondaryIndexes: { IndexName: string; KeySchema: LocalTable['keySchema']; Projection: unknown }[];
  ttlAttribute?: string;
}

export interface LocalStateMachine {
  logicalId: string;
  name: string;
  arn: string;
  /** Short label for console lines (`pipeline` when the stack has one machine). */
  label: string;
  /** The ASL definition with substitutions applied and references resolved. */
  definition: Record<string, unknown>;
}

/** What answers a route. */
export type RouteIntegration =
  | {
      type: 'lambda';
      functionArn: string;
      /** The integration's `TimeoutInMillis` (API Gateway's default, 29 s, when absent). */
      timeoutMs?: number;
    }
  | { type: 'mock'; statusCode: number; headers: Record<string, string>; body: string }
  | { type: 'unsupported'; description: string };

export interface LocalRoute {
  /** Resource path template, e.g. `/models/{name}/predict` or `/files/{proxy+}`. */
  path: string;
  /** HTTP method or `ANY`. */
  method: string;
  integration: RouteIntegration;
  apiKeyRequired: boolean;
  /** `NONE`, or `AWS_IAM` (a SigV4 signature for `execute-api` is required). */
  authorizationType: string;
  /** `method.request.path.name`-style parameters API Gateway checks before integrating. */
  requiredParameters: string[];
  /** JSON schema API Gateway validates `application/json` bodies against. */
  bodySchema?: Record<string, unknown>;
}

export interface LocalApi {
  logicalId: string;
  id: string;
  name: string;
  stage: string;
  /** Content types passed to functions base64-encoded (CloudFormation's `~1` decoded to a slash). */
  binaryMediaTypes: string[];
  /** Keys accepted in `x-api-key` (the template's values, or a local one per key resource). */
  apiKeys: string[];
  /** Gateway responses by type (`BAD_REQUEST_BODY`, …). */
  gatewayResponses: Record<string, { statusCode?: number; templates: Record<string, string> }>;
  routes: LocalRoute[];
}

/** A CloudWatch alarm, references resolved (evaluated by the monitoring part of the runtime). */
export interface LocalAlarm {
  logicalId: string;
  name: string;
  arn: string;
  namespace?: string;
  metricName?: string;
  dimensions: Record<string, string>;
  statistic?: string;
  extendedStatistic?: string;
  periodSeconds?: number;
  evaluationPeriods: number;
  datapointsToAlarm?: number;
  threshold?: number;
  comparisonOperator: string;
  treatMissingData?: string;
  /** Metric-math queries, as in the template. */
  metrics?: unknown[];
  actionsEnabled: boolean;
  alarmActions: string[];
  okActions: string[];
  insufficientDataActions: string[];
}

export interface LocalTopic {
  logicalId: string;
  name: string;
  arn: string;
  subscriptions: { protocol: string; endpoint: string }[];
}

/** Everything the runtime needs from one stack, resolved for the local deployment. */
export interface LocalStack {
  stackName: string;
  region: string;
  account: string;
  functions: LocalFunction[];
  /** Functions without `driftline:entry` (CDK's own custom-resource handlers): not run locally. */
  skippedFunctions: { logicalId: string; reason: string }[];
  buckets: LocalBucket[];
  tables: LocalTable[];
  stateMachines: LocalStateMachine[];
  rules: EventRule[];
  apis: LocalApi[];
  alarms: LocalAlarm[];
  topics: LocalTopic[];
  /** The stack's Outputs, resolved to local values. */
  outputs: Record<string, string>;
  /** What the runtime skipped or could not resolve, for the startup log. */
  warnings: string[];
}

/** Options of {@link readLocalStack}. */
export interface ReadStackOptions {
  /** Folder `driftline:entry` paths are relative to. @default the repository root */
  readonly root?: string;
  /**
   * The value of API keys whose template leaves it to CloudFormation to generate (the runtime's
   * per-install key). @default `local-<key id>`
   */
  readonly apiKeyValue?: string;
}

const LOGICAL_ID_HASH = /[0-9A-F]{8}$/;

function resourcesOf(resolver: TemplateResolver, type: string): [string, CfnResource][] {
  return Object.entries(resolver.template.Resources).filter(
    ([id, resource]) => resource.Type === type && resolver.isDeployed(id),
  );
}

function props(resolver: TemplateResolver, logicalId: string): Record<string, unknown> {
  const resource = resolver.template.Resources[logicalId];
  return (resolver.resolve(resource.Properties ?? {}, logicalId) ?? {}) as Record<string, unknown>;
}

function asStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

function readFunctions(resolver: TemplateResolver, root: string, warnings: string[]) {
  const functions: LocalFunction[] = [];
  const skipped: LocalStack['skippedFunctions'] = [];
  for (const [logicalId, resource] of resourcesOf(resolver, 'AWS::Lambda::Function')) {
    const entryPath = resource.Metadata?.['driftline:entry'];
    if (typeof entryPath !== 'string') {
      skipped.push({ logicalId, reason: 'no driftline:entry metadata (a CDK-internal or inline function)' });
      continue;
    }
    const p = props(resolver, logicalId);
    const entry = resolve(root, entryPath);
    if (!existsSync(entry)) {
      throw new TemplateError(`function ${logicalId}: its entry ${entryPath} does not exist under ${root}`);
    }
    const handler = String(p.Handler ?? 'index.handler');
    const environment = Object.fromEntries(
      Object.entries(
        ((p.Environment as { Variables?: Record<string, unknown> })?.Variables ?? {}) as object,
      ).map(([key, value]) => [key, String(value)]),
    );
    // Files bundled next to the handler on AWS (paths under /var/task) are read from their sources locally.
    // Of those, TypeScript files are scripts (worker threads) the local bundler builds like the handler.
    const workers = resource.Metadata?.['driftline:localPaths'];
    const scripts: Record<string, string> = {};
    if (typeof workers === 'object' && workers !== null) {
      for (const [envName, source] of Object.entries(workers)) {
        environment[envName] = resolve(root, String(source));
        if (/\.[cm]?ts$/.test(environment[envName])) scripts[envName] = environment[envName];
      }
    }
    if (p.Runtime !== undefined && !String(p.Runtime).startsWith('nodejs')) {
      warnings.push(
        `function ${logicalId} runs ${String(p.Runtime)} on AWS; locally it runs on this Node.js`,
      );
    }
    functions.push({
      logicalId,
      name: resolver.physicalName(logicalId),
      shortName: String(resource.Metadata?.['driftline:name'] ?? logicalId),
      arn: resolver.getAtt(logicalId, 'Arn'),
      entry,
      ...(Object.keys(scripts).length > 0 ? { scripts } : {}),
      handler: handler.slice(handler.lastIndexOf('.') + 1),
      environment,
      timeoutSeconds: Number(p.Timeout ?? 3),
      memoryMb: Number(p.MemorySize ?? 128),
      invokeOnStart: resource.Metadata?.['driftline:invokeOnStart'],
      role: readExecutionRole(resolver, logicalId),
    });
  }
  return { functions, skipped };
}

function readBuckets(resolver: TemplateResolver): LocalBucket[] {
  const bucketOfNotification = new Map<string, boolean>();
  for (const [id] of resourcesOf(resolver, 'Custom::S3BucketNotifications')) {
    const p = props(resolver, id);
    const configuration = p.NotificationConfiguration as Record<string, unknown> | undefined;
    if (configuration?.EventBridgeConfiguration !== undefined)
      bucketOfNotification.set(String(p.BucketName), true);
  }
  return resourcesOf(resolver, 'AWS::S3::Bucket').map(([logicalId]) => {
    const p = props(resolver, logicalId);
    const name = resolver.physicalName(logicalId);
    const native = (
      p.NotificationConfiguration as { EventBridgeConfiguration?: { EventBridgeEnabled?: unknown } }
    )?.EventBridgeConfiguration?.EventBridgeEnabled;
    return {
      logicalId,
      name,
      arn: `arn:aws:s3:::${name}`,
      eventBridge: bucketOfNotification.get(name) === true || native === true || native === 'true',
      versioned: (p.VersioningConfiguration as { Status?: string })?.Status === 'Enabled',
    };
  });
}

function readTables(resolver: TemplateResolver): LocalTable[] {
  const types = ['AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable'];
  return types.flatMap((type) =>
    resourcesOf(resolver, type).map(([logicalId]) => {
      const p = props(resolver, logicalId);
      const index = (raw: unknown) =>
        ((raw as Record<string, unknown>[] | undefined) ?? []).map((i) => ({
          IndexName: String(i.IndexName),
          KeySchema: i.KeySchema as LocalTable['keySchema'],
          Projection: i.Projection,
        }));
      const ttl = p.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
      const name = resolver.physicalName(logicalId);
      return {
        logicalId,
        name,
        arn: resolver.getAtt(logicalId, 'Arn'),
        keySchema: p.KeySchema as LocalTable['keySchema'],
        attributeDefinitions: p.AttributeDefinitions as LocalTable['attributeDefinitions'],
        globalSecondaryIndexes: index(p.GlobalSecondaryIndexes),
        localSecondaryIndexes: index(p.LocalSecondaryIndexes),
        ...(ttl?.Enabled && ttl.AttributeName ? { ttlAttribute: ttl.AttributeName } : {}),
      };
    }),
  );
}

function readStateMachines(resolver: TemplateResolver, stack: SynthesizedStack): LocalStateMachine[] {
  const machines = resourcesOf(resolver, 'AWS::StepFunctions::StateMachine');
  return machines.map(([logicalId]) => {
    const p = props(resolver, logicalId);
    let text: string;
    if (typeof p.DefinitionString === 'string') text = p.DefinitionString;
    else if (p.Definition !== undefined) text = JSON.stringify(p.Definition);
    else if (p.DefinitionS3Location !== undefined) {
      const key = String((p.DefinitionS3Location as { Key: unknown }).Key);
      const asset = stack.fileAssets[key];
      if (asset === undefined)
        throw new TemplateError(`state machine ${logicalId}: no file asset with key ${key}`);
      text = asset;
    } else throw new TemplateError(`state machine ${logicalId} has no definition`);
    // CloudFormation fills `${name}` placeholders from DefinitionSubstitutions at deploy time.
    const substitutions = (p.DefinitionSubstitutions ?? {}) as Record<string, unknown>;
    const substituted = text.replace(/\$\{([^}]+)\}/g, (placeholder, name: string) =>
      Object.hasOwn(substitutions, name) ? String(substitutions[name]) : placeholder,
    );
    const unfilled = /\$\{([^}]+)\}/.exec(substituted);
    if (unfilled)
      throw new TemplateError(`state machine ${logicalId}: no substitution for \${${unfilled[1]}}`);
    const label = machines.length === 1 ? 'pipeline' : logicalId.replace(LOGICAL_ID_HASH, '').toLowerCase();
    return {
      logicalId,
      name: resolver.physicalName(logicalId),
      arn: resolver.ref(logicalId),
      label,
      definition: JSON.parse(substituted) as Record<string, unknown>,
    };
  });
}

function readRules(resolver: TemplateResolver, warnings: string[]): EventRule[] {
  return resourcesOf(resolver, 'AWS::Events::Rule').flatMap(([logicalId]) => {
    const p = props(resolver, logicalId);
    if (p.EventBusName !== undefined && p.EventBusName !== 'default') {
      warnings.push(
        `rule ${logicalId} is on bus ${String(p.EventBusName)}; only the default bus runs locally`,
      );
      return [];
    }
    const targets = ((p.Targets as Record<string, unknown>[] | undefined) ?? []).map((t): RuleTarget => {
      const transformer = t.InputTransformer as
        | { InputPathsMap?: Record<string, string>; InputTemplate: string }
        | undefined;
      return {
        id: String(t.Id),
        arn: String(t.Arn),
        ...(t.Input === undefined ? {} : { input: String(t.Input) }),
        ...(t.InputPath === undefined ? {} : { inputPath: String(t.InputPath) }),
        ...(transformer
          ? {
              inputTransformer: {
                inputPathsMap: transformer.InputPathsMap,
                inputTemplate: transformer.InputTemplate,
              },
            }
          : {}),
      };
    });
    const pattern = typeof p.EventPattern === 'string' ? JSON.parse(p.EventPattern) : p.EventPattern;
    const name = resolver.physicalName(logicalId);
    return [
      {
        name,
        arn: resolver.getAtt(logicalId, 'Arn'),
        logicalId,
        ...(pattern === undefined ? {} : { eventPattern: pattern as EventPattern }),
        ...(p.ScheduleExpression === undefined ? {} : { scheduleExpression: String(p.ScheduleExpression) }),
        enabled: (p.State ?? 'ENABLED') === 'ENABLED',
        targets,
      },
    ];
  });
}

function integrationOf(method: Record<string, unknown>): RouteIntegration {
  const integration = (method.Integration ?? {}) as Record<string, unknown>;
  const type = String(integration.Type ?? 'MOCK');
  if (type === 'AWS_PROXY') {
    const match = /:lambda:path\/2015-03-31\/functions\/(.+)\/invocations$/.exec(String(integration.Uri));
    if (match) {
      const timeoutMs =
        integration.TimeoutInMillis === undefined ? undefined : Number(integration.TimeoutInMillis);
      return { type: 'lambda', functionArn: match[1], ...(timeoutMs === undefined ? {} : { timeoutMs }) };
    }
    return { type: 'unsupported', description: `AWS_PROXY to ${String(integration.Uri)}` };
  }
  if (type === 'MOCK') {
    const response =
      ((integration.IntegrationResponses as Record<string, unknown>[] | undefined) ?? [])[0] ?? {};
    const headers = Object.fromEntries(
      Object.entries((response.ResponseParameters ?? {}) as Record<string, string>)
        .filter(([key]) => key.startsWith('method.response.header.'))
        .map(([key, value]) => [
          key.slice('method.response.header.'.length),
          value.replace(/^'(.*)'$/s, '$1'),
        ]),
    );
    const templates = (response.ResponseTemplates ?? {}) as Record<string, string>;
    return {
      type: 'mock',
      statusCode: Number(response.StatusCode ?? 200),
      headers,
      body: templates['application/json'] ?? '',
    };
  }
  return { type: 'unsupported', description: `${type} integration` };
}

function readApis(resolver: TemplateResolver, warnings: string[], apiKeyValue?: string): LocalApi[] {
  const byApi = <T>(
    type: string,
    apiLogicalId: string,
    map: (id: string, p: Record<string, unknown>) => T,
  ): T[] =>
    resourcesOf(resolver, type).flatMap(([id]) => {
      const p = props(resolver, id);
      return p.RestApiId === resolver.ref(apiLogicalId) ? [map(id, p)] : [];
    });
  return resourcesOf(resolver, 'AWS::ApiGateway::RestApi').map(([logicalId]) => {
    const api = props(resolver, logicalId);
    if (api.Body !== undefined || api.BodyS3Location !== undefined) {
      warnings.push(
        `API ${logicalId} is defined by an OpenAPI body; only its CloudFormation resources run locally`,
      );
    }
    const rootId = resolver.getAtt(logicalId, 'RootResourceId');
    const parents = new Map<string, { parent: string; part: string }>(
      byApi('AWS::ApiGateway::Resource', logicalId, (id, p) => [
        resolver.ref(id),
        { parent: String(p.ParentId), part: String(p.PathPart) },
      ]),
    );
    const pathOf = (resourceId: string): string => {
      if (resourceId === rootId) return '/';
      const node = parents.get(resourceId);
      if (!node) throw new TemplateError(`API ${logicalId}: resource ${resourceId} is not in the template`);
      const parentPath = pathOf(node.parent);
      return `${parentPath === '/' ? '' : parentPath}/${node.part}`;
    };
    const schemas = new Map(
      byApi('AWS::ApiGateway::Model', logicalId, (id, p) => [
        resolver.ref(id),
        p.Schema as Record<string, unknown>,
      ]),
    );
    const validators = new Map(
      byApi('AWS::ApiGateway::RequestValidator', logicalId, (id, p) => [
        resolver.ref(id),
        { body: p.ValidateRequestBody === true, parameters: p.ValidateRequestParameters === true },
      ]),
    );
    const routes = byApi('AWS::ApiGateway::Method', logicalId, (_, p): LocalRoute => {
      const validator =
        p.RequestValidatorId === undefined ? undefined : validators.get(String(p.RequestValidatorId));
      const requestModel = (p.RequestModels as Record<string, string> | undefined)?.['application/json'];
      const parameters = (p.RequestParameters ?? {}) as Record<string, boolean>;
      return {
        path: pathOf(String(p.ResourceId)),
        method: String(p.HttpMethod).toUpperCase(),
        integration: integrationOf(p),
        apiKeyRequired: p.ApiKeyRequired === true,
        authorizationType: String(p.AuthorizationType ?? 'NONE'),
        requiredParameters: validator?.parameters
          ? Object.entries(parameters)
              .filter(([, required]) => required)
              .map(([name]) => name)
          : [],
        ...(validator?.body && requestModel && schemas.has(requestModel)
          ? { bodySchema: schemas.get(requestModel) }
          : {}),
      };
    });
    const stage =
      byApi('AWS::ApiGateway::Stage', logicalId, (_, p) => String(p.StageName))[0] ??
      byApi('AWS::ApiGateway::Deployment', logicalId, (_, p) => p.StageName).find((s) => s !== undefined) ??
      'prod';
    const gatewayResponses = Object.fromEntries(
      byApi('AWS::ApiGateway::GatewayResponse', logicalId, (_, p) => [
        String(p.ResponseType),
        {
          ...(p.StatusCode === undefined ? {} : { statusCode: Number(p.StatusCode) }),
          templates: (p.ResponseTemplates ?? {}) as Record<string, string>,
        },
      ]),
    );
    const apiKeys = resourcesOf(resolver, 'AWS::ApiGateway::ApiKey').map(([id]) => {
      const value = props(resolver, id).Value;
      return value === undefined ? (apiKeyValue ?? `local-${resolver.ref(id)}`) : String(value);
    });
    return {
      logicalId,
      id: resolver.ref(logicalId),
      name: String(api.Name ?? logicalId),
      stage: String(stage),
      binaryMediaTypes: asStrings(api.BinaryMediaTypes).map((type) => type.replaceAll('~1', '/')),
      apiKeys,
      gatewayResponses,
      routes,
    };
  });
}

function readAlarms(resolver: TemplateResolver): LocalAlarm[] {
  return resourcesOf(resolver, 'AWS::CloudWatch::Alarm').map(([logicalId]) => {
    const p = props(resolver, logicalId);
    const number = (value: unknown) => (value === undefined ? undefined : Number(value));
    const optional = <K extends string, V>(key: K, value: V | undefined) =>
      (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;
    return {
      logicalId,
      name: resolver.physicalName(logicalId),
      arn: resolver.getAtt(logicalId, 'Arn'),
      ...optional('namespace', p.Namespace as string | undefined),
      ...optional('metricName', p.MetricName as string | undefined),
      dimensions: Object.fromEntries(
        ((p.Dimensions as { Name: string; Value: unknown }[] | undefined) ?? []).map((d) => [
          d.Name,
          String(d.Value),
        ]),
      ),
      ...optional('statistic', p.Statistic as string | undefined),
      ...optional('extendedStatistic', p.ExtendedStatistic as string | undefined),
      ...optional('periodSeconds', number(p.Period)),
      evaluationPeriods: Number(p.EvaluationPeriods ?? 1),
      ...optional('datapointsToAlarm', number(p.DatapointsToAlarm)),
      ...optional('threshold', number(p.Threshold)),
      comparisonOperator: String(p.ComparisonOperator),
      ...optional('treatMissingData', p.TreatMissingData as string | undefined),
      ...optional('metrics', p.Metrics as unknown[] | undefined),
      actionsEnabled: p.ActionsEnabled !== false,
      alarmActions: asStrings(p.AlarmActions),
      okActions: asStrings(p.OKActions),
      insufficientDataActions: asStrings(p.InsufficientDataActions),
    };
  });
}

function readTopics(resolver: TemplateResolver): LocalTopic[] {
  const topics = resourcesOf(resolver, 'AWS::SNS::Topic').map(([logicalId]): LocalTopic => {
    const p = props(resolver, logicalId);
    return {
      logicalId,
      name: resolver.physicalName(logicalId),
      arn: resolver.ref(logicalId),
      subscriptions: ((p.Subscription as { Protocol: string; Endpoint: string }[] | undefined) ?? []).map(
        (s) => ({
          protocol: s.Protocol,
          endpoint: s.Endpoint,
        }),
      ),
    };
  });
  for (const [id] of resourcesOf(resolver, 'AWS::SNS::Subscription')) {
    const p = props(resolver, id);
    topics
      .find((topic) => topic.arn === p.TopicArn)
      ?.subscriptions.push({ protocol: String(p.Protocol), endpoint: String(p.Endpoint) });
  }
  return topics;
}

function readOutputs(resolver: TemplateResolver, warnings: string[]): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const [key, output] of Object.entries(resolver.template.Outputs ?? {})) {
    if (output.Condition !== undefined && !resolver.holds(output.Condition)) continue;
    try {
      const value = resolver.resolve(output.Value, `output ${key}`);
      outputs[key] = Array.isArray(value) ? value.join(',') : String(value);
    } catch (error) {
      if (!(error instanceof IntrinsicError)) throw error;
      warnings.push(`output ${key} skipped: ${error.message}`);
    }
  }
  return outputs;
}

/**
 * The stack as the local runtime runs it: every reference resolved for `deployment`.
 * @throws {TemplateError} for a function whose entry file is missing, or a definition that cannot be read.
 * @throws {PolicyError} for an execution role whose policy the local runtime cannot evaluate.
 * @throws {IntrinsicError} for a reference the local runtime cannot resolve in a part it runs.
 */
export function readLocalStack(
  stack: SynthesizedStack,
  deployment: Omit<LocalDeployment, 'stackName'> & { stackName?: string },
  options: ReadStackOptions = {},
): LocalStack {
  const resolver = new TemplateResolver(stack.template, {
    ...deployment,
    stackName: deployment.stackName ?? stack.stackName,
  });
  const warnings: string[] = [];
  const { functions, skipped } = readFunctions(resolver, options.root ?? repoRoot, warnings);
  for (const fn of functions) warnings.push(...fn.role.notes);
  const tables = readTables(resolver);
  for (const table of tables) {
    if (table.ttlAttribute)
      warnings.push(`table ${table.logicalId}: TTL on ${table.ttlAttribute} is not enforced locally`);
  }
  return {
    stackName: resolver.stackName,
    region: resolver.region,
    account: resolver.account,
    functions,
    skippedFunctions: skipped,
    buckets: readBuckets(resolver),
    tables,
    stateMachines: readStateMachines(resolver, stack),
    rules: readRules(resolver, warnings),
    apis: readApis(resolver, warnings, options.apiKeyValue),
    alarms: readAlarms(resolver),
    topics: readTopics(resolver),
    outputs: readOutputs(resolver, warnings),
    warnings,
  };
}
