/**
 * CloudFormation intrinsic functions resolved against the local runtime instead of an AWS account: every
 * resource gets a stable local physical name (derived from the stack name and logical id, so a restart
 * finds the same buckets and tables) and ARNs in account 000000000000; API Gateway URLs become the local
 * HTTP server's.
 *
 * @see https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html
 */
import { createHash } from 'node:crypto';

/** A synthesized CloudFormation template (the parts the runtime reads). */
export interface CfnTemplate {
  Parameters?: Record<string, { Type?: string; Default?: unknown }>;
  Conditions?: Record<string, unknown>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Description?: string; Condition?: string }>;
}

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  Condition?: string;
}

/** Where the template is "deployed": names and the local API endpoint. */
export interface LocalDeployment {
  stackName: string;
  region: string;
  /** @default '000000000000' */
  account?: string;
  /** Base URL of the local HTTP server, e.g. `http://127.0.0.1:3000/`; API Gateway URLs are rewritten to it. */
  apiUrl: string;
  /** Values for template parameters (otherwise their defaults). */
  parameters?: Record<string, string>;
}

/** An intrinsic the local runtime cannot resolve, or a reference to something the template lacks. */
export class IntrinsicError extends Error {
  override readonly name = 'IntrinsicError';
}

/** The account every local ARN carries (as LocalStack's). */
export const LOCAL_ACCOUNT = '000000000000';

/** `AWS::NoValue`: removes the property (or list item) that resolves to it. */
const NO_VALUE = Symbol('AWS::NoValue');

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function shortHash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/**
 * A name like CloudFormation generates (`<stack>-<logicalId>`), minus its random suffix so it is stable,
 * shortened with a hash when longer than the service allows.
 */
export function generatedName(
  stackName: string,
  logicalId: string,
  maxLength: number,
  lowercase = false,
): string {
  let name = `${stackName}-${logicalId}`;
  if (lowercase) name = name.toLowerCase().replace(/[^a-z0-9.-]/g, '-');
  if (name.length <= maxLength) return name;
  return `${name.slice(0, maxLength - 9)}-${shortHash(name, 8)}`;
}

interface TypeRules {
  /** The property holding an explicit physical name. */
  nameProperty?: string;
  maxLength?: number;
  lowercase?: boolean;
  /** What `Ref` returns, given the physical name. */
  ref?: (name: string, id: string) => string;
  /** What `Fn::GetAtt` returns per attribute. */
  attributes?: Record<string, (name: string, id: string) => string>;
}

/**
 * The services the local runtime models. A resource type not listed here still resolves `Ref` (to a
 * stable local id) but not `Fn::GetAtt`.
 */
