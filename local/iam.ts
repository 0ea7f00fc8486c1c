/**
 * Least privilege, enforced locally: each function's container signs its AWS calls with a key pair of its
 * own, and the emulators and the runtime's AWS endpoints allow a call only when the function's execution
 * role (its IAM policies in the synthesized template) allows it — so a grant missing from `infra/` fails
 * here with the `AccessDenied` it would get on AWS, instead of first showing up in a deployed stack.
 * The install's own key pair (CLI, operator, tests' clients) keeps full access.
 *
 * The evaluator follows IAM's identity-policy logic for what the template uses: an explicit `Deny` wins,
 * then any `Allow`, else the call is denied; `*` and `?` wildcards in actions (case-insensitive) and
 * resources; `NotAction` and `NotResource`. A condition, a policy variable or a permissions boundary is
 * not evaluated locally, so a role that has one refuses to load rather than be silently allowed.
 *
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
 */
import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { type CfnResource, IntrinsicError, type TemplateResolver } from './intrinsics.ts';
import type { SigningCredentials } from './sigv4.ts';

/** A role's policy the local runtime cannot evaluate faithfully (so it refuses to start). */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
}

/** One IAM policy statement with its ARNs resolved for the local deployment. */
export interface PolicyStatement {
  readonly effect: 'Allow' | 'Deny';
  /** `Action` patterns; absent when the statement uses `NotAction`. */
  readonly actions?: readonly string[];
  readonly notActions?: readonly string[];
  /** `Resource` patterns; absent when the statement uses `NotResource`. */
  readonly resources?: readonly string[];
  readonly notResources?: readonly string[];
}

/** A function's execution role, as the local runtime enforces it. */
export interface ExecutionRole {
  logicalId: string;
  /** The role's ARN. */
  arn: string;
  /** The role's name (what `assumed-role/<name>/<session>` ARNs carry). */
  name: string;
  statements: PolicyStatement[];
  /** What the role carries that grants nothing locally (AWS managed policies), for the startup log. */
  notes: string[];
}

/** One authorization question: may the caller perform `action` on `resource`? */
export interface ActionRequest {
  /** `service:Action`, e.g. `dynamodb:PutItem`. */
  action: string;
  /** The resource's ARN, or `*` for actions without one (e.g. `s3:ListAllMyBuckets`). */
  resource: string;
}

/** The outcome of {@link evaluate}: IAM's three results. */
export type Decision = 'allow' | 'explicitDeny' | 'implicitDeny';

const asList = (value: unknown): unknown[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

const patternCache = new Map<string, RegExp>();

/** IAM's wildcard match: `*` any run of characters (slashes and colons too), `?` exactly one. */
export function wildcardMatches(pattern: string, value: string, ignoreCase = false): boolean {
  if (!pattern.includes('*') && !pattern.includes('?'))
    return ignoreCase ? pattern.toLowerCase() === value.toLowerCase() : pattern === value;
  const cacheKey = `${ignoreCase ? 'i' : 's'}${pattern}`;
  let regex = patternCache.get(cacheKey);
  if (!regex) {
    const body = pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/, '\\$&')))
      .join('');
    regex = new RegExp(`^${body}$`, ignoreCase ? 'is' : 's');
    patternCache.set(cacheKey, regex);
  }
  return regex.test(value);
}

function statementApplies(statement: PolicyStatement, request: ActionRequest): boolean {
  const action = (patterns: readonly string[]) =>
    patterns.some((pattern) => wildcardMatches(pattern, request.action, true));
  const resource = (patterns: readonly string[]) =>
    patterns.some((pattern) => wildcardMatches(pattern, request.resource));
  const actionMatches = statement.actions ? action(statement.actions) : !action(statement.notActions ?? []);
  if (!actionMatches) return false;
  return statement.resources ? resource(statement.resources) : !resource(statement.notResources ?? []);
}

/**
 * IAM's decision for one request against a principal's statements: an explicit `Deny` wins over any
 * `Allow`; with neither, the request is (implicitly) denied.
 */
