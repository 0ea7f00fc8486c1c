/**
 * The embedded local runtime: the stack synthesized from `infra/`, run on one machine with no AWS account
 * and no Docker. S3 (s3rver) and DynamoDB (dynalite) persist under `$DRIFTLINE_HOME`; the handlers run in
 * worker-thread containers; the state machine runs on `aws-local-stepfunctions`; EventBridge, the REST API
 * and the Lambda/SNS APIs are served by this process. `<home>/runtime.json` tells the CLI where it all is.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, paginateListTables } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadObjectCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { AlarmEvaluator, type AlarmStateValue, type AlarmStatus, type AlarmTransition } from './alarms.ts';
import { bundleContainerBootstrap, bundleFunctions } from './bundle.ts';
import { createActiveTable, type Emulator, type S3Emulator, startDynamo, startS3 } from './emulators.ts';
import {
  EventBus,
  type PutEventInput,
  type PutEventResult,
  type S3NotificationRecord,
  s3RecordToEvent,
} from './eventbridge.ts';
import { FunctionHost, type InvokeResult, payloadOf } from './functions.ts';
import { AWS_PREFIX, HttpFrontDoor } from './http.ts';
import { AccessControl, functionCredentials } from './iam.ts';
import { LOCAL_ACCOUNT } from './intrinsics.ts';
import { consoleSink, formatDuration, type LogSink } from './log.ts';
import { MetricStore } from './metrics.ts';
import type { SigningCredentials } from './sigv4.ts';
import { type SnsNotification, SnsService } from './sns.ts';
import {
  type ExecutionRecord,
  type ExecutionStatus,
  StepFunctions,
  statusChangeEvent,
} from './stepfunctions.ts';
import {
  type AppBuilder,
  type LocalStack,
  type LocalTable,
  loadStack,
  readLocalStack,
  repoRoot,
} from './template.ts';

/** Ports used when none are given, recorded in `runtime.json` for the CLI. */
export const DEFAULT_PORTS = { http: 3000, s3: 4568, dynamodb: 4567 } as const;

/** Options of {@link startRuntime}. */
export interface RuntimeOptions {
  /** State folder ($DRIFTLINE_HOME): emulator data, `cdk.out`, `runtime.json`. @default <repo>/.driftline */
  readonly home?: string;
  /** HTTP port (API and local AWS APIs); 0 = any free port. @default 3000 */
  readonly port?: number;
  /** S3 emulator port. @default 4568, or 0 when `port` is 0 */
  readonly s3Port?: number;
  /** DynamoDB emulator port. @default 4567, or 0 when `port` is 0 */
  readonly dynamodbPort?: number;
  /** Print nothing on the console (tests). @default false */
  readonly quiet?: boolean;
  /** Where console lines go instead of stdout. */
  readonly log?: LogSink;
  /** Wait this many ms between state retries instead of the definition's intervals (tests). */
  readonly retryIntervalMs?: number;
  /** Wait this many ms in every `Wait` state instead of the definition's time (tests). */
  readonly waitStateMs?: number;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** Run schedule rules on timers. @default true */
  readonly schedules?: boolean;
  /**
   * Invoke the functions the template marks `driftline:invokeOnStart` (recovery: runs the killed runtime
   * left `running`, drops whose event it lost) once started, before `startRuntime` resolves.
   * @default the value of {@link RuntimeOptions.schedules}: the start-up complement of the schedules
   */
  readonly invokeOnStart?: boolean;
  /** Builds the CDK app. @default the driftline stack from infra/ */
  readonly build?: AppBuilder;
  /** Identifies `build` so a `cdk.out` from another builder is not reused. @default 'driftline' */
  readonly buildId?: string;
  /** Files/folders whose changes invalidate `<home>/cdk.out`. @default infra, lambdas, statemachines, specs */
  readonly sources?: readonly string[];
  /** CDK context on top of cdk.json's (e.g. `{ stackName: 'Dev' }`). */
  readonly context?: Record<string, unknown>;
  /** Folder `driftline:entry` paths are relative to. @default the repository root */
  readonly root?: string;
  /**
   * Where the synthesized cloud assembly is kept and reused from (runtimes of one app may share it).
   * @default <home>/cdk.out
   */
  readonly cdkOut?: string;
  /** Containers per function before invocations queue. @default 4 */
  readonly maxContainersPerFunction?: number;
  /**
   * Where function bundles and V8's code cache of them are kept (`local/bundle.ts`). Content-addressed,
   * so every runtime of one checkout shares it.
   * @default <repo>/node_modules/.cache/driftline
   */
  readonly bundleCacheDir?: string;
  /**
   * Multiplies every CloudWatch alarm's period, so alarms fire in wall time a test or demo can wait for:
   * 0.01 makes a 60-second period last 0.6 s. Datapoints keep their real timestamps; only the period
   * boundaries move, the same for every alarm.
   * @default $DRIFTLINE_ALARM_PERIOD_SCALE, or 1
   */
  readonly alarmPeriodScale?: number;
  /**
   * How often every alarm is evaluated (alarms are also evaluated as soon as their metrics get datapoints).
   * @default 1000 ms, or a quarter of the shortest scaled period when that is shorter
   */
  readonly alarmEvaluationIntervalMs?: number;
}

