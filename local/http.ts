/**
 * The local HTTP front door on 127.0.0.1: the stack's REST API (API Gateway proxy events, v1 shape, to
 * the routes' Lambda functions) and, under `/_aws/`, the small AWS APIs the CLI and the handlers call
 * locally — Lambda `Invoke` (REST-JSON), SNS `Publish` (the query protocol the installed
 * `@aws-sdk/client-sns` speaks, and the JSON protocol) and Step Functions `StartExecution` (JSON 1.0) —
 * so AWS SDK v3 clients work unchanged when pointed at `<url>/_aws/lambda`, `/_aws/sns`, `/_aws/states`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  type FunctionHost,
  FunctionNotFoundError,
  type InvokeResult,
  RequestTooLargeError,
} from './functions.ts';
import { type AccessControl, localApiActions, UnmappedRequestError } from './iam.ts';
import { validateJsonSchema } from './jsonschema.ts';
import type { LogSink } from './log.ts';
import { foreignRequestReason } from './loopback.ts';
import { SignatureError, type SigningCredentials, verifySignature } from './sigv4.ts';
import { SnsError, type SnsMessageAttribute, type SnsService } from './sns.ts';
import { type StepFunctions, StepFunctionsError } from './stepfunctions.ts';
import type { LocalApi, LocalRoute } from './template.ts';

/** Where the AWS APIs live on the server; API routes may not start with it. */
export const AWS_PREFIX = '/_aws';

/** API Gateway's payload limit (10 MB). */
export const API_BODY_LIMIT_BYTES = 10 * 1024 * 1024;

/** API Gateway's default integration timeout (29 s); a method's `TimeoutInMillis` overrides it. */
export const API_INTEGRATION_TIMEOUT_MS = 29_000;

/** What the server serves once mounted. */
export interface HttpApp {
  apis: readonly LocalApi[];
  functions: FunctionHost;
  sns: SnsService;
  /** Runs `StartExecution` (how `driftline retrain` starts a run). */
  stepFunctions: Pick<StepFunctions, 'start' | 'describe'>;
  account: string;
  region: string;
  /** The install's key pair: the AWS APIs and `AWS_IAM` routes require requests signed with it. */
  credentials: SigningCredentials;
  /** The functions' keys, also accepted on the AWS APIs, each within its role's policy. */
  access?: AccessControl;
  log: LogSink;
}

/** Options of {@link HttpFrontDoor.listen}. */
export interface ListenOptions {
  /** 0 picks a free port. */
  port: number;
  /** @default '127.0.0.1' */
  host?: string;
}

type Reply = { status: number; headers?: Record<string, string | string[]>; body?: string | Buffer };

/**
 * API Gateway (REST) refuses a request whose request line and header values exceed 10,240 bytes
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html); the runtime does the same.
 */
const API_GATEWAY_HEAD_BYTES = 10_240;
/** How much request head the runtime's parser reads before refusing it outright. */
const PARSED_HEADER_BYTES = 64 * 1024;

/** The bytes of a request's line and header values, as API Gateway counts them. */
function headBytes(request: IncomingMessage): number {
  let bytes = Buffer.byteLength(`${request.method} ${request.url} HTTP/${request.httpVersion}`);
  for (let i = 1; i < request.rawHeaders.length; i += 2) bytes += Buffer.byteLength(request.rawHeaders[i]);
  return bytes;
}

const json = (status: number, value: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(value),
});

/**
 * API Gateway's answer to a body it cannot pass on: over its own 10 MB, or an event over Lambda's 6 MB
 * synchronous payload (API Gateway answers that 413 too, not a 5xx: the client sent too much).
 */
const requestTooLong = (headers: Record<string, string> = {}): Reply =>
  json(413, { message: 'Request Too Long', error: 'RequestTooLarge' }, headers);

class BodyTooLargeError extends Error {}

async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limit) throw new BodyTooLargeError();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLargeError();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

// --- API Gateway ----------------------------------------------------------------------------------

type Segment =
  | { kind: 'literal'; text: string }
  | { kind: 'param'; name: string }
  | { kind: 'greedy'; name: string };

