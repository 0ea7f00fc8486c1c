/**
 * The driftline stack: every construct created and wired here, in one place. Which function may touch
 * which key prefix, table and topic is read off this file.
 */
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { SWAGGER_UI_FILES } from '#core/report/docs-page.ts';
import type { ModelSpec } from '#core/spec.ts';
import { DataBucket } from './data-bucket.ts';
import { type CopiedFiles, DriftlineFunction, type WorkerScript } from './driftline-function.ts';
import { Monitoring } from './monitoring.ts';
import { acknowledgeWildcardResource } from './nag.ts';
import { PredictApi } from './predict-api.ts';
import { Recovery } from './recovery.ts';
import { Registry } from './registry.ts';
import { RetrainPipeline, runLeaseEnvironment } from './retrain-pipeline.ts';
import type { FeedbackAuth } from './settings.ts';

/** Environment variable names the handlers read. */
export const ENV = {
  bucket: 'DATA_BUCKET',
  registry: 'REGISTRY_TABLE',
  runs: 'RUNS_TABLE',
  predictionLog: 'PREDICTION_LOG_TABLE',
  alertsTopic: 'ALERTS_TOPIC_ARN',
  forestWorker: 'FOREST_WORKER_SCRIPT',
  modelCacheTtl: 'MODEL_CACHE_TTL_SECONDS',
} as const;

/** The forest's worker-thread script, bundled next to the train handler. */
const FOREST_WORKER: WorkerScript = {
  entry: 'lambdas/core/forest/worker.ts',
  outFile: 'forest-worker.mjs',
  envName: ENV.forestWorker,
};

/** Swagger UI's files, served by the pages function at /docs. */
const DOCS_ASSETS: CopiedFiles = {
  from: 'node_modules/swagger-ui-dist',
  files: SWAGGER_UI_FILES,
  to: 'swagger-ui',
  envName: 'DOCS_ASSETS_DIR',
};

export interface DriftlineStackProps extends StackProps {
  /** Delete buckets and tables with the stack (dev, LocalStack). @default false */
  readonly destroyOnRemoval?: boolean;
  /** Require an API key on predict and the read-only routes. @default false */
  readonly apiKeyRequired?: boolean;
  /** How feedback callers authenticate. @default 'iam' */
  readonly feedbackAuth?: FeedbackAuth;
  /** Seconds a predict container trusts its cached production pointer. @default 2 */
  readonly modelCacheTtlSeconds?: number;
  /** Models to schedule, alarm on and chart. @default none */
  readonly modelSpecs?: readonly ModelSpec[];
}

/** The names of every Lambda of the stack (their folders under `lambdas/`). */
export type FunctionName =
  | 'admit'
  | 'validate'
  | 'drift'
  | 'merge'
  | 'featurize'
  | 'train'
  | 'select'
  | 'evaluate'
  | 'register'
  | 'recordFailure'
  | 'runEnded'
  | 'recover'
  | 'predict'
  | 'feedback'
  | 'models'
  | 'pages'
  | 'rollback'
  | 'promote'
  | 'registerSpec';

/** Data bucket, registry, pipeline, API and monitoring of driftline. */
export class DriftlineStack extends Stack {
  public readonly data: DataBucket;
  public readonly registry: Registry;
  public readonly functions: Readonly<Record<FunctionName, DriftlineFunction>>;
  public readonly pipeline: RetrainPipeline;
  public readonly api: PredictApi;
  public readonly monitoring: Monitoring;
  public readonly recovery: Recovery;

