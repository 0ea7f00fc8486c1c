/**
 * The serving API: a regional REST API in front of four Lambdas, `models` (read-only registry views and
 * health), `pages` (HTML reports, the OpenAPI document and its docs), `predict` and `feedback`. API Gateway rejects a malformed predict body before it costs a Lambda call;
 * `predict` re-validates the instances against the model's own input signature.
 */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  EndpointType,
  type IApiKey,
  type JsonSchema,
  JsonSchemaVersion,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  type Model,
  type RequestValidator,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { z } from 'zod';
import {
  feedbackRequestSchema,
  modelQuerySchema,
  pageQuerySchema,
  predictRequestSchema,
} from '../lambdas/shared/api-schemas.ts';
import type { FeedbackAuth } from './settings.ts';

/** A zod schema as the JSON Schema draft 4 of an API Gateway model. */
function apiGatewaySchema(schema: z.ZodType, title: string): JsonSchema {
  const { $schema: _draft, ...body } = z.toJSONSchema(schema, { target: 'draft-4' }) as Record<
    string,
    unknown
  >;
  return { schema: JsonSchemaVersion.DRAFT4, title, ...body } as JsonSchema;
}

/** The optional query parameters of a route, declared from the zod schema its handler parses them with. */
function queryParametersOf(schema: z.ZodObject): Record<string, boolean> {
  return Object.fromEntries(
    Object.keys(schema.shape).map((name) => [`method.request.querystring.${name}`, false]),
  );
}

export interface PredictApiProps {
  /**
   * Answers `GET /health`, `GET /models`, `GET /models/{name}` and its paged listings
   * `GET /models/{name}/versions`, `/runs` and `/audit`.
   */
  readonly models: IFunction;
  /** Answers `POST /models/{name}/predict`. */
  readonly predict: IFunction;
  /** Answers `POST /models/{name}/feedback` (labels of earlier predictions). */
  readonly feedback: IFunction;
  /** Answers `GET /`, `GET /models/{name}/report`, `GET /openapi.json`, `GET /docs` and its assets. */
  readonly pages: IFunction;
  /**
   * Require an `x-api-key` header on predict and the read-only routes (pages included), which are
   * otherwise public. @default false
   */
  readonly apiKeyRequired?: boolean;
  /**
   * How feedback callers authenticate: `iam` (a SigV4 signature of a principal allowed
   * `execute-api:Invoke` on the route) or `apiKey` (the API's key). Feedback is never anonymous: labels
   * drive the quality alarm, and so rollbacks. @default 'iam'
   */
  readonly feedbackAuth?: FeedbackAuth;
  /** Steady-state requests per second across the stage. @default 100 */
  readonly throttlingRateLimit?: number;
  /** Burst above the steady rate. @default 200 */
  readonly throttlingBurstLimit?: number;
}

/** The REST API, its access logs and the request model of the predict route. */
export class PredictApi extends Construct {
  public readonly api: RestApi;
  public readonly accessLogGroup: LogGroup;
  /** The JSON schema API Gateway checks `POST /models/{name}/predict` bodies against. */
  public readonly predictRequestModel: Model;
  /** The JSON schema API Gateway checks `POST /models/{name}/feedback` bodies against. */
  public readonly feedbackRequestModel: Model;
  /** Checks the bodies and path parameters of predict and feedback before a Lambda is invoked. */
  public readonly requestValidator: RequestValidator;
  /** Present only when a route requires a key (`apiKeyRequired`, or `feedbackAuth: 'apiKey'`). */
  public readonly apiKey?: IApiKey;
  /** The ARN pattern of `POST /models/{name}/feedback`, for `execute-api:Invoke` grants. */
  public readonly feedbackArn: string;

  constructor(scope: Construct, id: string, props: PredictApiProps) {
    super(scope, id);
    const throttlingRateLimit = props.throttlingRateLimit ?? 100;
    const throttlingBurstLimit = props.throttlingBurstLimit ?? 200;
    const apiKeyRequired = props.apiKeyRequired ?? false;
    const feedbackAuth = props.feedbackAuth ?? 'iam';

    this.accessLogGroup = new LogGroup(this, 'AccessLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.api = new RestApi(this, 'Api', {
      description: 'driftline model serving',
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
      // Any logging needs the account-wide API Gateway CloudWatch role; it is kept on stack deletion
      // because other APIs of the account (or a second driftline stack) rely on the same setting.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      defaultMethodOptions: { apiKeyRequired },
      deployOptions: {
        stageName: 'prod',
        throttlingRateLimit,
        throttlingBurstLimit,
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        accessLogDestination: new LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
      },
    });

