/**
 * What the LocalStack scripts need to know about a LocalStack instance: whether it answers and offers the
 * services driftline uses (`/_localstack/health`), and where its API Gateway serves a stage, which is not
 * the `ApiUrl` the stack outputs.
 */

/** LocalStack's edge port on the host, as `docker-compose.yml` publishes it. */
export const DEFAULT_ENDPOINT = 'http://localhost:4566';

/**
 * The LocalStack services `cdk bootstrap`, `cdk deploy` and the driftline stack use; `docker-compose.yml`
 * enables exactly these (`SERVICES`). The bootstrap stack's ECR repository needs no `ecr` service:
 * community LocalStack creates it as a CloudFormation mock, and the stack has no container assets.
 */
export const REQUIRED_SERVICES = [
  'cloudformation',
  'sts',
  'iam',
  'ssm',
  's3',
  'lambda',
  'stepfunctions',
  'dynamodb',
  'events',
  'apigateway',
  'cloudwatch',
  'logs',
  'sns',
  'sqs',
] as const;

/** The command that starts the LocalStack of this folder, for messages. */
export const START_COMMAND = 'docker compose -f localstack/docker-compose.yml up -d';

/** LocalStack does not answer at the endpoint, or answers something that is not LocalStack. */
export class LocalStackUnavailableError extends Error {
  override readonly name = 'LocalStackUnavailableError';
}

/** The parts of LocalStack's `GET /_localstack/health` answer the scripts read. */
export interface LocalStackHealth {
  /** Service name to state: `available`, `running`, `disabled`, `error`, … */
  services: Record<string, string>;
  /** e.g. `community`; absent in some versions. */
  edition?: string;
  /** e.g. `4.14.0`. */
  version?: string;
}

function isHealth(value: unknown): value is LocalStackHealth {
  if (typeof value !== 'object' || value === null) return false;
  const { services } = value as { services?: unknown };
  return (
    typeof services === 'object' &&
    services !== null &&
    Object.values(services).every((state) => typeof state === 'string')
  );
}

/**
 * Reads LocalStack's health document.
 * @param endpoint LocalStack's edge URL, e.g. {@link DEFAULT_ENDPOINT}.
 * @param timeoutMs How long to wait for an answer. @default 5000
 * @throws {LocalStackUnavailableError} when nothing answers in time, the answer is not 200, or it is not
 *   LocalStack's health document; the message says how to start LocalStack.
 * @example (await readHealth('http://localhost:4566')).services.s3 // 'available'
 */
export async function readHealth(endpoint: string, timeoutMs = 5000): Promise<LocalStackHealth> {
  const url = `${endpoint.replace(/\/+$/, '')}/_localstack/health`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const reason = (error as Error & { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new LocalStackUnavailableError(
      `LocalStack does not answer at ${url} (${reason}); start it with "${START_COMMAND}"`,
      { cause: error },
    );
  }
  if (!response.ok) {
    throw new LocalStackUnavailableError(`${url} answered ${response.status}; is LocalStack running there?`);
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    throw new LocalStackUnavailableError(`${url} did not answer JSON; is LocalStack running there?`, {
      cause: error,
    });
  }
  if (!isHealth(body)) {
    throw new LocalStackUnavailableError(`${url} did not answer LocalStack's health document`);
  }
  return body;
}

/**
 * The services of `required` that LocalStack does not offer: not listed, `disabled` (left out of
 * `SERVICES`) or in `error`.
 * @example missingServices({ services: { s3: 'running', sqs: 'disabled' } }, ['s3', 'sqs', 'sns']) // ['sqs', 'sns']
 */
export function missingServices(health: LocalStackHealth, required: readonly string[]): string[] {
  return required.filter((service) => {
    const state = health.services[service];
    return state === undefined || state === 'disabled' || state === 'error';
  });
}

/**
 * CloudFormation renders a REST API's URL as `https://<api-id>.execute-api.<region>.<AWS::URLSuffix>/<stage>/`.
 * LocalStack fills `AWS::URLSuffix` with its own host name (`localhost.localstack.cloud`) but no port, so
 * that URL reaches nothing; LocalStack serves the same stage at `<endpoint>/_aws/execute-api/<api-id>/<stage>/`,
 * a path that needs no DNS (the older `/restapis/<id>/<stage>/_user_request_/` form is deprecated since 3.8).
 * @throws {RangeError} when `apiUrl` is not an `execute-api` stage URL.
 * @example
 * pathStyleApiUrl('https://a1b2c3.execute-api.us-east-1.localhost.localstack.cloud/prod/', 'http://localhost:4566')
 * // 'http://localhost:4566/_aws/execute-api/a1b2c3/prod/'
 */
export function pathStyleApiUrl(apiUrl: string, endpoint: string): string {
  const match = /^https?:\/\/([^./]+)\.execute-api\.[^/]+\/([^/]+)\/?$/.exec(apiUrl);
  if (match === null) {
    throw new RangeError(
      `expected an API Gateway stage URL like https://<api-id>.execute-api.<host>/<stage>/, got "${apiUrl}"`,
    );
  }
  const [, apiId, stage] = match;
  return `${endpoint.replace(/\/+$/, '')}/_aws/execute-api/${apiId}/${stage}/`;
}
