/**
 * Which driftline the CLI talks to: the local runtime (default; its `runtime.json` under
 * `$DRIFTLINE_HOME`), a deployed stack (`--stack NAME`: its CloudFormation outputs), or any endpoint that
 * speaks the AWS APIs (`--endpoint URL`, e.g. LocalStack). Everything after that is the same code.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { documentClient } from '../lambdas/shared/document-client.ts';
import { Registry } from '../lambdas/shared/registry.ts';
import { type SigningCredentials, signedHeaders } from '../local/sigv4.ts';
import { pathStyleApiUrl } from '../localstack/endpoint.ts';
import { CliError } from './output.ts';

/** The stack outputs the CLI uses (names as `infra/driftline-stack.ts` declares them). */
export interface StackOutputs {
  BucketName: string;
  RegistryTableName: string;
  RunsTableName: string;
  ApiUrl: string;
  RollbackFunctionName: string;
  PromoteFunctionName: string;
  RegisterSpecFunctionName: string;
  [name: string]: string;
}

/** A function invoked by the CLI that ended with an error: `errorType` is the error's name (`SpecError`…). */
export class FunctionFailedError extends CliError {
  readonly errorType: string;
  readonly errorMessage: string;
  constructor(functionName: string, errorType: string, errorMessage: string) {
    super(`${functionName} failed: ${errorMessage}`, 1);
    this.name = 'FunctionFailedError';
    this.errorType = errorType;
    this.errorMessage = errorMessage;
  }
}

/** What the local runtime writes to `$DRIFTLINE_HOME/runtime.json` for the CLI. */
export interface RuntimeFile {
  apiUrl: string;
  region: string;
  endpoints: { s3: string; dynamodb: string; lambda: string; states: string };
  /** The credentials the local endpoints accept. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  outputs: StackOutputs;
  /** Values accepted in `x-api-key` by routes that require a key. */
  apiKeys?: string[];
  pid?: number;
}

export interface TargetOptions {
  stack?: string;
  endpoint?: string;
  home?: string;
}

export interface Target {
  description: string;
  outputs: StackOutputs;
  apiUrl: string;
  s3: S3Client;
  registry: Registry;
  /** Invokes a function and returns its answer. @throws {FunctionFailedError} when the function failed. */
  invoke(functionName: string, payload: unknown): Promise<unknown>;
  /** Starts an execution of the retraining state machine (`StartExecution`) under `name`. */
  startExecution(name: string, input: unknown): Promise<string>;
  /**
   * Calls the API (`path` relative to its URL) as an authorized client: signed with the CLI's AWS
   * credentials (IAM routes such as feedback), with `x-api-key` when the stack requires a key.
   */
  api(path: string, init?: { method?: string; body?: unknown }): Promise<Response>;
}

/** The state folder of the local runtime: `$DRIFTLINE_HOME`, else `.driftline/` in the repository. */
export function driftlineHome(home?: string): string {
  return resolve(
    home ?? process.env.DRIFTLINE_HOME ?? join(new URL('..', import.meta.url).pathname, '.driftline'),
  );
}

interface ClientSettings {
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Per-service endpoints (emulators, LocalStack); unset = AWS itself. */
  endpoints?: {
    s3?: string;
    dynamodb?: string;
    lambda?: string;
    states?: string;
    cloudformation?: string;
    apigateway?: string;
  };
  /** The API key to send; unset = `$DRIFTLINE_API_KEY`, else read through the `ApiKeyId` output. */
  apiKey?: string;
}

/**
 * The value of the stack's API key (`ApiKeyId` output) through API Gateway's own API, as
 * `aws apigateway get-api-key --include-value` reads it.
 */
async function readApiKey(
  keyId: string,
  region: string,
  credentials: SigningCredentials,
  endpoint: string | undefined,
): Promise<string> {
  const url = new URL(
    `apikeys/${encodeURIComponent(keyId)}?includeValue=true`,
    `${endpoint ?? `https://apigateway.${region}.amazonaws.com`}/`,
  );
  const headers = await signedHeaders(
    { method: 'GET', url, headers: { accept: 'application/json' } },
    { credentials, region, service: 'apigateway' },
  );
  const response = await fetch(url, { headers });
  const body = (await response.json().catch(() => ({}))) as { value?: string; message?: string };
  if (!response.ok || !body.value)
    throw new CliError(
      `can't read API key ${keyId} (${response.status} ${body.message ?? ''}); set DRIFTLINE_API_KEY`,
    );
  return body.value;
}

