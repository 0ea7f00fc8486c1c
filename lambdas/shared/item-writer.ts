/**
 * `PutItem` on a hot path (the prediction log's write on every predict) for a fraction of the SDK's
 * client-side cost, still with the SDK's own parts and answers.
 *
 * A `PutItemCommand` of a pre-marshalled item costs ~0.5-0.9 ms of CPU and ~130 kB of allocation on the
 * caller's side, most of it the generic command pipeline rather than the request: each send copies the
 * resolved client config several times (endpoint, serializer, deserializer), builds a new SigV4 signer
 * from another copy of it, re-resolves the endpoint parameters and the user agent, and allocates ~130 kB
 * (`bench/RESULTS.md`). The request itself is one POST of a small JSON body. So the first write goes
 * through the SDK (credentials, endpoint rules, signing), which also shows the writer the request it
 * made: where it went, its constant headers and its SigV4 scope. Later writes send that request again,
 * with a new body, signed by the SDK's `SignatureV4` over the client's own credential provider and clock
 * offset, through the client's own HTTP handler (keep-alive sockets, timeouts). Only a 200 is taken as
 * the answer: anything else — an error status, a socket the server closed while the container was frozen,
 * a refused signature — sends the same item through the SDK command, which retries, corrects clock skew
 * and throws the SDK's typed error, and the writer learns its request again from that send. Writing the
 * same item twice is harmless (a put replaces the item with itself).
 */
import {
  type AttributeValue,
  type DynamoDBClient,
  PutItemCommand,
  type PutItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { SignatureV4 } from '@smithy/signature-v4';

/** The request the SDK hands its HTTP handler (`@smithy/types` HttpRequest, which the signer returns too). */
interface HttpRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query: Record<string, unknown>;
  headers: Record<string, string>;
  body?: unknown;
}

/** Attribute values this writer can send as JSON as they are (DynamoDB's JSON is their own shape). */
export type PlainAttributeValue = AttributeValue.SMember | AttributeValue.NMember;

/** What a later write reuses of the request the SDK made. */
interface RequestTemplate {
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  /** The SDK's headers that do not change between writes (content type, target, user agent, host). */
  headers: Record<string, string>;
  signer: SignatureV4;
}

/** Headers each request gets anew: its signature, its length, and the SDK's per-attempt bookkeeping. */
const PER_REQUEST_HEADERS = new Set([
  'authorization',
  'x-amz-date',
  'x-amz-security-token',
  'x-amz-content-sha256',
  'content-length',
  'amz-sdk-invocation-id',
  'amz-sdk-request',
]);

/** The region and service of a SigV4 `Authorization` header's credential scope. */
const SIGV4_SCOPE = /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request,/;

/** Puts pre-marshalled items through `client` (which it owns: it adds a middleware to its stack). */
export class ItemWriter {
  private readonly client: DynamoDBClient;
  private template: RequestTemplate | undefined;
  /** The last request the SDK sent, until its answer says whether it can be a template. */
  private seen: HttpRequest | undefined;

  constructor(client: DynamoDBClient) {
    this.client = client;
    // Innermost of the stack: sees the request exactly as sent (after endpoint, build and signing).
    client.middlewareStack.add(
      (next) => async (args) => {
        this.seen = args.request as HttpRequest;
        return next(args);
      },
      { step: 'deserialize', priority: 'low', name: 'itemWriterTemplate' },
    );
  }

  /**
   * Writes one item whose attributes are strings and numbers.
   * @throws the SDK's error (e.g. `ResourceNotFoundException`) when DynamoDB refuses the item.
   */
  async put(tableName: string, item: Record<string, PlainAttributeValue>): Promise<void> {
    const input = { TableName: tableName, Item: item } satisfies PutItemCommandInput;
    if (this.template && (await this.sent(this.template, JSON.stringify(input)))) return;
    // Learn the request again from this send: whatever the SDK now decides (an endpoint read anew from
    // its configuration, say) is what later writes repeat.
    this.template = undefined;
    this.seen = undefined;
    await this.client.send(new PutItemCommand(input));
    this.template = this.templateOf(this.seen);
  }

  /** Sends `body` as the template's request; true when DynamoDB answered 200. */
  private async sent(template: RequestTemplate, body: string): Promise<boolean> {
    const { config } = this.client;
    try {
      const request = await template.signer.sign(
        {
          method: 'POST',
          protocol: template.protocol,
          hostname: template.hostname,
          port: template.port,
          path: template.path,
          query: {},
          headers: { ...template.headers, 'content-length': String(Buffer.byteLength(body)) },
          body,
        },
        // The SDK keeps its clock offset from DynamoDB's answers; sign with the same clock.
        { signingDate: new Date(Date.now() + config.systemClockOffset) },
      );
      const { response } = await config.requestHandler.handle(request);
      // Read the answer to the end so the socket goes back to the keep-alive pool.
      await config.streamCollector(response.body);
      return response.statusCode === 200;
    } catch {
      // A socket closed under us, a timeout: the SDK's command retries it.
      return false;
    }
  }

  /** The template of a request the SDK signed with SigV4, or undefined (the SDK then keeps every write). */
  private templateOf(request: HttpRequest | undefined): RequestTemplate | undefined {
    const scope = SIGV4_SCOPE.exec(String(request?.headers.authorization ?? ''));
    if (!request || !scope || request.method !== 'POST' || Object.keys(request.query).length > 0)
      return undefined;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers))
      if (!PER_REQUEST_HEADERS.has(name.toLowerCase())) headers[name] = value;
    const { config } = this.client;
    return {
      protocol: request.protocol,
      hostname: request.hostname,
      port: request.port,
      path: request.path,
      headers,
      signer: new SignatureV4({
        credentials: config.credentials,
        region: scope[1],
        service: scope[2],
        sha256: config.sha256,
      }),
    };
  }
}