function typeRules(region: string, account: string): Record<string, TypeRules> {
  const arn = (service: string, resource: string) => `arn:aws:${service}:${region}:${account}:${resource}`;
  return {
    'AWS::S3::Bucket': {
      nameProperty: 'BucketName',
      maxLength: 63,
      lowercase: true,
      attributes: {
        Arn: (name) => `arn:aws:s3:::${name}`,
        DomainName: (name) => `${name}.s3.amazonaws.com`,
        RegionalDomainName: (name) => `${name}.s3.${region}.amazonaws.com`,
        DualStackDomainName: (name) => `${name}.s3.dualstack.${region}.amazonaws.com`,
        WebsiteURL: (name) => `http://${name}.s3-website-${region}.amazonaws.com`,
      },
    },
    'AWS::DynamoDB::Table': {
      nameProperty: 'TableName',
      maxLength: 255,
      attributes: {
        Arn: (name) => arn('dynamodb', `table/${name}`),
        StreamArn: (name) => arn('dynamodb', `table/${name}/stream/1970-01-01T00:00:00.000`),
      },
    },
    'AWS::DynamoDB::GlobalTable': {
      nameProperty: 'TableName',
      maxLength: 255,
      attributes: {
        Arn: (name) => arn('dynamodb', `table/${name}`),
        StreamArn: (name) => arn('dynamodb', `table/${name}/stream/1970-01-01T00:00:00.000`),
      },
    },
    'AWS::Lambda::Function': {
      nameProperty: 'FunctionName',
      maxLength: 64,
      attributes: { Arn: (name) => arn('lambda', `function:${name}`) },
    },
    'AWS::StepFunctions::StateMachine': {
      nameProperty: 'StateMachineName',
      maxLength: 80,
      ref: (name) => arn('states', `stateMachine:${name}`),
      attributes: { Arn: (name) => arn('states', `stateMachine:${name}`), Name: (name) => name },
    },
    'AWS::SNS::Topic': {
      nameProperty: 'TopicName',
      maxLength: 256,
      ref: (name) => arn('sns', name),
      attributes: { TopicArn: (name) => arn('sns', name), TopicName: (name) => name },
    },
    'AWS::SQS::Queue': {
      nameProperty: 'QueueName',
      maxLength: 80,
      ref: (name) => `https://sqs.${region}.amazonaws.com/${account}/${name}`,
      attributes: {
        Arn: (name) => arn('sqs', name),
        QueueName: (name) => name,
        QueueUrl: (name) => `https://sqs.${region}.amazonaws.com/${account}/${name}`,
      },
    },
    'AWS::Events::Rule': {
      nameProperty: 'Name',
      maxLength: 64,
      attributes: { Arn: (name) => arn('events', `rule/${name}`) },
    },
    'AWS::IAM::Role': {
      nameProperty: 'RoleName',
      maxLength: 64,
      attributes: { Arn: (name) => `arn:aws:iam::${account}:role/${name}`, RoleId: (_, id) => `AROA${id}` },
    },
    'AWS::Logs::LogGroup': {
      nameProperty: 'LogGroupName',
      maxLength: 512,
      attributes: { Arn: (name) => arn('logs', `log-group:${name}:*`) },
    },
    'AWS::CloudWatch::Alarm': {
      nameProperty: 'AlarmName',
      maxLength: 255,
      attributes: { Arn: (name) => arn('cloudwatch', `alarm:${name}`) },
    },
    'AWS::ApiGateway::RestApi': {
      ref: (_, id) => apiGatewayId(id),
      attributes: {
        RestApiId: (_, id) => apiGatewayId(id),
        RootResourceId: (_, id) => apiGatewayId(`${id}/`),
      },
    },
    'AWS::ApiGateway::Resource': {
      ref: (_, id) => apiGatewayId(id),
      attributes: { ResourceId: (_, id) => apiGatewayId(id) },
    },
    'AWS::ApiGateway::Model': { nameProperty: 'Name', maxLength: 128 },
    'AWS::ApiGateway::Stage': { nameProperty: 'StageName', maxLength: 128 },
    'AWS::ApiGateway::Deployment': { ref: (_, id) => apiGatewayId(id) },
    'AWS::ApiGateway::RequestValidator': { ref: (_, id) => apiGatewayId(id) },
    'AWS::ApiGateway::ApiKey': {
      ref: (_, id) => apiGatewayId(id),
      attributes: { APIKeyId: (_, id) => apiGatewayId(id) },
    },
  };
}

/** API Gateway ids are 10 lowercase alphanumerics; derived from the logical id so they are stable. */
export function apiGatewayId(logicalId: string): string {
  return shortHash(`apigateway:${logicalId}`, 10);
}

/**
 * Resolves the intrinsic functions of one template for a local deployment.
 * @example new TemplateResolver(template, { stackName: 'Driftline', region: 'us-east-1', apiUrl }).resolve({ Ref: 'DataBucket' })
 */
export class TemplateResolver {
  readonly template: CfnTemplate;
  readonly stackName: string;
  readonly region: string;
  readonly account: string;
  private readonly apiUrl: string;
  private readonly parameters: Record<string, string>;
  private readonly rules: Record<string, TypeRules>;
  private readonly conditions = new Map<string, boolean>();

  constructor(template: CfnTemplate, deployment: LocalDeployment) {
    this.template = template;
    this.stackName = deployment.stackName;
    this.region = deployment.region;
    this.account = deployment.account ?? LOCAL_ACCOUNT;
    this.apiUrl = deployment.apiUrl.replace(/\/$/, '');
    this.parameters = deployment.parameters ?? {};
    this.rules = typeRules(this.region, this.account);
  }

  /**
   * The value with every intrinsic resolved (and execute-api URLs pointed at the local server).
   * @throws {IntrinsicError} naming the function and `where` when something cannot be resolved.
   */
  resolve(value: unknown, where = 'template'): unknown {
    const resolved = this.resolveNode(value, where);
    return this.localizeUrls(resolved === NO_VALUE ? undefined : resolved);
  }

  /** Like {@link resolve}, requiring a string. */
  resolveString(value: unknown, where: string): string {
    const resolved = this.resolve(value, where);
    if (typeof resolved !== 'string') {
      throw new IntrinsicError(`${where}: expected a string, got ${JSON.stringify(resolved)}`);
    }
    return resolved;
  }

  /** Whether a resource exists in this deployment (no `Condition`, or a condition that holds). */
  isDeployed(logicalId: string): boolean {
    const condition = this.template.Resources[logicalId]?.Condition;
    return condition === undefined || this.condition(condition);
  }