/** Executions of the stack's state machine(s). */
export interface Executions {
  /** Starts an execution; `stateMachine` (ARN, name or label) may be left out when the stack has one. */
  start(input: unknown, options?: { name?: string; stateMachine?: string }): ExecutionRecord;
  list(filter?: { status?: ExecutionStatus; stateMachine?: string }): ExecutionRecord[];
  describe(nameOrArn: string): ExecutionRecord;
  /** Stops a running execution (`StopExecution`); it ends `ABORTED`. */
  stop(nameOrArn: string): void;
  /** Resolves when the execution has stopped. */
  wait(nameOrArn: string, timeoutMs?: number): Promise<ExecutionRecord>;
  /** The first execution (already started or to come) that satisfies `predicate`. */
  waitForStart(
    predicate: (execution: ExecutionRecord) => boolean,
    timeoutMs?: number,
  ): Promise<ExecutionRecord>;
}

/** The stack's CloudWatch alarms, evaluated locally (see `local/alarms.ts`). */
export interface LocalAlarms {
  /** The period scale in effect ({@link RuntimeOptions.alarmPeriodScale}). */
  readonly periodScale: number;
  /** Every alarm and its current state. */
  list(): AlarmStatus[];
  /** An alarm's state changes (name or ARN), oldest first, each with when it was detected and delivered. */
  history(nameOrArn: string): AlarmTransition[];
  /** Evaluates every alarm now; resolves with the state changes once their events were delivered. */
  evaluateNow(): Promise<AlarmTransition[]>;
  /** Resolves once the alarm is in `state` and its change was announced. */
  waitForState(nameOrArn: string, state: AlarmStateValue, timeoutMs?: number): Promise<AlarmStatus>;
}

/** What `runtime.json` holds for the CLI. */
export interface RuntimeInfo {
  pid: number;
  startedAt: string;
  home: string;
  stackName: string;
  region: string;
  account: string;
  apiUrl: string;
  ports: { http: number; s3: number; dynamodb: number };
  endpoints: { s3: string; dynamodb: string; lambda: string; sns: string; states: string };
  /** The install's key pair: every local AWS endpoint and emulator requires requests signed with it. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  outputs: Record<string, string>;
  /** `driftline:name` → physical function name. */
  functions: Record<string, string>;
  buckets: Record<string, string>;
  tables: Record<string, string>;
  stateMachines: Record<string, string>;
  topics: Record<string, string>;
  apiKeys: string[];
}

/** A running local stack. */
export interface DriftlineRuntime {
  readonly home: string;
  readonly apiUrl: string;
  readonly info: RuntimeInfo;
  readonly stack: LocalStack;
  /** The stack's Outputs resolved to local values (bucket, tables, state machine ARN, API URL, …). */
  readonly outputs: Record<string, string>;
  readonly executions: Executions;
  /** Puts an event on the default bus (as `PutEvents`); resolves once its targets were started. */
  putEvent(input: PutEventInput): Promise<PutEventResult>;
  /** Fires a schedule rule now. */
  fireSchedule(ruleName: string): Promise<PutEventResult>;
  /**
   * Invokes a function (physical name, ARN, `driftline:name` or logical id) and returns its parsed result.
   * @throws {LambdaFunctionError} named after the handler's error when it fails.
   */
  invoke(functionName: string, event: unknown): Promise<unknown>;
  /** Like {@link invoke}, returning the whole outcome (error payload, logs, duration, cold start). */
  invokeRaw(functionName: string, event: unknown): Promise<InvokeResult>;
  /**
   * Resolves once every asynchronous invocation (schedule and rule targets, topic subscribers, `Event`
   * invokes) has finished, those started meanwhile included.
   */
  invocationsSettled(): Promise<void>;
  readonly metrics: MetricStore;
  readonly alarms: LocalAlarms;
  /** Every SNS notification published since start. */
  readonly notifications: readonly SnsNotification[];
  /** A function's recent log lines. */
  logs(functionName: string): string[];
  /** Stops timers, executions, containers, servers and emulators, and removes `runtime.json`. */
  stop(): Promise<void>;
}

