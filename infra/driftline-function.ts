/**
 * The house defaults for every driftline Lambda, in one place (after Powertools' `FunctionWithLogGroup`):
 * Node.js 22 on arm64, an ESM bundle built by the local esbuild, its own log group and role, X-Ray, and
 * `bind*` methods that set a resource's environment variable and grant exactly the access asked for.
 */
import { type Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, type CfnFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { ESM_REQUIRE_BANNER } from './esm-banner.ts';
import { acknowledgeWildcardResource } from './nag.ts';
import { codeVersion, fromProjectRoot, projectRoot } from './project.ts';

/** Where the Lambda runtime unpacks the bundle. */
const TASK_ROOT = '/var/task';

/** A second entry point bundled next to `index.mjs`, e.g. a worker-thread script. */
export interface WorkerScript {
  /** Source file, relative to the repository root. */
  readonly entry: string;
  /** File name in the bundle, e.g. `forest-worker.mjs`. */
  readonly outFile: string;
  /** Environment variable that receives the script's absolute path in the running function. */
  readonly envName: string;
}

/** Files copied as they are next to the handler, e.g. static assets a handler serves. */
export interface CopiedFiles {
  /** Folder they come from, relative to the repository root. */
  readonly from: string;
  readonly files: readonly string[];
  /** Folder in the bundle they go to. */
  readonly to: string;
  /** Environment variable that receives the folder's absolute path in the running function. */
  readonly envName: string;
}

export interface DriftlineFunctionProps {
  /** The handler's folder under `lambdas/`; the entry is `lambdas/<name>/handler.ts`. */
  readonly name: string;
  /** Memory in MB; Lambda gives one full vCPU at 1769 MB and more above. */
  readonly memorySize: number;
  readonly timeout: Duration;
  /** Extra scripts bundled next to the handler. @default none */
  readonly workerScripts?: readonly WorkerScript[];
  /** Files copied next to the handler. @default none */
  readonly copiedFiles?: readonly CopiedFiles[];
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/** Prefix-scoped object access, as S3 key patterns such as `runs/*`. */
export interface BucketAccess {
  readonly read?: readonly string[];
  readonly write?: readonly string[];
  /** @default 'DATA_BUCKET' */
  readonly envName?: string;
}

/**
 * A DynamoDB item action a function may be granted on a table. Grants are explicit lists of these, never
 * the CDK's `grantReadData`/`grantReadWriteData` (which include `Scan`, `DeleteItem` and batch writes no
 * function needs).
 */
export type TableAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'Query'
  | 'Scan'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'BatchWriteItem'
  | 'ConditionCheckItem';

/**
 * The stack's one policy for sending traces, shared by every function role. X-Ray accepts no resource
 * ARNs, so it needs `Resource: *`; keeping that statement out of the roles' own policies lets cdk-nag
 * acknowledge this one wildcard alone, and still flag any other `*` granted to a function.
 */
function xrayWritePolicy(stack: Stack): ManagedPolicy {
  const id = 'DriftlineXRayWrite';
  const existing = stack.node.tryFindChild(id);
  if (existing instanceof ManagedPolicy) return existing;
  const policy = new ManagedPolicy(stack, id, {
    description: 'Lets driftline functions send X-Ray traces.',
    statements: [
      new PolicyStatement({
        actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
        resources: ['*'],
      }),
    ],
  });
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions.',
  });
  return policy;
}

/** A shell word, quoted for bash. */
function shellQuote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/** The esbuild options of the handler bundle, repeated for worker scripts so they behave the same. */
function workerBundleCommand(script: WorkerScript, inputDir: string, outputDir: string): string {
  const args = [
    '--bundle',
    `${inputDir}/${script.entry}`,
    '--platform=node',
    '--format=esm',
    '--target=node22',
    '--main-fields=module,main',
    '--minify',
    '--sourcemap',
    '--sources-content=false',
    `--banner:js=${ESM_REQUIRE_BANNER}`,
    `--outfile=${outputDir}/${script.outFile}`,
  ];
  return ['npx', '--no-install', 'esbuild', ...args.map(shellQuote)].join(' ');
}

