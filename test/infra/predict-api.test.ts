import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { flattenReference } from '../../infra/nag.ts';
import { predictRequestSchema } from '../../lambdas/shared/api-schemas.ts';
import { logicalIdOf, synthDriftline } from './support.ts';

type Resource = { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, string> };

/** `METHOD /path` of every API method, mapped to the `driftline:name` of the function it proxies to. */
function routes(template: Template): Record<string, { function: string; integration: string }> {
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const pathOf = (id: string | undefined): string => {
    if (id === undefined) return '';
    const resource = resources[id];
    if (resource?.Type !== 'AWS::ApiGateway::Resource') return '';
    const parent = (resource.Properties.ParentId as { Ref?: string }).Ref;
    return `${pathOf(parent)}/${resource.Properties.PathPart}`;
  };
  const entries = Object.values(resources)
    .filter((resource) => resource.Type === 'AWS::ApiGateway::Method')
    .map((method) => {
      const integration = method.Properties.Integration as {
        Type: string;
        Uri: { 'Fn::Join': [string, unknown[]] };
      };
      const functionId = JSON.stringify(integration.Uri).match(/"Fn::GetAtt":\["([^"]+)","Arn"\]/)?.[1] ?? '';
      const path = pathOf((method.Properties.ResourceId as { Ref?: string }).Ref) || '/';
      return [
        `${method.Properties.HttpMethod} ${path}`,
        {
          function: resources[functionId]?.Metadata?.['driftline:name'] ?? '',
          integration: integration.Type,
        },
      ];
    });
  return Object.fromEntries(entries);
}