function segmentsOf(template: string): Segment[] {
  return template
    .split('/')
    .filter((part) => part !== '')
    .map((part): Segment => {
      const param = /^\{([^}+]+)(\+?)\}$/.exec(part);
      if (!param) return { kind: 'literal', text: part };
      return param[2] === '+' ? { kind: 'greedy', name: param[1] } : { kind: 'param', name: param[1] };
    });
}

/** Path parameters when `path` fits `template`, else undefined. */
function matchTemplate(template: string, parts: string[]): Record<string, string> | undefined {
  const segments = segmentsOf(template);
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    if (segment.kind === 'greedy') {
      if (i >= parts.length) return undefined;
      params[segment.name] = parts.slice(i).join('/');
      return params;
    }
    if (i >= parts.length) return undefined;
    if (segment.kind === 'literal' && segment.text !== parts[i]) return undefined;
    if (segment.kind === 'param') params[segment.name] = parts[i];
  }
  return segments.length === parts.length ? params : undefined;
}

/** Literal segments beat parameters, which beat a greedy `{proxy+}` (API Gateway's precedence). */
function specificity(template: string): number[] {
  return segmentsOf(template).map((s) => (s.kind === 'literal' ? 2 : s.kind === 'param' ? 1 : 0));
}

function compareSpecificity(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const diff = (b[i] ?? -1) - (a[i] ?? -1);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** The route for a request: the most specific resource path, then the method (or ANY). */
export function findRoute(
  routes: readonly LocalRoute[],
  path: string,
  method: string,
): { route: LocalRoute; pathParameters: Record<string, string> } | { status: 404 | 405; allow?: string[] } {
  const parts = path
    .split('/')
    .filter((part) => part !== '')
    .map((part) => decodeURIComponent(part));
  const resources = [...new Set(routes.map((r) => r.path))]
    .map((template) => ({ template, params: matchTemplate(template, parts) }))
    .filter((m): m is { template: string; params: Record<string, string> } => m.params !== undefined)
    .sort((a, b) => compareSpecificity(specificity(a.template), specificity(b.template)));
  if (resources.length === 0) return { status: 404 };
  const [best] = resources;
  const methods = routes.filter((r) => r.path === best.template);
  const route = methods.find((r) => r.method === method) ?? methods.find((r) => r.method === 'ANY');
  if (!route) return { status: 405, allow: methods.map((r) => r.method) };
  return { route, pathParameters: best.params };
}

/**
 * The route of a request, at the root (`/models`) or, as API Gateway's stage URLs have it, under the
 * stage (`/prod/models`), so pages reached either way resolve their relative links the same.
 */
function routeOf(
  api: LocalApi,
  pathname: string,
  method: string,
): { path: string; found: ReturnType<typeof findRoute> } {
  const found = findRoute(api.routes, pathname, method);
  const stage = `/${api.stage}`;
  if (!('status' in found) || !(pathname === stage || pathname.startsWith(`${stage}/`)))
    return { path: pathname, found };
  const path = pathname.slice(stage.length) || '/';
  const staged = findRoute(api.routes, path, method);
  return 'status' in staged && staged.status === 404 ? { path: pathname, found } : { path, found: staged };
}

/** API Gateway's `requestTime` format: `23/Nov/2025:18:05:12 +0000`. */
function requestTime(date: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

function isBinary(contentType: string | undefined, binaryTypes: readonly string[]): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0].trim().toLowerCase();
  return binaryTypes.some((pattern) => {
    const [major, minor] = pattern.toLowerCase().split('/');
    const [typeMajor, typeMinor] = type.split('/');
    return (major === '*' || major === typeMajor) && (minor === '*' || minor === typeMinor);
  });
}

function multiMap(
  pairs: [string, string][],
): { single: Record<string, string>; multi: Record<string, string[]> } | undefined {
  if (pairs.length === 0) return undefined;
  const multi: Record<string, string[]> = {};
  for (const [key, value] of pairs) multi[key] = [...(multi[key] ?? []), value];
  const single = Object.fromEntries(
    Object.entries(multi).map(([key, values]) => [key, values[values.length - 1]]),
  );
  return { single, multi };
}