function makeTarget(description: string, outputs: StackOutputs, settings: ClientSettings): Target {
  for (const name of ['BucketName', 'RegistryTableName', 'RunsTableName', 'ApiUrl'] as const) {
    if (!outputs[name])
      throw new CliError(`${description} has no "${name}" output; is it a driftline stack?`);
  }
  const { region, credentials, endpoints = {} } = settings;
  const s3 = new S3Client({
    region,
    credentials,
    endpoint: endpoints.s3,
    // Emulators want path-style addressing and checksums only when required.
    ...(endpoints.s3
      ? {
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }
      : {}),
  });
  const dynamo = documentClient(new DynamoDBClient({ region, credentials, endpoint: endpoints.dynamodb }));
  const lambda = new LambdaClient({ region, credentials, endpoint: endpoints.lambda });
  const stepFunctions = new SFNClient({ region, credentials, endpoint: endpoints.states });
  const apiUrl = outputs.ApiUrl.endsWith('/') ? outputs.ApiUrl : `${outputs.ApiUrl}/`;
  // Read once, on the first API call that needs it.
  let apiKey: Promise<string | undefined> | string | undefined;
  return {
    description,
    outputs,
    apiUrl,
    s3,
    registry: new Registry({ registry: outputs.RegistryTableName, runs: outputs.RunsTableName }, dynamo),
    async api(path, init = {}) {
      const url = new URL(path, apiUrl);
      const method = init.method ?? 'GET';
      const body = init.body === undefined ? undefined : JSON.stringify(init.body);
      const headers: Record<string, string> = { accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      apiKey ??=
        settings.apiKey ??
        process.env.DRIFTLINE_API_KEY ??
        (outputs.ApiKeyId
          ? readApiKey(
              outputs.ApiKeyId,
              await lambda.config.region(),
              await lambda.config.credentials(),
              endpoints.apigateway,
            )
          : undefined);
      const key = await apiKey;
      if (key !== undefined) headers['x-api-key'] = key;
      const signed = await signedHeaders(
        { method, url, headers, body },
        {
          credentials: await lambda.config.credentials(),
          region: await lambda.config.region(),
          service: 'execute-api',
        },
      );
      return fetch(url, { method, headers: signed, body });
    },
    async invoke(functionName, payload) {
      const response = await lambda.send(
        new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify(payload)) }),
      );
      const text = response.Payload ? Buffer.from(response.Payload).toString('utf8') : '';
      const body = text ? JSON.parse(text) : null;
      if (response.FunctionError) {
        throw new FunctionFailedError(
          functionName,
          body?.errorType ?? response.FunctionError,
          body?.errorMessage ?? response.FunctionError,
        );
      }
      return body;
    },
    async startExecution(name, input) {
      if (!outputs.StateMachineArn)
        throw new CliError(`${description} has no "StateMachineArn" output; is it a driftline stack?`);
      const response = await stepFunctions.send(
        new StartExecutionCommand({
          stateMachineArn: outputs.StateMachineArn,
          name,
          input: JSON.stringify(input),
        }),
      );
      return response.executionArn ?? name;
    },
  };
}

async function stackOutputs(stackName: string, settings: ClientSettings): Promise<StackOutputs> {
  try {
    const client = new CloudFormationClient({
      region: settings.region,
      credentials: settings.credentials,
      endpoint: settings.endpoints?.cloudformation,
    });
    const response = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    const outputs = response.Stacks?.[0]?.Outputs ?? [];
    return Object.fromEntries(
      outputs.map((output) => [output.OutputKey ?? '', output.OutputValue ?? '']),
    ) as StackOutputs;
  } catch (error) {
    throw new CliError(`can't read the outputs of stack "${stackName}": ${(error as Error).message}`);
  }
}

/** Whether a process with this id exists (on this machine); signal 0 checks without sending anything. */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Error codes of a connection that could not be made or was cut: the target is down or unreachable. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/**
 * The one line to print for an error that means the target could not be reached (an SDK call's
 * `connect ECONNREFUSED …`, a `fetch failed` whose cause is one), or undefined for any other error.
 */
export function unreachableMessage(error: unknown): string | undefined {
  const unreachable = (why: string) =>
    `can't reach driftline (${why}); is it running? Start the local one with "npm start", or check --stack / --endpoint`;
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  for (const candidate of [error, cause]) {
    const { code, message } = (candidate ?? {}) as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && UNREACHABLE.has(code))
      return unreachable(typeof message === 'string' ? message : code);
  }
  // fetch (the API calls) fails with this TypeError whenever no answer came, the reason in its cause.
  if (error instanceof TypeError && error.message === 'fetch failed')
    return unreachable(cause instanceof Error ? cause.message : error.message);
  return undefined;
}

/** Resolves the target from the command-line options. */
export async function resolveTarget(options: TargetOptions): Promise<Target> {
  if (options.endpoint) {
    const url = options.endpoint;
    const settings: ClientSettings = {
      region: process.env.AWS_REGION ?? 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      endpoints: { s3: url, dynamodb: url, lambda: url, states: url, cloudformation: url, apigateway: url },
    };
    const stack = options.stack ?? 'Driftline';
    const outputs = await stackOutputs(stack, settings);
    // LocalStack renders the API's URL with a host that doesn't answer; its stages live under the endpoint.
    if (/execute-api\.[^/]*localstack/.test(outputs.ApiUrl ?? ''))
      outputs.ApiUrl = pathStyleApiUrl(outputs.ApiUrl, url);
    return makeTarget(`stack ${stack} at ${url}`, outputs, settings);
  }
  if (options.stack) return makeTarget(`stack ${options.stack}`, await stackOutputs(options.stack, {}), {});
  const file = join(driftlineHome(options.home), 'runtime.json');
  if (!existsSync(file)) {
    throw new CliError(
      `no local driftline is running (no ${file}); start it with "npm start", or pass --stack NAME / --endpoint URL`,
    );
  }
  const runtime = JSON.parse(readFileSync(file, 'utf8')) as RuntimeFile;
  // A runtime killed without its Ctrl-C cleanup (SIGKILL, a crash, a closed terminal) leaves its
  // runtime.json behind: its ports answer nothing, so say so instead of failing on the first call.
  if (runtime.pid !== undefined && !processAlive(runtime.pid)) {
    throw new CliError(
      `no local driftline is running (process ${runtime.pid}, which wrote ${file}, has ended); start it with "npm start", or pass --stack NAME / --endpoint URL`,
    );
  }
  return makeTarget(
    `the local runtime at ${runtime.apiUrl}`,
    { ...runtime.outputs, ApiUrl: runtime.apiUrl },
    {
      region: runtime.region,
      credentials: runtime.credentials,
      endpoints: runtime.endpoints,
      ...(runtime.apiKeys?.[0] === undefined ? {} : { apiKey: runtime.apiKeys[0] }),
    },
  );
}
