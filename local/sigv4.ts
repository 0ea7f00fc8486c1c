/**
 * AWS Signature Version 4, both ways, with the signer the AWS SDK itself uses (`@smithy/signature-v4`):
 * the CLI signs API calls to IAM-authorized routes with the user's credentials, and the local runtime
 * checks the signatures of every request to its AWS endpoints and IAM routes against the per-install
 * key pair, so the local door is locked the way AWS's is.
 */
import { createHash, createHmac, type Hash, type Hmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';

/** An access key pair (and, for temporary credentials, their session token). */
export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** How far a request's `x-amz-date` may be from the clock, as AWS allows. */
export const CLOCK_SKEW_MS = 15 * 60_000;

/** The byte forms the signer hands its hash (`@smithy/types` SourceData). */
type SourceData = string | ArrayBuffer | ArrayBufferView;

const bytesOf = (data: SourceData): string | Uint8Array =>
  typeof data === 'string'
    ? data
    : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);

/** SHA-256 and HMAC-SHA-256 from `node:crypto` in the shape the signer wants. */
class Sha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytesOf(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytesOf(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    throw new Error('Sha256.reset is not used by the signer');
  }
}

/** The signer's request shape (`@smithy/types` HttpRequest). */
interface SignableRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

function queryOf(params: URLSearchParams): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of params) {
    const seen = query[key];
    query[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return query;
}

/**
 * @param applyChecksum add (and sign) `x-amz-content-sha256`, as the SDK does; a verifier must not, since
 *   other clients (curl) leave it out.
 */
function signer(
  credentials: SigningCredentials,
  region: string,
  service: string,
  applyChecksum = true,
): SignatureV4 {
  // S3 signs its paths as they are; every other service encodes them once more.
  return new SignatureV4({
    credentials,
    region,
    service,
    sha256: Sha256,
    uriEscapePath: service !== 's3',
    applyChecksum,
  });
}

/**
 * The headers that sign a request: the given ones plus `host`, `x-amz-date`, `authorization` (and
 * `x-amz-security-token` for temporary credentials).
 * @example await signedHeaders({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body }, { credentials, region: 'us-east-1', service: 'execute-api' })
 */
export async function signedHeaders(
  request: { method: string; url: URL; headers?: Record<string, string>; body?: string },
  options: { credentials: SigningCredentials; region: string; service: string },
): Promise<Record<string, string>> {
  const { url } = request;
  const signed = (await signer(options.credentials, options.region, options.service).sign({
    method: request.method,
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query: queryOf(url.searchParams),
    headers: { ...request.headers, host: url.host },
    ...(request.body === undefined ? {} : { body: request.body }),
  } satisfies SignableRequest)) as SignableRequest;
  return signed.headers;
}

/** Why a request's signature is refused, in the words AWS uses. */
export class SignatureError extends Error {
  override readonly name = 'SignatureError';
  /** True when the request carried no signature at all. */
  readonly missing: boolean;
  constructor(message: string, missing = false) {
    super(message);
    this.missing = missing;
  }
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/\s]+)\/(\d{8})\/([^/\s]+)\/([^/\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$/;

/** `20251204T170540Z` → a Date, or undefined. */
function amzDate(text: string): Date | undefined {
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}

/** The key pair of an access key id, or undefined for a key that is not accepted. */
export type KeyRing = (accessKeyId: string) => SigningCredentials | undefined;

/**
 * Checks a received request's SigV4 signature against `credentials` (one key pair, or a {@link KeyRing}):
 * the key id, the service (when given), the clock, the payload hash and the signature over exactly the
 * headers the client signed.
 * @param request.path the path as received (still percent-encoded), without the query.
 * @returns the access key id that signed the request.
 * @throws {SignatureError} naming what is wrong; `missing` when there is no signature.
 */
export async function verifySignature(
  request: {
    method: string;
    path: string;
    query: URLSearchParams;
    headers: IncomingHttpHeaders;
    /** Undefined when the body is left unread: the signed `x-amz-content-sha256` header stands for it. */
    body?: Buffer;
  },
  options: { credentials: SigningCredentials | KeyRing; service?: string; now?: Date },
): Promise<string> {
  const authorization = request.headers.authorization;
  if (authorization === undefined) throw new SignatureError('Missing Authentication Token', true);
  const parts = AUTHORIZATION.exec(authorization);
  if (!parts) throw new SignatureError('Authorization header is not an AWS Signature Version 4');
  const [, accessKeyId, day, region, service, signedList, signature] = parts;
  const credentials =
    typeof options.credentials === 'function'
      ? options.credentials(accessKeyId)
      : options.credentials.accessKeyId === accessKeyId
        ? options.credentials
        : undefined;
  if (credentials === undefined)
    throw new SignatureError('The security token included in the request is invalid.');
  if (options.service !== undefined && service !== options.service)
    throw new SignatureError(`Credential should be scoped to correct service: '${options.service}'.`);
  const dateHeader = String(request.headers['x-amz-date'] ?? '');
  const date = amzDate(dateHeader);
  const now = options.now ?? new Date();
  if (!date || !dateHeader.startsWith(day) || Math.abs(now.getTime() - date.getTime()) > CLOCK_SKEW_MS)
    throw new SignatureError(
      'Signature expired or not yet valid: x-amz-date is missing or too far from now.',
    );
  const payloadHash = request.headers['x-amz-content-sha256'];
  if (request.body === undefined && !signedList.split(';').includes('x-amz-content-sha256'))
    throw new SignatureError('x-amz-content-sha256 must be signed.');
  if (
    request.body !== undefined &&
    typeof payloadHash === 'string' &&
    payloadHash !== 'UNSIGNED-PAYLOAD' &&
    payloadHash !== createHash('sha256').update(request.body).digest('hex')
  )
    throw new SignatureError('The provided x-amz-content-sha256 header does not match the body.');
  const names = signedList.split(';');
  const headers: Record<string, string> = {};
  for (const name of names) {
    const value = request.headers[name];
    if (value === undefined) throw new SignatureError(`Signed header ${name} is missing.`);
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const host = headers.host ?? '';
  const expected = (await signer(credentials, region, service, false).sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: host.replace(/:\d+$/, ''),
      path: request.path,
      query: queryOf(request.query),
      headers,
      ...(request.body === undefined ? {} : { body: request.body }),
    } satisfies SignableRequest,
    { signingDate: date, signableHeaders: new Set(names) },
  )) as SignableRequest;
  const computed = /Signature=([0-9a-f]{64})/.exec(expected.headers.authorization ?? '')?.[1] ?? '';
  if (computed.length !== signature.length || !timingSafeEqual(Buffer.from(computed), Buffer.from(signature)))
    throw new SignatureError(
      'The request signature we calculated does not match the signature you provided.',
    );
  return accessKeyId;
}
