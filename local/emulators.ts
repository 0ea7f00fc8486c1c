/**
 * The protocol emulators driftline runs on when there is no AWS: s3rver for S3 and dynalite for DynamoDB,
 * on loopback, persisted under a state folder. Handlers reach them through the normal AWS SDK clients
 * (endpoint environment variables), so the code under test is the code that runs on AWS.
 *
 * Given credentials, an emulator answers only requests signed with them (SigV4, checked here: s3rver
 * checks V4 signatures only partly, dynalite not at all, and both answer unsigned requests), from this
 * machine's loopback names, without a foreign `Origin`; errors are AWS-shaped and say nothing else.
 * Given an {@link AccessControl}, it also accepts the functions' own keys, and answers their requests only
 * when the function's IAM policy allows them (`AccessDenied` as AWS's otherwise).
 */
import type { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import {
  type AccessControl,
  type ActionRequest,
  dynamodbActions,
  s3Actions,
  UnmappedRequestError,
} from './iam.ts';
import { foreignRequestReason } from './loopback.ts';
import { SignatureError, type SigningCredentials, verifySignature } from './sigv4.ts';

export interface Emulator {
  endpoint: string;
  close(): Promise<void>;
}

/** S3 on loopback. `events` emits S3 notification records (`{ Records: [...] }`) for puts, copies and deletes. */
export interface S3Emulator extends Emulator {
  events: EventEmitter;
}

/** The largest DynamoDB request body (16 MB for BatchWriteItem, and some slack). */
const DYNAMODB_BODY_LIMIT = 20 * 1024 * 1024;

/** s3rver's account registry, where it looks up the secret of a request's access key. */
const s3rverAccounts = createRequire(import.meta.url)('s3rver/lib/models/account.js') as {
  DUMMY_ACCOUNT: { createKeyPair(accessKeyId: string, secretAccessKey: string): void };
};

type Refusal = { status: number; code: string; message: string };

interface GuardOptions {
  credentials: SigningCredentials;
  /** Who else may call, and what each may do. */
  access?: AccessControl;
  service: 's3' | 'dynamodb';
}

/**
 * Refuses `request` unless it is a signed loopback request its signer may make; resolves with its body
 * when it was read.
 */
async function admit(
  request: IncomingMessage,
  port: number,
  options: GuardOptions,
): Promise<{ body?: Buffer } | Refusal> {
  const foreign = foreignRequestReason(request, port);
  if (foreign) return { status: 403, code: 'AccessDenied', message: `Refused: ${foreign}` };
  const url = new URL(request.url ?? '/', 'http://loopback');
  let body: Buffer | undefined;
  // A multi-object delete names its keys in the body, which a restricted caller's authorization needs.
  const bulkDelete = options.service === 's3' && request.method === 'POST' && url.searchParams.has('delete');
  if (options.service === 'dynamodb' || (bulkDelete && options.access)) {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > DYNAMODB_BODY_LIMIT)
        return { status: 413, code: 'RequestEntityTooLarge', message: 'Request too large' };
      chunks.push(chunk as Buffer);
    }
    body = Buffer.concat(chunks);
  } else if (request.headers['x-amz-content-sha256'] === undefined && request.headers.authorization) {
    // S3 signs the payload hash it sends in this header; without it the body would have to be read twice.
    return { status: 400, code: 'InvalidRequest', message: 'Missing required header x-amz-content-sha256' };
  }
  let accessKeyId: string;
  try {
    accessKeyId = await verifySignature(
      {
        method: request.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: request.headers,
        ...(body === undefined ? {} : { body }),
      },
      { credentials: options.access?.credentialsOf ?? options.credentials, service: options.service },
    );
  } catch (error) {
    if (!(error instanceof SignatureError)) throw error;
    return {
      status: 403,
      code: error.missing ? 'MissingAuthenticationToken' : 'SignatureDoesNotMatch',
      message: error.message,
    };
  }
  const denied = options.access?.isRestricted(accessKeyId)
    ? authorize(options.access, accessKeyId, request, url, options.service, body)
    : undefined;
  return denied ?? { body };
}

/** AWS's refusal of a call the signer's policy does not allow (S3: 403, DynamoDB: 400). */
function authorize(
  access: AccessControl,
  accessKeyId: string,
  request: IncomingMessage,
  url: URL,
  service: 's3' | 'dynamodb',
  body: Buffer | undefined,
): Refusal | undefined {
  const [status, code] = service === 's3' ? [403, 'AccessDenied'] : [400, 'AccessDeniedException'];
  let actions: ActionRequest[];
  try {
    actions =
      service === 's3'
        ? s3Actions(request.method ?? 'GET', url.pathname, url.searchParams, request.headers, body)
        : dynamodbActions(
            request.headers['x-amz-target'] as string | undefined,
            body ?? Buffer.alloc(0),
            access.scope,
          );
  } catch (error) {
    if (!(error instanceof UnmappedRequestError)) throw error;
    return {
      status,
      code,
      message: `The local runtime refuses ${error.message}: it cannot tell which IAM actions it needs`,
    };
  }
  const denial = access.check(accessKeyId, actions);
  return denial ? { status, code, message: denial.message } : undefined;
}