describe('PredictApi', () => {
  const { stack, template } = synthDriftline();
  const resources = template.toJSON().Resources;
  const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0];
  const predictMethod = Object.values(
    template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'POST' } }),
  )[0];

  it('routes the read-only views to models, pages to pages, predictions to predict and labels to feedback, as Lambda proxies', () => {
    // Assess
    expect(routes(template)).toEqual({
      'GET /': { function: 'pages', integration: 'AWS_PROXY' },
      'GET /openapi.json': { function: 'pages', integration: 'AWS_PROXY' },
      'GET /docs': { function: 'pages', integration: 'AWS_PROXY' },
      'GET /docs/{asset}': { function: 'pages', integration: 'AWS_PROXY' },
      'GET /models/{name}/report': { function: 'pages', integration: 'AWS_PROXY' },
      'GET /health': { function: 'models', integration: 'AWS_PROXY' },
      'GET /models': { function: 'models', integration: 'AWS_PROXY' },
      'GET /models/{name}': { function: 'models', integration: 'AWS_PROXY' },
      'GET /models/{name}/versions': { function: 'models', integration: 'AWS_PROXY' },
      'GET /models/{name}/runs': { function: 'models', integration: 'AWS_PROXY' },
      'GET /models/{name}/audit': { function: 'models', integration: 'AWS_PROXY' },
      'POST /models/{name}/predict': { function: 'predict', integration: 'AWS_PROXY' },
      'POST /models/{name}/feedback': { function: 'feedback', integration: 'AWS_PROXY' },
    });
  });

  it('is a regional API deployed to stage prod with throttling, tracing and access logs', () => {
    // Assess
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
    expect(stage.Properties).toMatchObject({
      StageName: 'prod',
      TracingEnabled: true,
      MethodSettings: [
        {
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 100,
          ThrottlingBurstLimit: 200,
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
        },
      ],
    });
    expect(flattenReference(stage.Properties.AccessLogSetting.DestinationArn)).toMatch(
      new RegExp(`:log-group:<${logicalIdOf(stack.api.accessLogGroup)}>$`),
    );
    expect(JSON.parse(stage.Properties.AccessLogSetting.Format)).toMatchObject({ status: '$context.status' });
  });

  it('validates predict bodies against the JSON Schema of the zod schema the handler validates with', () => {
    // Prepare
    const modelId = predictMethod.Properties.RequestModels['application/json'].Ref;
    const validatorId = predictMethod.Properties.RequestValidatorId.Ref;
    // Assess
    expect(resources[validatorId].Properties).toMatchObject({
      ValidateRequestBody: true,
      ValidateRequestParameters: true,
    });
    const { $schema: _draft, ...generated } = z.toJSONSchema(predictRequestSchema, { target: 'draft-4' });
    expect(resources[modelId].Properties).toMatchObject({ ContentType: 'application/json' });
    expect(resources[modelId].Properties.Schema).toEqual({
      $schema: 'http://json-schema.org/draft-04/schema#',
      title: 'PredictRequest',
      ...generated,
    });
    expect(resources[modelId].Properties.Schema).toMatchObject({
      type: 'object',
      required: ['instances'],
      properties: { instances: { type: 'array', minItems: 1, maxItems: 1000 } },
    });
    expect(predictMethod.Properties.RequestParameters).toEqual({ 'method.request.path.name': true });
  });

  it('answers a body that fails validation with a JSON 400 naming the problem', () => {
    // Assess
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'BAD_REQUEST_BODY',
      StatusCode: '400',
      ResponseTemplates: {
        'application/json': '{"error":"InvalidRequest","message":"$context.error.validationErrorString"}',
      },
    });
  });

  /** `METHOD /path` → how the method is authorized: `NONE`, `AWS_IAM`, with `+key` when a key is required. */
  function authorization(of: Template): Record<string, string> {
    const resources = of.toJSON().Resources as Record<string, Resource>;
    const byRoute = routes(of);
    const methods = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGateway::Method');
    return Object.fromEntries(
      Object.keys(byRoute).map((route, i) => {
        const p = methods[i].Properties;
        return [route, `${p.AuthorizationType}${p.ApiKeyRequired === true ? '+key' : ''}`];
      }),
    );
  }

  it('requires a signature (IAM) on every method that changes anything, and nothing on reads and predict by default', () => {
    // Act
    const byRoute = authorization(template);
    // Assess
    for (const [route, auth] of Object.entries(byRoute)) {
      const reads = route.startsWith('GET ') || route === 'POST /models/{name}/predict';
      expect(`${route} ${auth}`).toBe(`${route} ${reads ? 'NONE' : 'AWS_IAM'}`);
    }
    expect(byRoute['POST /models/{name}/feedback']).toBe('AWS_IAM');
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 0);
  });

  it('requires an API key on feedback instead of IAM with feedbackAuth apiKey', () => {
    // Act
    const keyed = synthDriftline({ feedbackAuth: 'apiKey' }).template;
    // Assess
    const byRoute = authorization(keyed);
    expect(byRoute['POST /models/{name}/feedback']).toBe('NONE+key');
    expect(Object.entries(byRoute).filter(([, auth]) => auth !== 'NONE')).toEqual([
      ['POST /models/{name}/feedback', 'NONE+key'],
    ]);
    keyed.resourceCountIs('AWS::ApiGateway::ApiKey', 1);
  });

  it('requires an API key on every route, with a usage plan, when apiKeyRequired is set', () => {
    // Act
    const keyed = synthDriftline({ apiKeyRequired: true }).template;
    // Assess
    const byRoute = authorization(keyed);
    expect(Object.keys(byRoute)).toHaveLength(13);
    for (const [route, auth] of Object.entries(byRoute))
      expect(`${route} ${auth}`).toBe(
        `${route} ${route === 'POST /models/{name}/feedback' ? 'AWS_IAM' : 'NONE'}+key`,
      );
    keyed.resourceCountIs('AWS::ApiGateway::ApiKey', 1);
    keyed.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: 100, BurstLimit: 200 },
    });
    expect(keyed.findOutputs('ApiKeyId')).not.toEqual({});
  });

  it('validates feedback bodies against the FeedbackRequest model', () => {
    // Assess
    const resources = template.toJSON().Resources as Record<string, Resource>;
    const feedback = Object.values(resources).find(
      (r) =>
        r.Type === 'AWS::ApiGateway::Method' &&
        JSON.stringify(r.Properties.RequestModels ?? {}).includes('FeedbackRequest'),
    );
    expect(feedback?.Properties.HttpMethod).toBe('POST');
    expect(feedback?.Properties.RequestValidatorId).toBeDefined();
  });

  it('answers every error API Gateway makes itself as {error, message}', () => {
    // Assess
    for (const type of ['DEFAULT_4XX', 'DEFAULT_5XX'])
      template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: type,
        ResponseTemplates: {
          'application/json':
            '{"error":"$context.error.responseType","message":$context.error.messageString}',
        },
      });
  });

  it('offers policies that allow sending labels, and running the CLI, to attach to callers', () => {
    // Assess
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: Match.anyValue() }],
      },
    });
    expect(Object.keys(template.findOutputs('*'))).toEqual(
      expect.arrayContaining(['FeedbackClientPolicyArn', 'OperatorPolicyArn']),
    );
  });
});