/** The API Gateway REST (v1) proxy event for a request that matched `route`. */
export function proxyEvent(options: {
  api: LocalApi;
  route: LocalRoute;
  request: IncomingMessage;
  url: URL;
  /** The resource path the request addressed (without a stage prefix). @default the URL's path */
  path?: string;
  pathParameters: Record<string, string>;
  body: Buffer;
  account: string;
  requestId: string;
  now: Date;
}): Record<string, unknown> {
  const { api, route, request, url, body } = options;
  const rawHeaders: [string, string][] = [];
  for (let i = 0; i < request.rawHeaders.length; i += 2)
    rawHeaders.push([request.rawHeaders[i], request.rawHeaders[i + 1]]);
  const headers = multiMap(rawHeaders);
  const query = multiMap([...url.searchParams.entries()]);
  const contentType = request.headers['content-type'];
  const binary = isBinary(contentType, api.binaryMediaTypes);
  const path = decodeURI(options.path ?? url.pathname);
  const staged = path !== decodeURI(url.pathname);
  const sourceIp = (request.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  return {
    resource: route.path,
    path,
    httpMethod: request.method,
    headers: headers?.single ?? null,
    multiValueHeaders: headers?.multi ?? null,
    queryStringParameters: query?.single ?? null,
    multiValueQueryStringParameters: query?.multi ?? null,
    pathParameters: Object.keys(options.pathParameters).length > 0 ? options.pathParameters : null,
    stageVariables: null,
    requestContext: {
      accountId: options.account,
      apiId: api.id,
      domainName: request.headers.host ?? '127.0.0.1',
      domainPrefix: (request.headers.host ?? '127').split('.')[0],
      extendedRequestId: options.requestId,
      httpMethod: request.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: request.headers['x-api-key'] ?? null,
        caller: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp,
        user: null,
        userAgent: request.headers['user-agent'] ?? null,
        userArn: null,
      },
      // The path the client asked for: API Gateway's always starts with the stage.
      path: staged ? decodeURI(url.pathname) : `/${api.stage}${path}`,
      protocol: `HTTP/${request.httpVersion}`,
      requestId: options.requestId,
      requestTime: requestTime(options.now),
      requestTimeEpoch: options.now.getTime(),
      resourceId: createHash('sha256').update(route.path).digest('hex').slice(0, 6),
      resourcePath: route.path,
      stage: api.stage,
    },
    body: body.length === 0 ? null : binary ? body.toString('base64') : body.toString('utf8'),
    isBase64Encoded: binary && body.length > 0,
  };
}

/** The HTTP response for a Lambda proxy integration's result, or 502 when the result is malformed. */
export function proxyResponse(result: InvokeResult): Reply {
  const internalError = json(
    502,
    { message: 'Internal server error' },
    { 'x-amzn-ErrorType': 'InternalServerErrorException' },
  );
  if (!result.ok) return internalError;
  const value = JSON.parse(result.payload) as Record<string, unknown> | null;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return internalError;
  const status = Number(value.statusCode);
  if (!Number.isInteger(status) || status < 100 || status > 599) return internalError;
  if (value.body !== undefined && value.body !== null && typeof value.body !== 'string') return internalError;
  const headers: Record<string, string | string[]> = {};
  for (const [key, values] of Object.entries((value.multiValueHeaders ?? {}) as Record<string, unknown[]>)) {
    headers[key.toLowerCase()] = values.map(String);
  }
  for (const [key, v] of Object.entries((value.headers ?? {}) as Record<string, unknown>))
    headers[key.toLowerCase()] = String(v);
  headers['content-type'] ??= 'application/json';
  const text = (value.body as string | null | undefined) ?? '';
  return { status, headers, body: value.isBase64Encoded === true ? Buffer.from(text, 'base64') : text };
}

function missingParameters(
  route: LocalRoute,
  request: IncomingMessage,
  url: URL,
  pathParameters: Record<string, string>,
): string[] {
  return route.requiredParameters.flatMap((parameter) => {
    const [, where, name] = /^method\.request\.(path|querystring|header)\.(.+)$/.exec(parameter) ?? [];
    const present =
      where === 'path'
        ? pathParameters[name] !== undefined
        : where === 'querystring'
          ? url.searchParams.has(name)
          : where === 'header'
            ? request.headers[name.toLowerCase()] !== undefined
            : true;
    return present ? [] : [name];
  });
}