export function evaluate(statements: readonly PolicyStatement[], request: ActionRequest): Decision {
  let allowed = false;
  for (const statement of statements) {
    if (!statementApplies(statement, request)) continue;
    if (statement.effect === 'Deny') return 'explicitDeny';
    allowed = true;
  }
  return allowed ? 'allow' : 'implicitDeny';
}

/**
 * A policy document's statements, resolved.
 * @throws {PolicyError} for a condition, a policy variable, or an element IAM does not define.
 */
export function readPolicyDocument(
  document: unknown,
  resolver: TemplateResolver,
  where: string,
): PolicyStatement[] {
  const resolved = resolver.resolve(document, where) as { Statement?: unknown };
  return asList(resolved?.Statement).map((raw, index) => {
    const statement = raw as Record<string, unknown>;
    const at = `${where}, statement ${String(statement.Sid ?? index)}`;
    if (statement.Condition !== undefined) {
      const keys = Object.values(statement.Condition as Record<string, Record<string, unknown>>).flatMap(
        (byKey) => Object.keys(byKey),
      );
      throw new PolicyError(
        `${at}: condition key(s) ${keys.join(', ')} are not evaluated by the local runtime, which will not ignore them`,
      );
    }
    if (statement.Principal !== undefined || statement.NotPrincipal !== undefined)
      throw new PolicyError(`${at}: a Principal belongs in a resource policy, not a role's`);
    const effect = statement.Effect;
    if (effect !== 'Allow' && effect !== 'Deny') throw new PolicyError(`${at}: Effect must be Allow or Deny`);
    const strings = (key: string) => {
      const values = asList(statement[key]).map(String);
      const variable = values.find((value) => value.includes('${'));
      if (variable)
        throw new PolicyError(`${at}: the policy variable in ${variable} is not evaluated locally`);
      return statement[key] === undefined ? undefined : values;
    };
    const actions = strings('Action');
    const notActions = strings('NotAction');
    const resources = strings('Resource');
    const notResources = strings('NotResource');
    if ((actions === undefined) === (notActions === undefined))
      throw new PolicyError(`${at}: needs exactly one of Action and NotAction`);
    if ((resources === undefined) === (notResources === undefined))
      throw new PolicyError(`${at}: needs exactly one of Resource and NotResource`);
    return {
      effect,
      ...(actions ? { actions } : { notActions }),
      ...(resources ? { resources } : { notResources }),
    };
  });
}

const refersTo = (value: unknown, logicalId: string): boolean =>
  (value as { Ref?: unknown } | undefined)?.Ref === logicalId;

/**
 * The execution role of function `functionId`: its inline policies, the `AWS::IAM::Policy` and
 * `AWS::IAM::ManagedPolicy` resources attached to it, and the customer managed policies it lists.
 * @throws {PolicyError} when the role is not in the template, has a permissions boundary, or a policy the
 *   evaluator cannot run.
 */