  constructor(scope: Construct, id: string, props: DriftlineStackProps = {}) {
    super(scope, id, {
      description: 'driftline: S3 drops retrain models through Step Functions; API Gateway serves them.',
      ...props,
    });
    const specs = props.modelSpecs ?? [];
    this.data = new DataBucket(this, 'Data', { destroyOnRemoval: props.destroyOnRemoval });
    this.registry = new Registry(this, 'Registry', { destroyOnRemoval: props.destroyOnRemoval });
    const bucket = this.data.bucket;
    const registry = this.registry.table;
    const runs = this.registry.runs;
    const predictionLog = this.registry.predictionLog;

    const fn = (name: FunctionName, memorySize: number, timeout: Duration, workerScripts?: WorkerScript[]) =>
      new DriftlineFunction(this, name, { name, memorySize, timeout, workerScripts });
    const minutes = Duration.minutes;
    // Lambda timeouts match the Task TimeoutSeconds of statemachines/retrain.asl.json.
    // Table grants are explicit action lists. Only register, promote (also the bake schedule) and rollback
    // may write the registry table, i.e. change what serves, and registerSpec, which writes specs only; the
    // other steps write their bookkeeping to the runs table. Nothing is granted DeleteItem or Scan: no
    // function deletes items or scans a table.
    const admit = fn('admit', 256, Duration.seconds(30)).bindTable(
      runs,
      ['GetItem', 'PutItem', 'UpdateItem'],
      ENV.runs,
    );
    for (const [name, value] of Object.entries(runLeaseEnvironment())) admit.addEnvironment(name, value);
    this.functions = {
      // Admit claims the drop and takes the model's run lease before anything reads the baseline.
      admit,
      // Validate also writes its report to runs/<model>/<runId>/validation.json, and the drop's
      // validated table to tables/ for drift and merge. Memory of validate, merge and featurize from
      // bench/pipeline-scale.ts (README, "Function memory"): validate peaked at 453 MB for 540k rows × 20,
      // merge at 546 MB and featurize at 574 MB for 560k merged rows; each grows about linearly with rows,
      // so a 1M-row drop needs these settings. 15 minutes: a 1M-row step takes minutes on a small vCPU share.
      validate: fn('validate', 1024, minutes(15))
        .bindBucket(bucket, { read: ['incoming/*'], write: ['runs/*', 'tables/*'] })
        .bindTable(registry, ['GetItem'], ENV.registry)
        // Query: a retrain lists the drops held back, to end at once when there is nothing new.
        .bindTable(runs, ['GetItem', 'Query', 'UpdateItem'], ENV.runs),
      // Every step after validate reads its run's spec snapshot, runs/<model>/<runId>/spec.json.
      // Drift holds the windowed baseline and the pooled drops: 527 MB at 1.02M rows × 20, so the default
      // window (1M rows) plus a 1M-row drop needs ~1.05 GB; 2048 MB, and 10 minutes for 2M rows on a
      // small vCPU share (bench:pipeline-scale, README "Function memory").
      drift: fn('drift', 2048, minutes(10))
        .bindBucket(bucket, { read: ['tables/*', 'datasets/*', 'runs/*'], write: ['runs/*'] })
        .bindTable(registry, ['GetItem'], ENV.registry)
        .bindTable(runs, ['GetItem', 'Query', 'UpdateItem'], ENV.runs),
      merge: fn('merge', 2048, minutes(15))
        .bindBucket(bucket, { read: ['tables/*', 'datasets/*', 'runs/*'], write: ['datasets/*'] })
        .bindTable(registry, ['GetItem'], ENV.registry)
        .bindTable(runs, ['GetItem', 'Query', 'UpdateItem'], ENV.runs),
      featurize: fn('featurize', 2048, minutes(15))
        .bindBucket(bucket, { read: ['datasets/*', 'runs/*'], write: ['runs/*'] })
        .bindTable(registry, ['GetItem'], ENV.registry)
        .bindTable(runs, ['UpdateItem'], ENV.runs),
      // More memory buys more vCPUs for the forest's worker threads; 3008 MB is what new accounts may set.
      train: fn('train', 3008, minutes(15), [FOREST_WORKER])
        .bindBucket(bucket, { read: ['runs/*'], write: ['runs/*'] })
        .bindTable(runs, ['UpdateItem'], ENV.runs),
      select: fn('select', 512, minutes(2))
        .bindBucket(bucket, { read: ['runs/*'], write: ['runs/*'] })
        .bindTable(runs, ['UpdateItem'], ENV.runs),
      evaluate: fn('evaluate', 2048, minutes(15))
        .bindBucket(bucket, { read: ['runs/*', 'datasets/*', 'models/*'], write: ['models/*', 'runs/*'] })
        .bindTable(registry, ['GetItem'], ENV.registry)
        .bindTable(runs, ['UpdateItem'], ENV.runs),
      // Register also renders the model's report page to reports/<model>/index.html after each run (which
      // lists the model's runs: Query on the runs table).
      register: fn('register', 512, minutes(2))
        .bindBucket(bucket, { read: ['runs/*', 'datasets/*'], write: ['reports/*'] })
        .bindTable(registry, ['GetItem', 'Query', 'PutItem', 'UpdateItem'], ENV.registry)
        .bindTable(runs, ['GetItem', 'PutItem', 'Query', 'UpdateItem'], ENV.runs)
        .bindTable(predictionLog, ['GetItem'], ENV.predictionLog),
      recordFailure: fn('recordFailure', 256, minutes(2)).bindTable(
        runs,
        ['GetItem', 'UpdateItem'],
        ENV.runs,
      ),
      // Records runs whose execution stopped without recording its outcome (timeout, abort), frees the lease.
      runEnded: fn('runEnded', 256, minutes(1)).bindTable(runs, ['GetItem', 'Query', 'UpdateItem'], ENV.runs),
      // Finds runs whose execution died and drops that never got a run (listing incoming/), restarts them.
      recover: fn('recover', 256, minutes(5))
        .bindBucket(bucket, { read: ['incoming/*'] })
        .bindTable(registry, ['Query'], ENV.registry)
        .bindTable(runs, ['GetItem', 'Query', 'UpdateItem'], ENV.runs),
      // One full vCPU (1769 MB) to score up to 1000 instances well inside API Gateway's 29 s.
      predict: fn('predict', 1769, Duration.seconds(20))
        .bindBucket(bucket, { read: ['models/*'] })
        .bindTable(registry, ['GetItem'], ENV.registry)
        .bindTable(predictionLog, ['PutItem'], ENV.predictionLog)
        // How stale a container's view of the production pointer may get: a promotion or rollback serves
        // within this many seconds, for two pointer reads per busy container per interval (model-cache.ts).
        .addEnvironment(ENV.modelCacheTtl, String(props.modelCacheTtlSeconds ?? 2)),
      // Feedback reads the logged prediction and the version's holdout metrics, and stores the label.
      feedback: fn('feedback', 512, Duration.seconds(20))
        .bindTable(registry, ['GetItem'], ENV.registry)
        .bindTable(predictionLog, ['GetItem', 'UpdateItem'], ENV.predictionLog),
      // /health verifies each production artifact against its recorded sha256 (once per artifact ETag).
      models: fn('models', 256, Duration.seconds(10))
        .bindBucket(bucket, { read: ['models/*'] })
        .bindTable(registry, ['GetItem', 'Query'], ENV.registry)
        .bindTable(runs, ['Query'], ENV.runs),
      // Reports read run artifacts (drift, holdout) and datasets (forecast months), and live aggregates.
      pages: new DriftlineFunction(this, 'pages', {
        name: 'pages',
        memorySize: 512,
        timeout: Duration.seconds(15),
        copiedFiles: [DOCS_ASSETS],
      })
        .bindBucket(bucket, { read: ['runs/*', 'datasets/*'] })
        .bindTable(registry, ['GetItem', 'Query'], ENV.registry)
        .bindTable(runs, ['Query'], ENV.runs)
        .bindTable(predictionLog, ['GetItem'], ENV.predictionLog),
      rollback: fn('rollback', 512, minutes(1)).bindTable(
        registry,
        ['GetItem', 'Query', 'PutItem', 'UpdateItem'],
        ENV.registry,
      ),
      // Operator promotions and the bake schedule (completes or stops candidates, supersedes stranded ones).
      promote: fn('promote', 512, minutes(1))
        .bindTable(registry, ['GetItem', 'Query', 'PutItem', 'UpdateItem'], ENV.registry)
        .bindTable(runs, ['Query'], ENV.runs),
      // `driftline specs add`: checks a spec and writes it (GetItem: the same spec again writes nothing).
      // The operators' only way to write the registry table, which IAM cannot open to them by sort key.
      registerSpec: fn('registerSpec', 256, Duration.seconds(30)).bindTable(
        registry,
        ['GetItem', 'UpdateItem'],
        ENV.registry,
      ),
    };
    const { functions } = this;

    this.pipeline = new RetrainPipeline(this, 'Pipeline', {
      bucket,
      functions: {
        admit: functions.admit,
        validate: functions.validate,
        drift: functions.drift,
        merge: functions.merge,
        featurize: functions.featurize,
        train: functions.train,
        select: functions.select,
        evaluate: functions.evaluate,
        register: functions.register,
        recordFailure: functions.recordFailure,
      },
      runEnded: functions.runEnded,
      scheduledModels: specs.flatMap((spec) =>
        spec.schedule === undefined ? [] : [{ name: spec.name, schedule: spec.schedule }],
      ),
    });

    this.recovery = new Recovery(this, 'Recovery', {
      function: functions.recover,
      stateMachine: this.pipeline.stateMachine,
    });

    this.api = new PredictApi(this, 'Api', {
      models: functions.models,
      predict: functions.predict,
      feedback: functions.feedback,
      pages: functions.pages,
      apiKeyRequired: props.apiKeyRequired,
      feedbackAuth: props.feedbackAuth,
    });

    this.monitoring = new Monitoring(this, 'Monitoring', {
      models: specs.map((spec) => ({ name: spec.name, ...spec.monitoring })),
      rollback: functions.rollback,
      promote: functions.promote,
      stateMachine: this.pipeline.stateMachine,
      deadLetterQueues: { triggers: this.pipeline.deadLetterQueue },
    });
    functions.rollback.bindTopic(this.monitoring.alertsTopic, ENV.alertsTopic);
    functions.promote.bindTopic(this.monitoring.alertsTopic, ENV.alertsTopic);

    // What a person or service needs to run the CLI's writes, and what a labelling service needs, as
    // policies to attach to their roles or users (the README's "Who may call what").
    const invokeFeedback = new PolicyStatement({
      actions: ['execute-api:Invoke'],
      resources: [this.api.feedbackArn],
    });
    const feedbackPolicy = new ManagedPolicy(this, 'FeedbackClientPolicy', {
      description: 'driftline: send labels (POST /models/{name}/feedback)',
      statements: [invokeFeedback],
    });
    const operatorPolicy = new ManagedPolicy(this, 'OperatorPolicy', {
      description:
        'driftline: the CLI - upload drops, retrain, register specs, promote, roll back, read the registry',
      statements: [
        invokeFeedback,
        // Every change to the registry table goes through a function: IAM grants DynamoDB writes per table,
        // never per sort key, so a write grant would also reach pointers, versions and the audit trail.
        new PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: [
            functions.promote.functionArn,
            functions.rollback.functionArn,
            functions.registerSpec.functionArn,
          ],
        }),
        new PolicyStatement({
          actions: ['dynamodb:GetItem', 'dynamodb:Query'],
          resources: [registry.tableArn, runs.tableArn],
        }),
        new PolicyStatement({ actions: ['s3:PutObject'], resources: [bucket.arnForObjects('incoming/*')] }),
        new PolicyStatement({ actions: ['s3:GetObject'], resources: [bucket.arnForObjects('reports/*')] }),
        new PolicyStatement({ actions: ['cloudformation:DescribeStacks'], resources: [this.stackId] }),
        // `driftline retrain NAME` starts a run on the held-back drops.
        new PolicyStatement({
          actions: ['states:StartExecution'],
          resources: [this.pipeline.stateMachine.stateMachineArn],
        }),
      ],
    });
    acknowledgeWildcardResource(
      feedbackPolicy,
      this.api.feedbackArn,
      'feedback for any model: one route, the model a path parameter',
    );
    acknowledgeWildcardResource(
      operatorPolicy,
      this.api.feedbackArn,
      'feedback for any model: one route, the model a path parameter',
    );
    acknowledgeWildcardResource(
      operatorPolicy,
      bucket.arnForObjects('incoming/*'),
      'operators upload drops under incoming/<model>/, which starts their runs',
    );
    acknowledgeWildcardResource(
      operatorPolicy,
      bucket.arnForObjects('reports/*'),
      'operators read the report snapshots the pipeline writes under reports/<model>/',
    );

    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    output('BucketName', bucket.bucketName, 'Data bucket: upload drops under incoming/<model>/');
    output('RegistryTableName', registry.tableName, 'Model registry table');
    output('RunsTableName', runs.tableName, 'Runs table: pipeline runs, leases, baselines');
    output('PredictionLogTableName', predictionLog.tableName, 'Prediction log table');
    output('StateMachineArn', this.pipeline.stateMachine.stateMachineArn, 'Retraining state machine');
    output('ApiUrl', this.api.api.url, 'Serving API base URL (stage prod)');
    output(
      'AlertsTopicArn',
      this.monitoring.alertsTopic.topicArn,
      'Alerts topic; subscribe to receive alarms',
    );
    output(
      'RollbackFunctionName',
      functions.rollback.functionName,
      'Invoked by the CLI to roll a model back',
    );
    output('PromoteFunctionName', functions.promote.functionName, 'Invoked by the CLI to promote a version');
    output(
      'RegisterSpecFunctionName',
      functions.registerSpec.functionName,
      'Invoked by the CLI to register a model spec',
    );
    output(
      'FeedbackClientPolicyArn',
      feedbackPolicy.managedPolicyArn,
      'Attach to a role or user that sends labels (feedbackAuth=iam)',
    );
    output(
      'OperatorPolicyArn',
      operatorPolicy.managedPolicyArn,
      'Attach to a role or user that runs the driftline CLI',
    );
    if (this.api.apiKey !== undefined) {
      output(
        'ApiKeyId',
        this.api.apiKey.keyId,
        'Read the key with: aws apigateway get-api-key --include-value',
      );
    }
  }
}