/**
 * The V8 heap flags Lambda's Node.js runtime starts a function with, from its memory size: a young
 * generation of a tenth of the memory (so each semi-space a twentieth) and the rest for the old one (the
 * runtime's `bootstrap` script, `new_space=$(expr $AWS_LAMBDA_FUNCTION_MEMORY_SIZE / 10)`). Stated here so
 * the function is certain to get them and `bench:handler` can run under the same ones: how often a hot
 * handler collects garbage depends on the semi-space (Node's own default, 16 MB, collects about every 100
 * predict requests; the predict function's 88 MB about half as often, `bench/RESULTS.md`).
 */
export function lambdaHeapOptions(memoryMb: number): string {
  const youngMb = Math.floor(memoryMb / 10);
  return `--max-semi-space-size=${Math.floor(youngMb / 2)} --max-old-space-size=${memoryMb - youngMb}`;
}

/** Copies files into the bundle as they are. */
function copyCommand(copy: CopiedFiles, inputDir: string, outputDir: string): string {
  const target = `${outputDir}/${copy.to}`;
  const sources = copy.files.map((file) => shellQuote(`${inputDir}/${copy.from}/${file}`));
  return `mkdir -p ${shellQuote(target)} && cp ${sources.join(' ')} ${shellQuote(target)}/`;
}

/**
 * A Node.js 22 arm64 Lambda with driftline's defaults, bundled from `lambdas/<name>/handler.ts`.
 * @example
 * const predict = new DriftlineFunction(this, 'predict', { name: 'predict', memorySize: 1024, timeout: Duration.seconds(15) });
 * predict.bindBucket(bucket, { read: ['models/*'] }).bindTable(registry, ['GetItem'], 'REGISTRY_TABLE');
 */
export class DriftlineFunction extends NodejsFunction {
  /** The handler's folder name under `lambdas/`. */
  public readonly handlerName: string;
  /** The repository-relative entry file, also written to the template as `driftline:entry`. */
  public readonly entryFile: string;
  /** The function's own execution role. */
  public readonly executionRole: Role;

  constructor(scope: Construct, id: string, props: DriftlineFunctionProps) {
    const entryFile = `lambdas/${props.name}/handler.ts`;
    const workerScripts = props.workerScripts ?? [];
    const copiedFiles = props.copiedFiles ?? [];
    // A role of our own instead of AWSLambdaBasicExecutionRole: it may write to this function's log group only.
    const role = new Role(scope, `${id}Role`, { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    const logGroup = new LogGroup(scope, `${id}LogGroup`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    super(scope, id, {
      entry: fromProjectRoot(entryFile),
      handler: 'handler',
      projectRoot,
      depsLockFilePath: fromProjectRoot('package-lock.json'),
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role,
      logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'driftline',
        POWERTOOLS_METRICS_NAMESPACE: 'Driftline',
        CODE_VERSION: codeVersion(),
        NODE_OPTIONS: `--enable-source-maps ${lambdaHeapOptions(props.memorySize)}`,
        ...Object.fromEntries(
          workerScripts.map((script) => [script.envName, `${TASK_ROOT}/${script.outFile}`]),
        ),
        ...Object.fromEntries(copiedFiles.map((copy) => [copy.envName, `${TASK_ROOT}/${copy.to}`])),
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        // The AWS SDK bundled (tree-shaken to the commands a handler sends) instead of loaded from the
        // runtime's copy, which is CommonJS with every command of each client: importing the select
        // handler's minified bundle took 160-188 ms of CPU with the SDK bundled against 308-361 ms with it
        // external (Node 22, no code cache, as on Lambda; bench/RESULTS.md). The function then also runs
        // the SDK version the tests ran, as the local runtime does.
        externalModules: [],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        forceDockerBundling: false,
        commandHooks:
          workerScripts.length === 0 && copiedFiles.length === 0
            ? undefined
            : {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (inputDir, outputDir) => [
                  ...workerScripts.map((script) => workerBundleCommand(script, inputDir, outputDir)),
                  ...copiedFiles.map((copy) => copyCommand(copy, inputDir, outputDir)),
                ],
              },
      },
    });
    this.handlerName = props.name;
    this.entryFile = entryFile;
    this.executionRole = role;
    logGroup.grantWrite(role);
    const cfnFunction = this.node.defaultChild as CfnFunction;
    // Active tracing set on the resource, its permission in the shared policy (see xrayWritePolicy).
    cfnFunction.tracingConfig = { mode: Tracing.ACTIVE };
    role.addManagedPolicy(xrayWritePolicy(Stack.of(this)));

    // The local runtime reads these from the synthesized template to run the same source files.
    cfnFunction.addMetadata('driftline:entry', entryFile);
    cfnFunction.addMetadata('driftline:name', props.name);
    // Files that sit under /var/task on AWS are read from their sources locally: env var → repository path.
    if (workerScripts.length > 0 || copiedFiles.length > 0) {
      cfnFunction.addMetadata(
        'driftline:localPaths',
        Object.fromEntries([
          ...workerScripts.map((script) => [script.envName, script.entry]),
          ...copiedFiles.map((copy) => [copy.envName, copy.from]),
        ]),
      );
    }

    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is pinned on purpose: the project toolchain (node@22, type stripping) and the local runtime run the same major.',
    });
  }