/** The request again, for a listener that reads the body this guard already consumed. */
function replay(request: IncomingMessage, body: Buffer): IncomingMessage {
  const copy = Readable.from(body.length > 0 ? [body] : []);
  return Object.assign(copy, {
    headers: request.headers,
    rawHeaders: request.rawHeaders,
    method: request.method,
    url: request.url,
    httpVersion: request.httpVersion,
    socket: request.socket,
    connection: request.socket,
  }) as unknown as IncomingMessage;
}

/** Puts {@link admit} in front of every request `server` handles. */
function guard(server: Server, options: GuardOptions): void {
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  const { port } = server.address() as AddressInfo;
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    admit(request, port, options).then(
      (admitted) => {
        if ('status' in admitted) {
          request.resume();
          const xml = options.service === 's3';
          response.writeHead(admitted.status, {
            'content-type': xml ? 'application/xml' : 'application/x-amz-json-1.0',
          });
          response.end(
            xml
              ? `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${admitted.code}</Code><Message>${admitted.message.replace(/[<>&]/g, '')}</Message></Error>`
              : JSON.stringify({
                  __type: `com.amazon.coral.service#${admitted.code}`,
                  message: admitted.message,
                }),
          );
          return;
        }
        const forwarded = admitted.body === undefined ? request : replay(request, admitted.body);
        for (const listener of listeners) listener.call(server, forwarded, response);
      },
      () => {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end('{"message":"internal error"}');
      },
    );
  });
}

/**
 * Starts s3rver on 127.0.0.1 (`port` 0 = any free port) storing objects under `directory`.
 * @param options.credentials when given, the only key pair accepted (and every request must be signed).
 * @param options.access with `credentials`: the functions' keys also accepted, each within its policy.
 */
export async function startS3(options: {
  directory: string;
  port?: number;
  credentials?: SigningCredentials;
  access?: AccessControl;
}): Promise<S3Emulator> {
  mkdirSync(options.directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory: options.directory,
    // Signatures are checked by the guard below, with the signer the SDK uses; s3rver's own V4 check
    // is incomplete.
    allowMismatchedSignatures: true,
    vhostBuckets: false,
  });
  const address = (await server.run()) as AddressInfo;
  if (options.credentials) {
    for (const pair of [options.credentials, ...(options.access?.keyPairs ?? [])])
      s3rverAccounts.DUMMY_ACCOUNT.createKeyPair(pair.accessKeyId, pair.secretAccessKey);
    guard((server as unknown as { httpServer: Server }).httpServer, {
      credentials: options.credentials,
      ...(options.access ? { access: options.access } : {}),
      service: 's3',
    });
  }
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    events: server as unknown as EventEmitter,
    close: () => server.close(),
  };
}

/**
 * Starts dynalite on 127.0.0.1 with a LevelDB store under `directory` (in memory when omitted).
 * @param options.credentials when given, the only key pair accepted (and every request must be signed).
 * @param options.access with `credentials`: the functions' keys also accepted, each within its policy.
 * @param options.onOperation called with the operation of every request (`Query`, `Scan`, …), e.g. by a
 *   test that proves a path never scans.
 */
export async function startDynamo(options: {
  directory?: string;
  port?: number;
  credentials?: SigningCredentials;
  access?: AccessControl;
  onOperation?: (operation: string) => void;
}): Promise<Emulator> {
  if (options.directory) mkdirSync(options.directory, { recursive: true });
  const server = dynalite({
    path: options.directory ? join(options.directory, 'leveldb') : undefined,
    createTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  if (options.credentials)
    guard(server, {
      credentials: options.credentials,
      ...(options.access ? { access: options.access } : {}),
      service: 'dynamodb',
    });
  const { onOperation } = options;
  if (onOperation) {
    // `X-Amz-Target: DynamoDB_20120810.Scan` names the operation of every DynamoDB JSON request.
    server.prependListener('request', (request: IncomingMessage) => {
      const target = request.headers['x-amz-target'];
      if (typeof target === 'string') onOperation(target.slice(target.lastIndexOf('.') + 1));
    });
  }
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) =>
        server.close((error?: Error) => (error ? reject(error) : resolve())),
      ),
  };
}

/**
 * Creates a table and returns once it is `ACTIVE`. DynamoDB answers `CreateTable` with `CREATING` and
 * refuses reads and writes (`ResourceNotFoundException`) until the table is active; dynalite too, for
 * the moment until a timer of its own has stored the new status, which on a busy machine outlasts the
 * next request. The waiter's first look is immediate; it then looks again within 50-500 ms.
 */
export async function createActiveTable(
  client: DynamoDBClient,
  input: CreateTableCommandInput,
): Promise<void> {
  await client.send(new CreateTableCommand(input));
  await waitUntilTableExists(
    { client, maxWaitTime: 120, minDelay: 0.05, maxDelay: 0.5 },
    { TableName: input.TableName },
  );
}