/**
 * The secrets of one install, made at its first start and kept (owner-only) in `<home>/credentials.json`:
 * the key pair every local AWS endpoint and emulator requires requests to be signed with (as IAM does on
 * AWS), and the value of the API's keys. `runtime.json` repeats them for the CLI.
 */
export interface InstallCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** What `x-api-key` must carry on routes that require an API key. */
  apiKey: string;
}

/** Reads the install's credentials, or makes them on first start. */
export function installCredentials(home: string): InstallCredentials {
  const path = join(home, 'credentials.json');
  if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as InstallCredentials;
  const credentials: InstallCredentials = {
    // The shape of an AWS access key id, so every SDK accepts it.
    accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64url'),
    apiKey: randomBytes(24).toString('base64url'),
  };
  writeFileSync(path, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return credentials;
}

async function ensureBuckets(
  endpoint: string,
  region: string,
  credentials: SigningCredentials,
  names: string[],
): Promise<void> {
  const s3 = new S3Client({ endpoint, region, credentials: { ...credentials }, forcePathStyle: true });
  try {
    const existing = new Set(((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name));
    for (const name of names)
      if (!existing.has(name)) await s3.send(new CreateBucketCommand({ Bucket: name }));
  } finally {
    s3.destroy();
  }
}

async function ensureTables(
  endpoint: string,
  region: string,
  credentials: SigningCredentials,
  tables: LocalTable[],
  log: LogSink,
): Promise<void> {
  const dynamo = new DynamoDBClient({ endpoint, region, credentials: { ...credentials } });
  try {
    const existing = new Set<string>();
    for await (const page of paginateListTables({ client: dynamo }, {})) {
      for (const name of page.TableNames ?? []) existing.add(name);
    }
    for (const table of tables) {
      if (existing.has(table.name)) continue;
      await createActiveTable(dynamo, {
        TableName: table.name,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: table.keySchema,
        AttributeDefinitions: table.attributeDefinitions,
        ...(table.globalSecondaryIndexes.length > 0
          ? { GlobalSecondaryIndexes: table.globalSecondaryIndexes as never }
          : {}),
        ...(table.localSecondaryIndexes.length > 0
          ? { LocalSecondaryIndexes: table.localSecondaryIndexes as never }
          : {}),
      });
      log.line('runtime', `created table ${table.name}`);
    }
  } finally {
    dynamo.destroy();
  }
}

/** `$DRIFTLINE_ALARM_PERIOD_SCALE` (how `npm start` shortens alarm periods), 1 when unset. */
function alarmPeriodScaleFromEnv(): number {
  const raw = process.env.DRIFTLINE_ALARM_PERIOD_SCALE;
  if (raw === undefined || raw === '') return 1;
  const scale = Number(raw);
  if (!(scale > 0 && Number.isFinite(scale))) {
    throw new RangeError(`DRIFTLINE_ALARM_PERIOD_SCALE must be a positive number, got "${raw}"`);
  }
  return scale;
}

/** Reads `<home>/runtime.json` (for the CLI), or undefined when no runtime wrote one. */
export function readRuntimeInfo(home: string): RuntimeInfo | undefined {
  try {
    return JSON.parse(readFileSync(join(home, 'runtime.json'), 'utf8')) as RuntimeInfo;
  } catch {
    return undefined;
  }
}

/**
 * Starts the local stack.
 * @example
 * const runtime = await startRuntime({ home: mkdtempSync(...), port: 0, quiet: true, retryIntervalMs: 10 });
 * await runtime.invoke('models', { httpMethod: 'GET', path: '/health' });
 * await runtime.stop();
 */
export async function startRuntime(options: RuntimeOptions = {}): Promise<DriftlineRuntime> {
  const started = Date.now();
  const home = options.home ?? join(repoRoot, '.driftline');
  const region = options.region ?? 'us-east-1';
  const log = options.log ?? consoleSink({ quiet: options.quiet ?? false });
  const port = options.port ?? DEFAULT_PORTS.http;
  const anyPort = port === 0;
  mkdirSync(home, { recursive: true });
  const secrets = installCredentials(home);
  const credentials = { accessKeyId: secrets.accessKeyId, secretAccessKey: secrets.secretAccessKey };

  const cleanup: (() => Promise<void> | void)[] = [];
  const stopAll = async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  };
  try {
    const synthesized = await loadStack({
      outdir: options.cdkOut ?? join(home, 'cdk.out'),
      build: options.build,
      buildId: options.buildId,
      sources: options.sources,
      context: options.context,
    });
    log.line('runtime', `${synthesized.reused ? 'reused' : 'synthesized'} stack ${synthesized.stackName}`);

    const door = new HttpFrontDoor();
    const apiUrl = await door.listen({ port });
    cleanup.push(() => door.close());
    const stack = readLocalStack(
      synthesized,
      { region, apiUrl },
      { root: options.root, apiKeyValue: secrets.apiKey },
    );
    // Each function signs with a key pair of its own, which carries its execution role's policy.
    const keysOf = new Map(
      stack.functions.map((fn) => [fn.logicalId, functionCredentials(secrets.secretAccessKey, fn.logicalId)]),
    );
    const access = new AccessControl({
      install: credentials,
      scope: { region, account: stack.account },
      principals: stack.functions.map((fn) => ({
        credentials: keysOf.get(fn.logicalId)!,
        arn: `arn:aws:sts::${stack.account}:assumed-role/${fn.role.name}/${fn.name}`,
        statements: fn.role.statements,
      })),
      onDeny: (denial) => log.line('iam', denial.message),
    });
    const bundleCacheDir = options.bundleCacheDir ?? join(repoRoot, 'node_modules/.cache/driftline');
    const bundleStarted = Date.now();
    const bundleOptions = { cacheDir: join(bundleCacheDir, 'bundles'), root: options.root ?? repoRoot };
    const bundling = Promise.all([
      bundleFunctions(stack.functions, bundleOptions),
      bundleContainerBootstrap(bundleOptions),
    ]);
    // Awaited below; a failure is reported there (this keeps it from counting as unhandled meanwhile).
    bundling.catch(() => undefined);

    const s3: S3Emulator = await startS3({
      directory: join(home, 's3'),
      port: options.s3Port ?? (anyPort ? 0 : DEFAULT_PORTS.s3),
      credentials,
      access,
    });
    cleanup.push(() => s3.close());
    const dynamo: Emulator = await startDynamo({
      directory: join(home, 'dynamodb'),
      port: options.dynamodbPort ?? (anyPort ? 0 : DEFAULT_PORTS.dynamodb),
      credentials,
      access,
    });
    cleanup.push(() => dynamo.close());
    await ensureBuckets(
      s3.endpoint,
      region,
      credentials,
      stack.buckets.map((b) => b.name),
    );
    await ensureTables(dynamo.endpoint, region, credentials, stack.tables, log);

    const endpoints = {
      s3: s3.endpoint,
      dynamodb: dynamo.endpoint,
      lambda: `${door.origin}${AWS_PREFIX}/lambda`,
      sns: `${door.origin}${AWS_PREFIX}/sns`,
      states: `${door.origin}${AWS_PREFIX}/states`,
    };
    const [bundled, bootstrap] = await bundling;
    log.line(
      'runtime',
      bundled.built.length === 0
        ? `function bundles up to date (${formatDuration(Date.now() - bundleStarted)})`
        : `bundled ${bundled.built.join(', ')} (${formatDuration(Date.now() - bundleStarted)})`,
    );
    const metrics = new MetricStore();
    const functions = new FunctionHost({
      functions: bundled.functions.map((fn) => {
        const keys = keysOf.get(fn.logicalId)!;
        return {
          ...fn,
          environment: {
            ...fn.environment,
            AWS_ACCESS_KEY_ID: keys.accessKeyId,
            AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
          },
        };
      }),
      compileCacheDir: join(bundleCacheDir, 'v8'),
      bootstrap,
      log,
      metrics,
      maxContainersPerFunction: options.maxContainersPerFunction,
      baseEnvironment: {
        AWS_REGION: region,
        AWS_DEFAULT_REGION: region,
        AWS_EC2_METADATA_DISABLED: 'true',
        // Any service without its own emulator answers "not emulated" instead of reaching real AWS.
        AWS_ENDPOINT_URL: `${door.origin}${AWS_PREFIX}/unsupported`,
        AWS_ENDPOINT_URL_S3: endpoints.s3,
        AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
        AWS_ENDPOINT_URL_LAMBDA: endpoints.lambda,
        AWS_ENDPOINT_URL_SNS: endpoints.sns,
        AWS_ENDPOINT_URL_SFN: endpoints.states,
        DRIFTLINE_LOCAL: '1',
      },
    });
    cleanup.push(() => functions.close());
    const sns = new SnsService({ topics: stack.topics, functions, log });
    const stepFunctions = new StepFunctions({
      machines: stack.stateMachines,
      invoke: (arn, payload) => functions.invoke(arn, payload),
      log,
      retryIntervalMs: options.retryIntervalMs,
      waitStateMs: options.waitStateMs,
    });
    cleanup.push(() => stepFunctions.stopAll());

    const bus = new EventBus({
      account: LOCAL_ACCOUNT,
      region,
      rules: stack.rules,
      log,
      async deliver(target, input, rule) {
        const machine = stepFunctions.stateMachines.find((m) => m.arn === target.arn);
        if (machine) {
          const execution = stepFunctions.start(JSON.parse(input), { stateMachine: machine.arn });
          log.line(
            'events',
            `${rule.logicalId ?? rule.name} → ${machine.label} ${execution.name.slice(0, 8)}`,
          );
          return `execution ${execution.name}`;
        }
        const fn = functions.find(target.arn);
        if (fn) {
          functions.invokeAsync(fn.name, JSON.parse(input));
          // Schedules fire every few minutes; their functions' own lines say what they did.
          if (rule.scheduleExpression === undefined)
            log.line('events', `${rule.logicalId ?? rule.name} → ${fn.shortName}`);
          return `invoked ${fn.name}`;
        }
        const topic = stack.topics.find((t) => t.arn === target.arn);
        if (topic) return `published ${sns.publish({ topicArn: topic.arn, message: input }).messageId}`;
        throw new Error(`target ${target.arn} is not run by the local runtime`);
      },
    });
    cleanup.push(() => bus.close());
    // Step Functions announces every stopped execution on the default bus, as on AWS.
    cleanup.push(
      stepFunctions.onStop((execution) => {
        void bus
          .put(statusChangeEvent(execution))
          .catch((error: Error) =>
            log.line('events', `status change of ${execution.name} dropped: ${error.message}`),
          );
      }),
    );

    const s3Reader = new S3Client({
      endpoint: s3.endpoint,
      region,
      // A copy: the SDK marks the credentials object it is given.
      credentials: { ...credentials },
      forcePathStyle: true,
    });
    cleanup.push(() => s3Reader.destroy());
    const eventBuckets = new Set(stack.buckets.filter((b) => b.eventBridge).map((b) => b.name));
    const onS3Event = (notification: { Records?: S3NotificationRecord[] }) => {
      for (const record of notification.Records ?? []) {
        if (!eventBuckets.has(record.s3.bucket.name)) continue;
        void forwardS3Record(record).catch((error: Error) =>
          log.line('events', `S3 event for ${record.s3.object.key} dropped: ${error.message}`),
        );
      }
    };
    const forwardS3Record = async (record: S3NotificationRecord) => {
      const object = record.s3.object;
      // The emulator leaves the ETag out of copy notifications; S3's EventBridge events always carry it.
      if (record.eventName.startsWith('ObjectCreated:') && object.eTag === undefined) {
        const head = await s3Reader.send(
          new HeadObjectCommand({ Bucket: record.s3.bucket.name, Key: object.key }),
        );
        object.eTag = (head.ETag ?? '').replaceAll('"', '');
        object.size ??= head.ContentLength;
      }
      const event = s3RecordToEvent(record, { account: LOCAL_ACCOUNT, region });
      if (event) await bus.dispatch(event);
    };
    s3.events.on('event', onS3Event);
    cleanup.push(() => void s3.events.off('event', onS3Event));

    door.mount({
      apis: stack.apis,
      functions,
      sns,
      stepFunctions,
      account: LOCAL_ACCOUNT,
      region,
      credentials,
      access,
      log,
    });
    if (options.schedules ?? true) bus.startSchedules();

    // LocalAlarm leaves the description out; the state-change event and notifications carry it.
    const descriptionOf = (logicalId: string) => {
      const description = synthesized.template.Resources[logicalId]?.Properties?.AlarmDescription;
      return typeof description === 'string' ? { description } : {};
    };
    const alarms = new AlarmEvaluator({
      alarms: stack.alarms.map((alarm) => ({ ...alarm, ...descriptionOf(alarm.logicalId) })),
      metrics,
      account: stack.account,
      region,
      putEvent: (input) => bus.put(input),
      publish: (request) => sns.publish(request).messageId,
      log,
      periodScale: options.alarmPeriodScale ?? alarmPeriodScaleFromEnv(),
      evaluationIntervalMs: options.alarmEvaluationIntervalMs,
    });
    alarms.start();
    cleanup.push(() => alarms.stop());

    const portOf = (url: string) => Number(new URL(url).port);
    const info: RuntimeInfo = {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      home,
      stackName: stack.stackName,
      region,
      account: stack.account,
      apiUrl,
      ports: { http: portOf(apiUrl), s3: portOf(s3.endpoint), dynamodb: portOf(dynamo.endpoint) },
      endpoints,
      credentials,
      outputs: stack.outputs,
      functions: Object.fromEntries(stack.functions.map((f) => [f.shortName, f.name])),
      buckets: Object.fromEntries(stack.buckets.map((b) => [b.logicalId, b.name])),
      tables: Object.fromEntries(stack.tables.map((t) => [t.logicalId, t.name])),
      stateMachines: Object.fromEntries(stack.stateMachines.map((m) => [m.label, m.arn])),
      topics: Object.fromEntries(stack.topics.map((t) => [t.logicalId, t.arn])),
      apiKeys: stack.apis.flatMap((a) => a.apiKeys),
    };
    const infoPath = join(home, 'runtime.json');
    // It holds the install's secrets: readable by its owner only.
    writeFileSync(infoPath, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
    chmodSync(infoPath, 0o600);
    cleanup.push(() => {
      if (readRuntimeInfo(home)?.pid === process.pid) rmSync(infoPath, { force: true });
    });

    if (options.invokeOnStart ?? options.schedules ?? true) {
      for (const fn of stack.functions.filter((f) => f.invokeOnStart !== undefined)) {
        const result = await functions.invoke(fn.name, fn.invokeOnStart);
        log.line(
          'runtime',
          result.ok
            ? `${fn.shortName} ran at start: ${JSON.stringify(payloadOf(result))}`
            : `${fn.shortName} failed at start: ${result.error.errorMessage}`,
        );
      }
    }
    for (const warning of stack.warnings) log.line('runtime', `note: ${warning}`);
    log.line(
      'runtime',
      `ready in ${formatDuration(Date.now() - started)}: API ${apiUrl} · ${stack.functions.length} functions · ` +
        `${stack.stateMachines.length} state machine(s) · ${stack.rules.length} rules · S3 ${s3.endpoint} · DynamoDB ${dynamo.endpoint}`,
    );

    return {
      home,
      apiUrl,
      info,
      stack,
      outputs: stack.outputs,
      executions: {
        start: (input, startOptions) => stepFunctions.start(input, startOptions),
        list: (filter) => stepFunctions.list(filter),
        describe: (nameOrArn) => stepFunctions.describe(nameOrArn),
        stop: (nameOrArn) => stepFunctions.stop(nameOrArn),
        wait: (nameOrArn, timeoutMs) => stepFunctions.wait(nameOrArn, timeoutMs),
        waitForStart: (predicate, timeoutMs) => stepFunctions.waitForStart(predicate, timeoutMs),
      },
      putEvent: (input) => bus.put(input),
      fireSchedule: (ruleName) => bus.fireSchedule(ruleName),
      invoke: async (functionName, event) => payloadOf(await functions.invoke(functionName, event)),
      invokeRaw: (functionName, event) => functions.invoke(functionName, event),
      invocationsSettled: () => functions.settled(),
      metrics,
      alarms: {
        periodScale: alarms.periodScale,
        list: () => alarms.list(),
        history: (nameOrArn) => alarms.history(nameOrArn),
        evaluateNow: () => alarms.evaluateNow(),
        waitForState: (nameOrArn, state, timeoutMs) => alarms.waitForState(nameOrArn, state, timeoutMs),
      },
      notifications: sns.notifications,
      logs: (functionName) => functions.recentLogs(functionName),
      stop: async () => {
        await stopAll();
        log.line('runtime', 'stopped');
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