/**
 * A response API Gateway makes itself (`type` as in `AWS::ApiGateway::GatewayResponse`): the API's own
 * response for that type, else its `DEFAULT_4XX`/`DEFAULT_5XX`, else API Gateway's default `{message}`.
 */
function gatewayResponse(
  api: LocalApi,
  type: string,
  status: number,
  message: string,
  options: { validationErrors?: string[]; headers?: Record<string, string> } = {},
): Reply {
  const custom =
    api.gatewayResponses[type] ?? api.gatewayResponses[status >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX'];
  const template = custom?.templates['application/json'];
  const headers = { 'content-type': 'application/json', ...options.headers };
  const statusCode = (api.gatewayResponses[type]?.statusCode ?? status) as number;
  if (!template) return { status: statusCode, headers, body: JSON.stringify({ message }) };
  const inString = (text: string) => JSON.stringify(text).slice(1, -1);
  const values: [string, string][] = [
    ['$context.error.validationErrorString', inString(`[${(options.validationErrors ?? []).join(', ')}]`)],
    ['$context.error.messageString', JSON.stringify(message)],
    ['$context.error.message', inString(message)],
    ['$context.error.responseType', inString(type)],
  ];
  // Each value by a function: a replacement string would read a caller's `$'`, `$&` or `$$` (in a key or
  // value the validation error quotes) as a pattern, splicing parts of the template into the answer.
  const body = values.reduce((text, [variable, value]) => text.replaceAll(variable, () => value), template);
  return { status: statusCode, headers, body };
}

/** The API's `BAD_REQUEST_BODY` gateway response, or API Gateway's default. */
function badRequestBody(api: LocalApi, errors: string[]): Reply {
  return gatewayResponse(api, 'BAD_REQUEST_BODY', 400, 'Invalid request body', {
    validationErrors: errors,
  });
}

// --- Lambda Invoke ------------------------------------------------------------------------------------

function awsError(status: number, type: string, message: string): Reply {
  return json(
    status,
    { Type: 'User', __type: type, message, Message: message },
    { 'x-amzn-ErrorType': type },
  );
}

/**
 * A function's call to the local AWS APIs refused as AWS refuses it when its role lacks the grant: Step
 * Functions answers 400, Lambda 403 (both `AccessDeniedException`), SNS 403 `AuthorizationError`.
 */
function authorizeAwsCall(
  access: AccessControl,
  accessKeyId: string,
  service: string,
  path: string,
  request: IncomingMessage,
  body: Buffer,
): Reply | undefined {
  let message: string | undefined;
  try {
    message = access.check(
      accessKeyId,
      localApiActions(service, path, request.headers, body, access.scope),
    )?.message;
  } catch (error) {
    if (!(error instanceof UnmappedRequestError)) throw error;
    // The APIs run exactly the mapped actions: anything else they answer as not emulated, doing nothing.
    return undefined;
  }
  if (message === undefined) return undefined;
  if (service !== 'sns') return awsError(service === 'states' ? 400 : 403, 'AccessDeniedException', message);
  const target = String(request.headers['x-amz-target'] ?? '');
  if (target.startsWith('AmazonSimpleNotificationService.'))
    return json(
      403,
      { __type: 'AuthorizationError', message },
      { 'x-amzn-query-error': 'AuthorizationError;Sender' },
    );
  return {
    status: 403,
    headers: { 'content-type': 'text/xml' },
    body: `<ErrorResponse xmlns="${SNS_XMLNS}"><Error><Type>Sender</Type><Code>AuthorizationError</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  };
}

// --- SNS Publish --------------------------------------------------------------------------------------

const SNS_XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';

function xmlEscape(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );
}

/** `MessageAttributes.entry.N.Name` / `.Value.DataType` / `.Value.StringValue` → attributes. */
function queryAttributes(form: URLSearchParams): Record<string, SnsMessageAttribute> {
  const attributes: Record<string, SnsMessageAttribute> = {};
  for (let n = 1; form.has(`MessageAttributes.entry.${n}.Name`); n++) {
    const prefix = `MessageAttributes.entry.${n}`;
    const value: SnsMessageAttribute = { DataType: form.get(`${prefix}.Value.DataType`) ?? 'String' };
    const stringValue = form.get(`${prefix}.Value.StringValue`);
    const binaryValue = form.get(`${prefix}.Value.BinaryValue`);
    if (stringValue !== null) value.StringValue = stringValue;
    if (binaryValue !== null) value.BinaryValue = binaryValue;
    attributes[form.get(`${prefix}.Name`)!] = value;
  }
  return attributes;
}

/**
 * The runtime's HTTP server. It listens first (so the API URL is known when the template is resolved) and
 * serves once {@link mount}ed; until then every request gets 503.
 */
export class HttpFrontDoor {
  private server?: Server;
  private app?: HttpApp;
  private base = '';

  /** Starts listening. @returns the base URL, e.g. `http://127.0.0.1:3000/`. */
  async listen(options: ListenOptions): Promise<string> {
    // Node's parser stops at 16 KB of request line and headers; reading up to 64 KB lets the runtime
    // answer API Gateway's own limit (below) as the API's JSON error, and drain the body first.
    const server = createServer(
      { maxHeaderSize: PARSED_HEADER_BYTES },
      (request, response) => void this.handle(request, response),
    );
    // Anything the parser still refuses (a larger or malformed head) also gets a JSON answer.
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
      if (!socket.writable) return void socket.destroy();
      const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
      const body = JSON.stringify(
        tooLarge
          ? { message: 'Request Header Fields Too Large', error: 'RequestHeaderFieldsTooLarge' }
          : { message: 'Bad Request', error: 'BadRequest' },
      );
      socket.end(
        `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
    });
    this.server = server;
    const { port } = server.address() as AddressInfo;
    this.base = `http://${options.host ?? '127.0.0.1'}:${port}`;
    return `${this.base}/`;
  }

  /** The base URL (without a trailing slash). */
  get origin(): string {
    return this.base;
  }

  /**
   * Serves `app`.
   * @throws {Error} when an API route would be shadowed by the AWS APIs' prefix.
   */
  mount(app: HttpApp): void {
    const clash = app.apis
      .flatMap((api) => api.routes)
      .find((route) => route.path.split('/')[1] === AWS_PREFIX.slice(1));
    if (clash)
      throw new Error(`API route ${clash.path} clashes with the local AWS endpoints under ${AWS_PREFIX}`);
    this.app = app;
  }

  /** Stops the server, closing open connections. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let reply: Reply;
    try {
      // The limit is the API's; the AWS endpoints under /_aws keep their own.
      const api = !(request.url ?? '/').startsWith(AWS_PREFIX);
      reply =
        api && headBytes(request) > API_GATEWAY_HEAD_BYTES
          ? json(431, { message: 'Request Header Fields Too Large', error: 'RequestHeaderFieldsTooLarge' })
          : await this.route(request);
    } catch (error) {
      if (error instanceof BodyTooLargeError) reply = requestTooLong();
      else if (error instanceof URIError) reply = json(400, { message: 'Bad Request', error: 'BadRequest' });
      else {
        this.app?.log.line(
          'http',
          `${request.method} ${request.url} failed: ${(error as Error).stack ?? error}`,
        );
        reply = json(500, { message: 'Internal server error', error: 'InternalServerError' });
      }
    }
    if (response.headersSent) return;
    response.writeHead(reply.status, reply.headers ?? {});
    response.end(reply.body);
    if (reply.status === 413 || reply.status === 431) request.resume();
  }

  private async route(request: IncomingMessage): Promise<Reply> {
    const app = this.app;
    const url = new URL(request.url ?? '/', this.base);
    const aws = url.pathname === AWS_PREFIX || url.pathname.startsWith(`${AWS_PREFIX}/`);
    // Pages may be opened from a link on another site; nothing else may be asked by another site.
    const foreign = foreignRequestReason(request, Number(new URL(this.base).port), { navigation: !aws });
    if (foreign) {
      request.resume();
      return json(403, { message: `Refused: ${foreign}`, error: 'ForbiddenRequest' });
    }
    if (!app) return json(503, { message: 'the local runtime is starting', error: 'Starting' });
    if (aws) return this.aws(app, request, url);
    return this.api(app, request, url);
  }

  private async api(app: HttpApp, request: IncomingMessage, url: URL): Promise<Reply> {
    const requestId = randomUUID();
    const stamp = { 'x-amzn-RequestId': requestId };
    const method = (request.method ?? 'GET').toUpperCase();
    const api = app.apis[0];
    if (!api) return json(404, { message: 'Not Found', error: 'NotFound' }, stamp);
    const { path, found } = routeOf(api, url.pathname, method);
    if ('status' in found) {
      request.resume();
      if (found.status === 405) {
        return json(
          405,
          { message: 'Method Not Allowed', error: 'MethodNotAllowed' },
          { ...stamp, allow: (found.allow ?? []).join(', ') },
        );
      }
      return json(404, { message: 'Not Found', error: 'NotFound' }, stamp);
    }
    const { route, pathParameters } = found;
    const body = await readBody(request, API_BODY_LIMIT_BYTES);
    const denied = await this.authorize(app, api, route, request, url, body);
    if (denied) return { ...denied, headers: { ...denied.headers, ...stamp } };
    const missing = missingParameters(route, request, url, pathParameters);
    if (missing.length > 0) {
      const message = `Missing required request parameters: [${missing.join(', ')}]`;
      return gatewayResponse(api, 'BAD_REQUEST_PARAMETERS', 400, message, { headers: stamp });
    }
    if (route.bodySchema && /json/i.test(String(request.headers['content-type'] ?? 'application/json'))) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        return badRequestBody(api, ['Invalid JSON in request body']);
      }
      const errors = validateJsonSchema(route.bodySchema, parsed);
      if (errors.length > 0) return badRequestBody(api, errors);
    }
    const integration = route.integration;
    if (integration.type === 'mock') {
      return {
        status: integration.statusCode,
        headers: { ...integration.headers, ...stamp },
        body: integration.body,
      };
    }
    if (integration.type === 'unsupported') {
      return json(501, { message: `${integration.description} is not run by the local runtime` }, stamp);
    }
    const event = proxyEvent({
      api,
      route,
      request,
      url,
      path,
      pathParameters,
      body,
      account: app.account,
      requestId,
      now: new Date(),
    });
    const timeoutMs = integration.timeoutMs ?? API_INTEGRATION_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const invocation = app.functions.invoke(integration.functionArn, event).catch((error: unknown) => {
      if (error instanceof RequestTooLargeError) return 'tooLarge' as const;
      throw error;
    });
    const result = await Promise.race([invocation, timeout]);
    clearTimeout(timer);
    if (result === 'tooLarge') return requestTooLong(stamp);
    if (result === 'timeout')
      return gatewayResponse(api, 'INTEGRATION_TIMEOUT', 504, 'Endpoint request timed out', {
        headers: stamp,
      });
    const reply = proxyResponse(result);
    return { ...reply, headers: { ...reply.headers, ...stamp } };
  }

  /**
   * API Gateway's checks before integrating, in its order: the method's authorization (a SigV4 signature
   * for `execute-api` with the install's keys for `AWS_IAM`; any other authorizer is refused, as it is not
   * run locally), then the API key.
   * @returns the refusal, or undefined when the request may proceed.
   */
  private async authorize(
    app: HttpApp,
    api: LocalApi,
    route: LocalRoute,
    request: IncomingMessage,
    url: URL,
    body: Buffer,
  ): Promise<Reply | undefined> {
    if (route.authorizationType === 'AWS_IAM') {
      try {
        await verifySignature(
          {
            method: request.method ?? 'GET',
            path: url.pathname,
            query: url.searchParams,
            headers: request.headers,
            body,
          },
          { credentials: app.credentials, service: 'execute-api' },
        );
      } catch (error) {
        if (!(error instanceof SignatureError)) throw error;
        return gatewayResponse(
          api,
          error.missing ? 'MISSING_AUTHENTICATION_TOKEN' : 'INVALID_SIGNATURE',
          403,
          error.message,
        );
      }
    } else if (route.authorizationType !== 'NONE') {
      return gatewayResponse(
        api,
        'ACCESS_DENIED',
        403,
        `${route.authorizationType} authorization is not run by the local runtime`,
      );
    }
    if (route.apiKeyRequired && !api.apiKeys.includes(String(request.headers['x-api-key'] ?? ''))) {
      return gatewayResponse(api, 'INVALID_API_KEY', 403, 'Forbidden');
    }
    return undefined;
  }

  /** The local AWS APIs, for requests signed with the install's keys only. */
  private async aws(app: HttpApp, request: IncomingMessage, url: URL): Promise<Reply> {
    const [, , service, ...rest] = url.pathname.split('/');
    const body = await readBody(request, API_BODY_LIMIT_BYTES);
    let accessKeyId: string;
    try {
      accessKeyId = await verifySignature(
        {
          method: request.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
          headers: request.headers,
          body,
        },
        { credentials: app.access?.credentialsOf ?? app.credentials },
      );
    } catch (error) {
      if (!(error instanceof SignatureError)) throw error;
      return awsError(
        403,
        error.missing ? 'MissingAuthenticationTokenException' : 'InvalidSignatureException',
        error.message,
      );
    }
    if (app.access?.isRestricted(accessKeyId)) {
      const denied = authorizeAwsCall(app.access, accessKeyId, service, `/${rest.join('/')}`, request, body);
      if (denied) return denied;
    }
    if (service === 'lambda') return this.lambdaApi(app, request, `/${rest.join('/')}`, body);
    if (service === 'sns') return this.snsApi(app, request, body);
    if (service === 'states') return this.statesApi(app, request, body);
    return awsError(501, 'NotImplemented', `the driftline local runtime does not emulate ${url.pathname}`);
  }

  /** Step Functions `StartExecution` and `DescribeExecution` in the JSON 1.0 protocol (`X-Amz-Target` names the action). */
  private async statesApi(app: HttpApp, request: IncomingMessage, raw: Buffer): Promise<Reply> {
    const action = String(request.headers['x-amz-target'] ?? '');
    const text = raw.toString('utf8');
    const actions = ['AWSStepFunctions.StartExecution', 'AWSStepFunctions.DescribeExecution'];
    if (request.method !== 'POST' || !actions.includes(action)) {
      return awsError(
        501,
        'NotImplemented',
        `Step Functions ${action || request.method} is not emulated locally (StartExecution and DescribeExecution only)`,
      );
    }
    const headers = { 'content-type': 'application/x-amz-json-1.0' };
    let body: { stateMachineArn?: string; name?: string; input?: string; executionArn?: string };
    try {
      body = JSON.parse(text || '{}');
      if (action === 'AWSStepFunctions.DescribeExecution') {
        const record = app.stepFunctions.describe(String(body.executionArn ?? ''));
        return json(
          200,
          {
            executionArn: record.executionArn,
            stateMachineArn: record.stateMachineArn,
            name: record.name,
            status: record.status,
            startDate: record.startDate.getTime() / 1000,
            ...(record.stopDate === undefined ? {} : { stopDate: record.stopDate.getTime() / 1000 }),
          },
          headers,
        );
      }
      const input = JSON.parse(body.input ?? '{}');
      const record = app.stepFunctions.start(input, { name: body.name, stateMachine: body.stateMachineArn });
      return json(
        200,
        { executionArn: record.executionArn, startDate: record.startDate.getTime() / 1000 },
        headers,
      );
    } catch (error) {
      if (error instanceof SyntaxError) return awsError(400, 'InvalidExecutionInput', error.message);
      if (error instanceof StepFunctionsError) return awsError(400, error.name, error.message);
      throw error;
    }
  }

  private async lambdaApi(
    app: HttpApp,
    request: IncomingMessage,
    path: string,
    body: Buffer,
  ): Promise<Reply> {
    const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(path);
    if (!match || request.method !== 'POST') {
      return awsError(
        501,
        'NotImplemented',
        `Lambda ${request.method} ${path} is not emulated locally (Invoke only)`,
      );
    }
    const name = decodeURIComponent(match[1]);
    const fn = app.functions.find(name);
    if (!fn) return awsError(404, 'ResourceNotFoundException', `Function not found: ${name}`);
    const text = body.toString('utf8') || 'null';
    try {
      JSON.parse(text);
    } catch {
      return awsError(400, 'InvalidRequestContentException', 'Could not parse request body into json');
    }
    const type = String(request.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    const version = { 'x-amz-executed-version': '$LATEST' };
    if (type === 'DryRun') return { status: 204, headers: version };
    if (type === 'Event') {
      const requestId = app.functions.invokeAsync(fn.name, JSON.parse(text));
      return { status: 202, headers: { ...version, 'x-amzn-RequestId': requestId } };
    }
    let result: InvokeResult;
    try {
      result = await app.functions.invokeJson(fn.name, text);
    } catch (error) {
      if (error instanceof RequestTooLargeError) return awsError(413, error.name, error.message);
      if (error instanceof FunctionNotFoundError) return awsError(404, error.name, error.message);
      throw error;
    }
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-amzn-RequestId': result.requestId,
      ...version,
    };
    if (request.headers['x-amz-log-type'] === 'Tail') {
      headers['x-amz-log-result'] = Buffer.from(result.logs.join('\n')).subarray(-4096).toString('base64');
    }
    if (!result.ok) {
      headers['x-amz-function-error'] = 'Unhandled';
      // AWS includes the stack; locally it names files of this machine, so it stays in the function's log.
      const { trace: _trace, ...error } = result.error;
      return { status: 200, headers, body: JSON.stringify({ ...error, trace: [] }) };
    }
    return { status: 200, headers, body: result.payload };
  }

  private async snsApi(app: HttpApp, request: IncomingMessage, raw: Buffer): Promise<Reply> {
    const body = raw.toString('utf8');
    const target = String(request.headers['x-amz-target'] ?? '');
    const jsonProtocol = target.startsWith('AmazonSimpleNotificationService.');
    const requestId = randomUUID();
    let action: string;
    let params: {
      topicArn: string;
      message: string;
      subject?: string;
      messageAttributes?: Record<string, SnsMessageAttribute>;
    };
    if (jsonProtocol) {
      action = target.slice(target.indexOf('.') + 1);
      const input = JSON.parse(body || '{}') as Record<string, unknown>;
      params = {
        topicArn: String(input.TopicArn ?? input.TargetArn ?? ''),
        message: String(input.Message ?? ''),
        ...(input.Subject === undefined ? {} : { subject: String(input.Subject) }),
        messageAttributes: (input.MessageAttributes ?? {}) as Record<string, SnsMessageAttribute>,
      };
    } else {
      const form = new URLSearchParams(body);
      action = form.get('Action') ?? '';
      params = {
        topicArn: form.get('TopicArn') ?? form.get('TargetArn') ?? '',
        message: form.get('Message') ?? '',
        ...(form.has('Subject') ? { subject: form.get('Subject')! } : {}),
        messageAttributes: queryAttributes(form),
      };
    }
    const fail = (status: number, code: string, message: string): Reply =>
      jsonProtocol
        ? json(status, { __type: code, message }, { 'x-amzn-query-error': `${code};Sender` })
        : {
            status,
            headers: { 'content-type': 'text/xml' },
            body: `<ErrorResponse xmlns="${SNS_XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
          };
    if (action !== 'Publish')
      return fail(400, 'InvalidAction', `${action || 'that action'} is not emulated locally (Publish only)`);
    let messageId: string;
    try {
      messageId = app.sns.publish(params).messageId;
    } catch (error) {
      if (error instanceof SnsError)
        return fail(error.code === 'NotFound' ? 404 : 400, error.code, error.message);
      throw error;
    }
    if (jsonProtocol) return json(200, { MessageId: messageId });
    return {
      status: 200,
      headers: { 'content-type': 'text/xml' },
      body: `<PublishResponse xmlns="${SNS_XMLNS}"><PublishResult><MessageId>${messageId}</MessageId></PublishResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></PublishResponse>`,
    };
  }
}