export function readExecutionRole(resolver: TemplateResolver, functionId: string): ExecutionRole {
  const resources = resolver.template.Resources;
  const role = (resources[functionId]?.Properties?.Role ?? {}) as { 'Fn::GetAtt'?: [string, string] };
  const roleId = role['Fn::GetAtt']?.[0];
  if (roleId === undefined || resources[roleId]?.Type !== 'AWS::IAM::Role')
    throw new PolicyError(
      `function ${functionId}: its role is not an AWS::IAM::Role of the template, so its policy cannot be enforced locally`,
    );
  const properties = resources[roleId].Properties ?? {};
  if (properties.PermissionsBoundary !== undefined)
    throw new PolicyError(`role ${roleId}: permissions boundaries are not evaluated by the local runtime`);
  const statements: PolicyStatement[] = [];
  const notes: string[] = [];
  for (const policy of asList(properties.Policies) as { PolicyName?: string; PolicyDocument: unknown }[])
    statements.push(
      ...readPolicyDocument(policy.PolicyDocument, resolver, `role ${roleId} policy ${policy.PolicyName}`),
    );
  const deployed = (id: string, resource: CfnResource) =>
    resolver.isDeployed(id) &&
    (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy');
  const listed = asList(properties.ManagedPolicyArns);
  for (const [id, resource] of Object.entries(resources)) {
    if (!deployed(id, resource)) continue;
    const attached =
      asList(resource.Properties?.Roles).some((ref) => refersTo(ref, roleId)) ||
      (resource.Type === 'AWS::IAM::ManagedPolicy' && listed.some((ref) => refersTo(ref, id)));
    if (attached)
      statements.push(...readPolicyDocument(resource.Properties?.PolicyDocument, resolver, `policy ${id}`));
  }
  for (const arn of listed) {
    const ref = (arn as { Ref?: unknown }).Ref;
    if (typeof ref === 'string' && resources[ref]?.Type === 'AWS::IAM::ManagedPolicy') continue;
    let name: string;
    try {
      name = resolver.resolveString(arn, `role ${roleId} ManagedPolicyArns`);
    } catch (error) {
      if (!(error instanceof IntrinsicError)) throw error;
      throw new PolicyError(`role ${roleId}: managed policy ${JSON.stringify(arn)} cannot be resolved`);
    }
    notes.push(`role ${roleId}: ${name} is not known locally; what it grants is denied`);
  }
  return {
    logicalId: roleId,
    arn: resolver.getAtt(roleId, 'Arn'),
    name: resolver.physicalName(roleId),
    statements,
    notes,
  };
}

/**
 * A function's own key pair, derived from the install's secret and the function's logical id (HMAC-SHA-256),
 * so it is the same at every start and stored nowhere.
 */
export function functionCredentials(installSecret: string, logicalId: string): SigningCredentials {
  const mac = (purpose: string) =>
    createHmac('sha256', installSecret).update(`driftline-local/${purpose}/${logicalId}`).digest();
  return {
    // The shape of an AWS access key id, so every SDK accepts it.
    accessKeyId: `AKIA${mac('access-key-id').toString('hex').slice(0, 16).toUpperCase()}`,
    secretAccessKey: mac('secret-access-key').toString('base64url'),
  };
}

/** A caller restricted to its execution role. */
export interface RestrictedPrincipal {
  credentials: SigningCredentials;
  /** Who AWS says is calling: `arn:aws:sts::<account>:assumed-role/<role>/<function>`. */
  arn: string;
  statements: readonly PolicyStatement[];
}

/** Why a call is refused, in AWS's words. */
export interface AccessDenial extends ActionRequest {
  message: string;
}

/** The most decisions kept (per key, action and resource) before the oldest are forgotten. */
const DECISION_CACHE_SIZE = 10_000;

/**
 * Who may call what: the install's key pair with full access, each function's with its role's. Decisions
 * are cached per (key, action, resource), since the same calls repeat on hot paths (predict's log write).
 */
export class AccessControl {
  private readonly install: SigningCredentials;
  /** Where the deployment's ARNs point (table ARNs are built from it). */
  readonly scope: ArnScope;
  private readonly principals = new Map<string, RestrictedPrincipal>();
  private readonly decisions = new Map<string, Decision>();
  private readonly onDeny: ((denial: AccessDenial) => void) | undefined;

  constructor(options: {
    install: SigningCredentials;
    scope: ArnScope;
    principals?: readonly RestrictedPrincipal[];
    /** Told of every refused call (the runtime logs it, since a handler may swallow the error). */
    onDeny?: (denial: AccessDenial) => void;
  }) {
    this.install = options.install;
    this.onDeny = options.onDeny;
    this.scope = options.scope;
    for (const principal of options.principals ?? [])
      this.principals.set(principal.credentials.accessKeyId, principal);
  }

  /** The key pair for an access key id, or undefined when the key is not this install's. */
  readonly credentialsOf = (accessKeyId: string): SigningCredentials | undefined =>
    accessKeyId === this.install.accessKeyId ? this.install : this.principals.get(accessKeyId)?.credentials;

  /** Every key pair accepted, the install's first. */
  get keyPairs(): SigningCredentials[] {
    return [this.install, ...[...this.principals.values()].map((p) => p.credentials)];
  }

  /** Whether a key is a restricted (function) key whose calls must be mapped to actions. */
  isRestricted(accessKeyId: string): boolean {
    return this.principals.has(accessKeyId);
  }

  /**
   * The first of `requests` the key may not make, or undefined when all are allowed (always, for the
   * install's key).
   */
  check(accessKeyId: string, requests: readonly ActionRequest[]): AccessDenial | undefined {
    const principal = this.principals.get(accessKeyId);
    if (!principal) return undefined;
    for (const request of requests) {
      const cacheKey = `${accessKeyId}\n${request.action}\n${request.resource}`;
      let decision = this.decisions.get(cacheKey);
      if (decision === undefined) {
        decision = evaluate(principal.statements, request);
        if (this.decisions.size >= DECISION_CACHE_SIZE)
          this.decisions.delete(this.decisions.keys().next().value as string);
        this.decisions.set(cacheKey, decision);
      }
      if (decision !== 'allow') {
        const denial = {
          ...request,
          message:
            `User: ${principal.arn} is not authorized to perform: ${request.action} on resource: ${request.resource} ` +
            (decision === 'explicitDeny'
              ? 'with an explicit deny in an identity-based policy'
              : `because no identity-based policy allows the ${request.action} action`),
        };
        this.onDeny?.(denial);
        return denial;
      }
    }
    return undefined;
  }
}

// --- requests → actions -------------------------------------------------------------------------------

/** Where ARNs of the local deployment point. */
export interface ArnScope {
  region: string;
  account: string;
}

/** A request the local runtime cannot map to IAM actions: refused, as an unknown action would be. */
export class UnmappedRequestError extends Error {
  override readonly name = 'UnmappedRequestError';
}

/**
 * The IAM actions a DynamoDB JSON request needs: its operation on each table it names (the index ARN for a
 * `Query` or `Scan` of an index); a transaction needs each item's own action.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html
 */
export function dynamodbActions(target: string | undefined, body: Buffer, scope: ArnScope): ActionRequest[] {
  const operation = (target ?? '').slice((target ?? '').lastIndexOf('.') + 1);
  if (!operation) throw new UnmappedRequestError('a DynamoDB request without X-Amz-Target');
  let input: Record<string, unknown>;
  try {
    input = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
  } catch {
    throw new UnmappedRequestError('a DynamoDB request whose body is not JSON');
  }
  const tableArn = (name: unknown) =>
    String(name).startsWith('arn:')
      ? String(name)
      : `arn:aws:dynamodb:${scope.region}:${scope.account}:table/${String(name)}`;
  const action = (name: string) => `dynamodb:${name}`;
  if (operation === 'BatchGetItem' || operation === 'BatchWriteItem')
    return Object.keys((input.RequestItems ?? {}) as object).map((table) => ({
      action: action(operation),
      resource: tableArn(table),
    }));
  if (operation === 'TransactWriteItems' || operation === 'TransactGetItems') {
    const itemActions: Record<string, string> = {
      Put: 'PutItem',
      Update: 'UpdateItem',
      Delete: 'DeleteItem',
      ConditionCheck: 'ConditionCheckItem',
      Get: 'GetItem',
    };
    return asList(input.TransactItems).flatMap((item) =>
      Object.entries(item as Record<string, { TableName?: unknown }>).map(([kind, detail]) => {
        const name = itemActions[kind];
        if (!name) throw new UnmappedRequestError(`a transaction item of kind ${kind}`);
        return { action: action(name), resource: tableArn(detail.TableName) };
      }),
    );
  }
  if (input.TableName === undefined) {
    if (operation === 'ExecuteStatement' || operation === 'BatchExecuteStatement')
      throw new UnmappedRequestError(`PartiQL (${operation}): its statements are not mapped to actions`);
    return [{ action: action(operation), resource: '*' }];
  }
  const table = tableArn(input.TableName);
  const onIndex = (operation === 'Query' || operation === 'Scan') && input.IndexName !== undefined;
  return [
    { action: action(operation), resource: onIndex ? `${table}/index/${String(input.IndexName)}` : table },
  ];
}

/** The object keys of a multi-object delete (`POST /<bucket>?delete`) body. */
function deletedKeys(body: Buffer): string[] {
  const decodeXml = (text: string) =>
    text.replace(
      /&(lt|gt|amp|quot|apos);/g,
      (_, name: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" })[name]!,
    );
  return [...body.toString('utf8').matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((m) => decodeXml(m[1]));
}

/** Bucket subresources (`?versioning`, …) and the actions reading and writing them. */
const BUCKET_SUBRESOURCES: Record<string, { GET?: string; PUT?: string; DELETE?: string }> = {
  versioning: { GET: 'GetBucketVersioning', PUT: 'PutBucketVersioning' },
  location: { GET: 'GetBucketLocation' },
  policy: { GET: 'GetBucketPolicy', PUT: 'PutBucketPolicy', DELETE: 'DeleteBucketPolicy' },
  acl: { GET: 'GetBucketAcl', PUT: 'PutBucketAcl' },
  cors: { GET: 'GetBucketCORS', PUT: 'PutBucketCORS', DELETE: 'PutBucketCORS' },
  notification: { GET: 'GetBucketNotification', PUT: 'PutBucketNotification' },
  tagging: { GET: 'GetBucketTagging', PUT: 'PutBucketTagging', DELETE: 'PutBucketTagging' },
  lifecycle: { GET: 'GetLifecycleConfiguration', PUT: 'PutLifecycleConfiguration' },
  website: { GET: 'GetBucketWebsite', PUT: 'PutBucketWebsite', DELETE: 'DeleteBucketWebsite' },
  uploads: { GET: 'ListBucketMultipartUploads' },
  versions: { GET: 'ListBucketVersions' },
};

/**
 * The IAM actions a path-style S3 request needs: object reads and writes on the object's ARN, listings on
 * the bucket's; `HEAD` needs what `GET` does, multipart steps `PutObject`, and a copy `PutObject` on its
 * target and `GetObject` (`GetObjectVersion` for a version) on its source.
 * @param path the request path as received (percent-encoded), `/<bucket>/<key>`.
 * @param body only read for a multi-object delete.
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
 */
export function s3Actions(
  method: string,
  path: string,
  query: URLSearchParams,
  headers: IncomingHttpHeaders,
  body?: Buffer,
): ActionRequest[] {
  const verb = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  const [, bucket = '', ...rest] = path.split('/');
  const key = rest.map(decodeURIComponent).join('/');
  const s3 = (action: string, resource: string) => ({ action: `s3:${action}`, resource });
  if (bucket === '') {
    if (verb === 'GET') return [s3('ListAllMyBuckets', '*')];
    throw new UnmappedRequestError(`S3 ${method} /`);
  }
  const bucketArn = `arn:aws:s3:::${decodeURIComponent(bucket)}`;
  if (key === '') {
    if (verb === 'POST' && query.has('delete'))
      return deletedKeys(body ?? Buffer.alloc(0)).map((k) => s3('DeleteObject', `${bucketArn}/${k}`));
    const subresource = Object.keys(BUCKET_SUBRESOURCES).find((name) => query.has(name));
    if (subresource) {
      const action = BUCKET_SUBRESOURCES[subresource][verb as 'GET' | 'PUT' | 'DELETE'];
      if (!action) throw new UnmappedRequestError(`S3 ${method} on a bucket's ?${subresource}`);
      return [s3(action, bucketArn)];
    }
    if (verb === 'GET') return [s3('ListBucket', bucketArn)];
    if (verb === 'PUT') return [s3('CreateBucket', bucketArn)];
    if (verb === 'DELETE') return [s3('DeleteBucket', bucketArn)];
    throw new UnmappedRequestError(`S3 ${method} on a bucket`);
  }
  const objectArn = `${bucketArn}/${key}`;
  const versioned = query.has('versionId');
  if (verb === 'GET') {
    if (query.has('uploadId')) return [s3('ListMultipartUploadParts', objectArn)];
    if (query.has('tagging'))
      return [s3(versioned ? 'GetObjectVersionTagging' : 'GetObjectTagging', objectArn)];
    if (query.has('acl')) return [s3(versioned ? 'GetObjectVersionAcl' : 'GetObjectAcl', objectArn)];
    return [s3(versioned ? 'GetObjectVersion' : 'GetObject', objectArn)];
  }
  if (verb === 'PUT') {
    if (query.has('tagging'))
      return [s3(versioned ? 'PutObjectVersionTagging' : 'PutObjectTagging', objectArn)];
    if (query.has('acl')) return [s3(versioned ? 'PutObjectVersionAcl' : 'PutObjectAcl', objectArn)];
    const copySource = headers['x-amz-copy-source'];
    if (typeof copySource === 'string') {
      const source = new URL(copySource.replace(/^\/?/, 'http://s3/'));
      const sourceArn = `arn:aws:s3:::${decodeURIComponent(source.pathname.slice(1))}`;
      const sourceVersioned = source.searchParams.has('versionId');
      return [s3('PutObject', objectArn), s3(sourceVersioned ? 'GetObjectVersion' : 'GetObject', sourceArn)];
    }
    return [s3('PutObject', objectArn)];
  }
  if (verb === 'POST' && (query.has('uploads') || query.has('uploadId'))) return [s3('PutObject', objectArn)];
  if (verb === 'DELETE') {
    if (query.has('uploadId')) return [s3('AbortMultipartUpload', objectArn)];
    if (query.has('tagging'))
      return [s3(versioned ? 'DeleteObjectVersionTagging' : 'DeleteObjectTagging', objectArn)];
    return [s3(versioned ? 'DeleteObjectVersion' : 'DeleteObject', objectArn)];
  }
  throw new UnmappedRequestError(`S3 ${method} on an object`);
}

/**
 * The IAM actions a call to the runtime's own AWS APIs (`/_aws/<service>/…`) needs: Lambda `Invoke`,
 * Step Functions `StartExecution` / `DescribeExecution`, SNS `Publish`.
 * @param path the path after `/_aws/<service>`.
 */
export function localApiActions(
  service: string,
  path: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
  scope: ArnScope,
): ActionRequest[] {
  const text = body.toString('utf8');
  const target = String(headers['x-amz-target'] ?? '');
  const parse = (): Record<string, unknown> => {
    try {
      return JSON.parse(text || '{}') as Record<string, unknown>;
    } catch {
      throw new UnmappedRequestError(`a ${service} request whose body is not JSON`);
    }
  };
  if (service === 'lambda') {
    const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(path);
    if (!match) throw new UnmappedRequestError(`Lambda ${path}`);
    const name = decodeURIComponent(match[1]);
    const arn = name.startsWith('arn:')
      ? name
      : `arn:aws:lambda:${scope.region}:${scope.account}:function:${name}`;
    return [{ action: 'lambda:InvokeFunction', resource: arn }];
  }
  if (service === 'states') {
    const input = parse();
    if (target === 'AWSStepFunctions.StartExecution')
      return [{ action: 'states:StartExecution', resource: String(input.stateMachineArn ?? '') }];
    if (target === 'AWSStepFunctions.DescribeExecution')
      return [{ action: 'states:DescribeExecution', resource: String(input.executionArn ?? '') }];
    throw new UnmappedRequestError(`Step Functions ${target || 'request'}`);
  }
  if (service === 'sns') {
    const json = target.startsWith('AmazonSimpleNotificationService.');
    const fields = json ? parse() : Object.fromEntries(new URLSearchParams(text));
    const action = json ? target.slice(target.indexOf('.') + 1) : String(fields.Action ?? '');
    if (action !== 'Publish') throw new UnmappedRequestError(`SNS ${action || 'request'}`);
    return [{ action: 'sns:Publish', resource: String(fields.TopicArn ?? fields.TargetArn ?? '') }];
  }
  throw new UnmappedRequestError(`the ${service} API`);
}