  /** Whether a named condition of the template holds. @throws {IntrinsicError} for an undefined condition. */
  holds(condition: string): boolean {
    return this.condition(condition);
  }

  /** The local physical name of a resource (bucket name, function name, …). */
  physicalName(logicalId: string): string {
    const resource = this.resource(logicalId, 'physical name');
    const rules = this.rules[resource.Type] ?? {};
    const explicit = rules.nameProperty ? resource.Properties?.[rules.nameProperty] : undefined;
    if (explicit !== undefined) return this.resolveString(explicit, `${logicalId}.${rules.nameProperty}`);
    return generatedName(this.stackName, logicalId, rules.maxLength ?? 128, rules.lowercase ?? false);
  }

  /** What `{ Ref: logicalId }` resolves to. */
  ref(logicalId: string): string {
    const resource = this.resource(logicalId, 'Ref');
    const ref = this.rules[resource.Type]?.ref;
    const name = this.physicalName(logicalId);
    return ref ? ref(name, logicalId) : name;
  }

  /** What `{ 'Fn::GetAtt': [logicalId, attribute] }` resolves to. */
  getAtt(logicalId: string, attribute: string): string {
    const resource = this.resource(logicalId, `Fn::GetAtt ${attribute}`);
    const attr = this.rules[resource.Type]?.attributes?.[attribute];
    if (!attr) {
      throw new IntrinsicError(
        `Fn::GetAtt ${logicalId}.${attribute}: not modelled locally for ${resource.Type}`,
      );
    }
    return attr(this.physicalName(logicalId), logicalId);
  }

  private resource(logicalId: string, use: string): CfnResource {
    const resource = this.template.Resources[logicalId];
    if (!resource)
      throw new IntrinsicError(`${use}: the template has no resource or parameter "${logicalId}"`);
    return resource;
  }

  private condition(name: string): boolean {
    const cached = this.conditions.get(name);
    if (cached !== undefined) return cached;
    const definition = this.template.Conditions?.[name];
    if (definition === undefined) throw new IntrinsicError(`condition "${name}" is not defined`);
    const holds = this.evaluateCondition(definition, `condition ${name}`);
    this.conditions.set(name, holds);
    return holds;
  }

  private evaluateCondition(node: unknown, where: string): boolean {
    if (!isRecord(node) || Object.keys(node).length !== 1) {
      throw new IntrinsicError(`${where}: a condition is one Fn::Equals/And/Or/Not or Condition`);
    }
    const [fn, args] = Object.entries(node)[0];
    const list = Array.isArray(args) ? args : [];
    switch (fn) {
      case 'Condition':
        return this.condition(String(args));
      case 'Fn::Equals': {
        const [a, b] = list.map((arg) => this.resolve(arg, where));
        return JSON.stringify(a) === JSON.stringify(b);
      }
      case 'Fn::And':
        return list.every((arg) => this.evaluateCondition(arg, where));
      case 'Fn::Or':
        return list.some((arg) => this.evaluateCondition(arg, where));
      case 'Fn::Not':
        return !this.evaluateCondition(list[0], where);
      default:
        throw new IntrinsicError(`${where}: ${fn} is not a condition function`);
    }
  }

  private pseudo(name: string): unknown {
    switch (name) {
      case 'AWS::Region':
        return this.region;
      case 'AWS::AccountId':
        return this.account;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return this.stackName;
      case 'AWS::StackId':
        return `arn:aws:cloudformation:${this.region}:${this.account}:stack/${this.stackName}/00000000-0000-0000-0000-000000000000`;
      case 'AWS::NotificationARNs':
        return [];
      case 'AWS::NoValue':
        return NO_VALUE;
      default:
        return undefined;
    }
  }

  private refOf(name: string, where: string): unknown {
    const pseudo = this.pseudo(name);
    if (pseudo !== undefined) return pseudo;
    const parameter = this.template.Parameters?.[name];
    if (parameter) {
      const value = this.parameters[name] ?? parameter.Default;
      if (value === undefined)
        throw new IntrinsicError(`${where}: parameter ${name} has no value and no default`);
      return value;
    }
    if (name.startsWith('AWS::'))
      throw new IntrinsicError(`${where}: pseudo parameter ${name} is not modelled`);
    return this.ref(name);
  }