    // Every error API Gateway answers itself has the API's error shape, {error, message}, like the handlers'.
    for (const [id, type] of [
      ['Default4xx', ResponseType.DEFAULT_4XX],
      ['Default5xx', ResponseType.DEFAULT_5XX],
    ] as const) {
      this.api.addGatewayResponse(id, {
        type,
        templates: {
          'application/json':
            '{"error":"$context.error.responseType","message":$context.error.messageString}',
        },
      });
    }
    this.api.addGatewayResponse('InvalidBody', {
      type: ResponseType.BAD_REQUEST_BODY,
      statusCode: '400',
      templates: {
        'application/json': '{"error":"InvalidRequest","message":"$context.error.validationErrorString"}',
      },
    });

    // The same zod schemas the handlers validate with (and the OpenAPI document is generated from), as
    // the JSON Schema draft 4 API Gateway checks bodies against before a Lambda is invoked.
    this.predictRequestModel = this.api.addModel('PredictRequest', {
      contentType: 'application/json',
      description: 'A predict call: 1 to 1000 instances, forecast histories or objects of feature values.',
      schema: apiGatewaySchema(predictRequestSchema, 'PredictRequest'),
    });
    this.feedbackRequestModel = this.api.addModel('FeedbackRequest', {
      contentType: 'application/json',
      description: 'Labels of earlier predictions: one {id, actual} or {feedback: [...]}.',
      schema: apiGatewaySchema(feedbackRequestSchema, 'FeedbackRequest'),
    });
    this.requestValidator = this.api.addRequestValidator('PredictValidator', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });

    const modelsIntegration = new LambdaIntegration(props.models, { allowTestInvoke: false });
    const predictIntegration = new LambdaIntegration(props.predict, { allowTestInvoke: false });
    const feedbackIntegration = new LambdaIntegration(props.feedback, { allowTestInvoke: false });
    const pagesIntegration = new LambdaIntegration(props.pages, { allowTestInvoke: false });
    const nameParameter = { 'method.request.path.name': true };

    this.api.root.addMethod('GET', pagesIntegration);
    this.api.root.addResource('openapi.json').addMethod('GET', pagesIntegration);
    const docs = this.api.root.addResource('docs');
    docs.addMethod('GET', pagesIntegration);
    docs.addResource('{asset}').addMethod('GET', pagesIntegration, {
      requestParameters: { 'method.request.path.asset': true },
    });
    this.api.root.addResource('health').addMethod('GET', modelsIntegration);
    const models = this.api.root.addResource('models');
    models.addMethod('GET', modelsIntegration);
    const model = models.addResource('{name}');
    model.addMethod('GET', modelsIntegration, {
      requestParameters: { ...nameParameter, ...queryParametersOf(modelQuerySchema) },
    });
    for (const listing of ['versions', 'runs', 'audit']) {
      model.addResource(listing).addMethod('GET', modelsIntegration, {
        requestParameters: { ...nameParameter, ...queryParametersOf(pageQuerySchema) },
      });
    }
    model.addResource('report').addMethod('GET', pagesIntegration, { requestParameters: nameParameter });
    model.addResource('predict').addMethod('POST', predictIntegration, {
      requestParameters: nameParameter,
      requestModels: { 'application/json': this.predictRequestModel },
      requestValidator: this.requestValidator,
    });
    model.addResource('feedback').addMethod('POST', feedbackIntegration, {
      requestParameters: nameParameter,
      requestModels: { 'application/json': this.feedbackRequestModel },
      requestValidator: this.requestValidator,
      ...(feedbackAuth === 'iam' ? { authorizationType: AuthorizationType.IAM } : { apiKeyRequired: true }),
    });
    this.feedbackArn = this.api.arnForExecuteApi(
      'POST',
      '/models/*/feedback',
      this.api.deploymentStage.stageName,
    );

    if (apiKeyRequired || feedbackAuth === 'apiKey') {
      const plan = this.api.addUsagePlan('UsagePlan', {
        description: 'driftline API clients',
        throttle: { rateLimit: throttlingRateLimit, burstLimit: throttlingBurstLimit },
        apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
      });
      this.apiKey = this.api.addApiKey('ApiKey', { description: 'driftline API key' });
      plan.addApiKey(this.apiKey);
    }

    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-APIG4',
        reason:
          'Predict and the GET routes (registry views, pages, docs) are public by design, or keyed with -c apiKey=true, and throttled; they change nothing that serves. Feedback, the one write, requires IAM (or an API key with -c feedbackAuth=apiKey); promote, rollback, specs and uploads are IAM-authorized AWS API calls, not API routes.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason:
          'No end users to sign in: callers are services and operators, identified by IAM (or an API key), not Cognito.',
      },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          "API Gateway's account-wide logging role; AWS's managed policy is the documented way to grant it.",
      },
      {
        id: 'AwsSolutions-APIG3',
        reason:
          'A WAF web ACL costs more than this API serves; stage throttling and request validation guard it instead.',
      },
    );
  }
}