  /**
   * Grants object reads under `read` and object writes under `write`, and sets the bucket name in
   * `envName`. Reads also get `s3:ListBucket` on the whole bucket: S3 answers a request for a missing key
   * with 404 NoSuchKey only to a principal that may list, and with 403 otherwise, so without it a handler
   * could not tell "not there yet" from "forbidden". Key names are all listing reveals.
   * @example fn.bindBucket(bucket, { read: ['incoming/*'], write: ['runs/*'] })
   */
  public bindBucket(bucket: IBucket, access: BucketAccess): this {
    const read = access.read ?? [];
    const write = access.write ?? [];
    this.addEnvironment(access.envName ?? 'DATA_BUCKET', bucket.bucketName);
    if (read.length > 0) {
      this.addToRolePolicy(
        new PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }),
      );
      this.addToRolePolicy(
        new PolicyStatement({
          actions: ['s3:GetObject', 's3:GetObjectVersion'],
          resources: read.map((pattern) => bucket.arnForObjects(pattern)),
        }),
      );
    }
    if (write.length > 0) {
      this.addToRolePolicy(
        new PolicyStatement({
          actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
          resources: write.map((pattern) => bucket.arnForObjects(pattern)),
        }),
      );
    }
    for (const pattern of new Set([...read, ...write])) {
      acknowledgeWildcardResource(
        this.executionRole,
        bucket.arnForObjects(pattern),
        `Object access is scoped to the key prefix ${pattern} this function owns or consumes.`,
      );
    }
    return this;
  }

  /**
   * Grants exactly `actions` on `table` (nothing implied) and sets its name in `envName`.
   * @example fn.bindTable(registry.table, ['GetItem', 'Query'], 'REGISTRY_TABLE')
   */
  public bindTable(table: ITable, actions: readonly [TableAction, ...TableAction[]], envName: string): this {
    this.addEnvironment(envName, table.tableName);
    table.grant(this, ...actions.map((action) => `dynamodb:${action}`));
    return this;
  }

  /**
   * Grants `sns:Publish` on `topic` and sets its ARN in `envName`.
   * @example fn.bindTopic(alerts, 'ALERTS_TOPIC_ARN')
   */
  public bindTopic(topic: ITopic, envName: string): this {
    this.addEnvironment(envName, topic.topicArn);
    topic.grantPublish(this);
    return this;
  }
}