  private resolveNode(node: unknown, where: string): unknown {
    if (Array.isArray(node)) {
      return node.map((item) => this.resolveNode(item, where)).filter((item) => item !== NO_VALUE);
    }
    if (!isRecord(node)) return node;
    const keys = Object.keys(node);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
      return this.resolveFunction(keys[0], node[keys[0]], where);
    }
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      const value = this.resolveNode(node[key], `${where}.${key}`);
      if (value !== NO_VALUE) out[key] = value;
    }
    return out;
  }

  private resolveFunction(fn: string, args: unknown, where: string): unknown {
    const at = `${where}: ${fn}`;
    const list = (value: unknown, what: string): unknown[] => {
      const resolved = this.resolveNode(value, where);
      if (!Array.isArray(resolved)) throw new IntrinsicError(`${at} needs ${what} to be a list`);
      return resolved;
    };
    switch (fn) {
      case 'Ref':
        return this.refOf(String(args), where);
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = Array.isArray(args) ? args : String(args).split(/\.(.*)/s);
        return this.getAtt(String(logicalId), String(this.resolveNode(attribute, where)));
      }
      case 'Fn::Join': {
        const [delimiter, items] = args as [string, unknown];
        return list(items, 'its items')
          .map((item) => stringOf(item, at))
          .join(delimiter);
      }
      case 'Fn::Sub':
        return this.sub(args, at);
      case 'Fn::Select': {
        const [index, items] = args as [unknown, unknown];
        const values = list(items, 'its items');
        const i = Number(this.resolveNode(index, where));
        if (!Number.isInteger(i) || i < 0 || i >= values.length) {
          throw new IntrinsicError(`${at} index ${i} is outside a list of ${values.length}`);
        }
        return values[i];
      }
      case 'Fn::Split': {
        const [delimiter, source] = args as [string, unknown];
        return stringOf(this.resolveNode(source, where), at).split(delimiter);
      }
      case 'Fn::If': {
        const [condition, whenTrue, whenFalse] = args as [string, unknown, unknown];
        return this.resolveNode(this.condition(condition) ? whenTrue : whenFalse, where);
      }
      case 'Fn::FindInMap': {
        const [map, top, second] = (args as unknown[]).map((arg) =>
          stringOf(this.resolveNode(arg, where), at),
        );
        const value = this.template.Mappings?.[map]?.[top]?.[second];
        if (value === undefined)
          throw new IntrinsicError(`${at} ${map}.${top}.${second} is not in the mappings`);
        return value;
      }
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((zone) => `${this.region}${zone}`);
      case 'Fn::Base64':
        return Buffer.from(stringOf(this.resolveNode(args, where), at)).toString('base64');
      case 'Fn::ToJsonString':
        return JSON.stringify(this.resolveNode(args, where));
      default:
        throw new IntrinsicError(`${at} is not supported by the local runtime`);
    }
  }

  /** `Fn::Sub`: `${Param}`, `${Resource}`, `${Resource.Attr}`, `${!Literal}`, with or without a variable map. */
  private sub(args: unknown, at: string): string {
    const [text, variables]: [unknown, Record<string, unknown>] = Array.isArray(args)
      ? [args[0], (args[1] ?? {}) as Record<string, unknown>]
      : [args, {}];
    if (typeof text !== 'string') throw new IntrinsicError(`${at} needs a string`);
    return text.replace(/\$\{([^}]*)\}/g, (_, name: string) => {
      if (name.startsWith('!')) return `\${${name.slice(1)}}`;
      if (Object.hasOwn(variables, name)) return stringOf(this.resolveNode(variables[name], at), at);
      const dot = name.indexOf('.');
      if (dot > 0 && !name.startsWith('AWS::')) return this.getAtt(name.slice(0, dot), name.slice(dot + 1));
      return stringOf(this.refOf(name, at), at);
    });
  }

  /** API Gateway invoke URLs of this template's REST APIs, rewritten to the local server (no stage prefix). */
  private localizeUrls(value: unknown): unknown {
    const apiIds = Object.entries(this.template.Resources)
      .filter(([, resource]) => resource.Type === 'AWS::ApiGateway::RestApi')
      .map(([id]) => apiGatewayId(id));
    if (apiIds.length === 0) return value;
    const pattern = new RegExp(
      `https://(?:${apiIds.join('|')})\\.execute-api\\.${this.region.replace(/[.-]/g, '\\$&')}\\.amazonaws\\.com/[^/\\s"]+`,
      'g',
    );
    const rewrite = (node: unknown): unknown => {
      if (typeof node === 'string') return node.replace(pattern, this.apiUrl);
      if (Array.isArray(node)) return node.map(rewrite);
      if (isRecord(node)) return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, rewrite(v)]));
      return node;
    };
    return rewrite(value);
  }
}

function stringOf(value: unknown, at: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new IntrinsicError(`${at} needs strings, got ${JSON.stringify(value)}`);
}
