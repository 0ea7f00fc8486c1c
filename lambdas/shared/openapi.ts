/**
 * The OpenAPI 3.0 document of the driftline API, generated from the zod schemas that validate requests
 * (`api-schemas.ts`), so the docs cannot drift from what the handlers accept. Served at `/openapi.json`
 * and rendered by Swagger UI at `/docs`.
 */
import * as z from 'zod';
import { NAME_PATTERN } from '#core/spec.ts';
import {
  auditRecordSchema,
  auditResponseSchema,
  errorResponseSchema,
  feedbackItemSchema,
  feedbackRequestSchema,
  feedbackResponseSchema,
  forecastInstanceSchema,
  healthResponseSchema,
  modelDetailResponseSchema,
  modelQuerySchema,
  modelsResponseSchema,
  modelVersionSchema,
  pageQuerySchema,
  pointerSchema,
  predictionSchema,
  predictRequestSchema,
  predictResponseSchema,
  runRecordSchema,
  runsResponseSchema,
  tabularInstanceSchema,
  versionsResponseSchema,
} from './api-schemas.ts';

/** A JSON Schema / OpenAPI Schema Object. */
export type SchemaObject = Record<string, unknown>;

export interface OpenApiOperation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  parameters?: Record<string, unknown>[];
  /** Who may call it, by {@link OpenApiDocument.components}' `securitySchemes`; absent for public routes. */
  security?: Record<string, string[]>[];
  requestBody?: { required: boolean; content: Record<string, { schema: SchemaObject; examples?: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: SchemaObject }> }>;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description: string };
  servers: { url: string; description: string }[];
  tags: { name: string; description: string }[];
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, SchemaObject>; securitySchemes: Record<string, SchemaObject> };
}

/** Component name → the zod schema it is generated from. */
export const COMPONENT_SCHEMAS = {
  PredictRequest: predictRequestSchema,
  ForecastInstance: forecastInstanceSchema,
  TabularInstance: tabularInstanceSchema,
  PredictResponse: predictResponseSchema,
  Prediction: predictionSchema,
  FeedbackRequest: feedbackRequestSchema,
  FeedbackItem: feedbackItemSchema,
  FeedbackResponse: feedbackResponseSchema,
  Error: errorResponseSchema,
  HealthResponse: healthResponseSchema,
  ModelsResponse: modelsResponseSchema,
  ModelDetail: modelDetailResponseSchema,
  ModelVersion: modelVersionSchema,
  Pointer: pointerSchema,
  RunRecord: runRecordSchema,
  AuditRecord: auditRecordSchema,
  RunsResponse: runsResponseSchema,
  VersionsResponse: versionsResponseSchema,
  AuditResponse: auditResponseSchema,
} as const;

export type ComponentName = keyof typeof COMPONENT_SCHEMAS;

/** A `$ref` to a component schema. */
export function schemaRef(name: ComponentName): SchemaObject {
  return { $ref: `#/components/schemas/${name}` };
}

/**
 * Every component as an OpenAPI 3.0 Schema Object; a schema used inside another becomes a `$ref`.
 * zod tags each with `$id`, which OpenAPI 3.0 schemas do not allow, so it is dropped.
 */
function componentSchemas(): Record<string, SchemaObject> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(COMPONENT_SCHEMAS)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    target: 'openapi-3.0',
    uri: (id) => `#/components/schemas/${id}`,
  });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => {
      const { $id: _id, ...rest } = schema as SchemaObject;
      return [id, rest];
    }),
  );
}

const jsonOf = (name: ComponentName) => ({ 'application/json': { schema: schemaRef(name) } });
const htmlPage = { 'text/html': { schema: { type: 'string' } } };

const nameParameter = {
  name: 'name',
  in: 'path',
  required: true,
  description: 'The model name.',
  schema: { type: 'string', pattern: NAME_PATTERN.source },
  example: 'air-passengers',
};

/** The query parameters a zod object schema parses, as OpenAPI parameters (all optional). */
function queryParameters(schema: z.ZodObject): Record<string, unknown>[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const { description, ...fieldSchema } = z.toJSONSchema(field as z.ZodType, {
      target: 'openapi-3.0',
      io: 'input',
    }) as SchemaObject;
    return { name, in: 'query', required: false, description, schema: fieldSchema };
  });
}

const errors = {
  notFound: { description: 'No model of that name.', content: jsonOf('Error') },
  badRequest: { description: 'The request does not match the schema.', content: jsonOf('Error') },
  server: { description: 'Internal error; see the function logs.', content: jsonOf('Error') },
};

/**
 * How feedback is signed: AWS Signature Version 4 (`execute-api`), in API Gateway's own notation for
 * IAM authorization in OpenAPI. The route's `security` names it, as the template's `AWS_IAM` requires it.
 */
const SIGV4_SCHEME = {
  type: 'apiKey',
  in: 'header',
  name: 'Authorization',
  description:
    'An AWS Signature Version 4 (service `execute-api`) of a principal allowed `execute-api:Invoke` on the route; locally, the install’s key pair. A stack deployed with `-c feedbackAuth=apiKey` takes its API key in `x-api-key` instead.',
  'x-amazon-apigateway-authtype': 'awsSigv4',
};

const AIR_PASSENGERS_1958 = [340, 318, 362, 348, 363, 435, 491, 505, 404, 359, 310, 337];

function paths(): OpenApiDocument['paths'] {
  return {
    '/health': {
      get: {
        operationId: 'getHealth',
        summary: 'Health and the production version of every model',
        tags: ['registry'],
        responses: { '200': { description: 'The API is up.', content: jsonOf('HealthResponse') } },
      },
    },
    '/models': {
      get: {
        operationId: 'listModels',
        summary: 'Registered models',
        tags: ['registry'],
        responses: { '200': { description: 'Every model.', content: jsonOf('ModelsResponse') } },
      },
    },
    '/models/{name}': {
      get: {
        operationId: 'getModel',
        summary: 'A model: what serves, and the first page of its versions, runs and audit trail',
        tags: ['registry'],
        parameters: [nameParameter, ...queryParameters(modelQuerySchema)],
        responses: {
          '200': { description: 'The model.', content: jsonOf('ModelDetail') },
          '400': errors.badRequest,
          '404': errors.notFound,
        },
      },
    },
    '/models/{name}/versions': {
      get: {
        operationId: 'listVersions',
        summary: 'The versions of a model, a page at a time',
        tags: ['registry'],
        parameters: [nameParameter, ...queryParameters(pageQuerySchema)],
        responses: {
          '200': { description: 'A page of versions.', content: jsonOf('VersionsResponse') },
          '400': errors.badRequest,
          '404': errors.notFound,
        },
      },
    },
    '/models/{name}/runs': {
      get: {
        operationId: 'listRuns',
        summary: 'The pipeline runs of a model, a page at a time',
        tags: ['registry'],
        parameters: [nameParameter, ...queryParameters(pageQuerySchema)],
        responses: {
          '200': { description: 'A page of runs.', content: jsonOf('RunsResponse') },
          '400': errors.badRequest,
          '404': errors.notFound,
        },
      },
    },
    '/models/{name}/audit': {
      get: {
        operationId: 'listAudit',
        summary: 'The audit trail of a model (every change of what serves), a page at a time',
        tags: ['registry'],
        parameters: [nameParameter, ...queryParameters(pageQuerySchema)],
        responses: {
          '200': { description: 'A page of the audit trail.', content: jsonOf('AuditResponse') },
          '400': errors.badRequest,
          '404': errors.notFound,
        },
      },
    },
    '/models/{name}/predict': {
      post: {
        operationId: 'predict',
        summary: 'Predict with the production version',
        description:
          'Answers with the production version (or the canary, for its share of traffic); the answer names the version that made it.',
        tags: ['serving'],
        parameters: [nameParameter],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: schemaRef('PredictRequest'),
              examples: {
                forecast: {
                  summary: 'air-passengers: the next month after 12 months of history',
                  value: { instances: [{ history: AIR_PASSENGERS_1958 }] },
                },
                tabular: {
                  summary: 'A tabular instance: feature name → value',
                  value: { instances: [{ mean_radius: 14.1, mean_texture: 19.3 }] },
                },
              },
            },
          },
        },
        responses: {
          '200': { description: 'One prediction per instance.', content: jsonOf('PredictResponse') },
          '400': errors.badRequest,
          '404': errors.notFound,
          '500': errors.server,
          '503': {
            description:
              'The production artifact is refused (its bytes do not match the sha256 the registry recorded); the message names the version and the reason.',
            content: jsonOf('Error'),
          },
        },
      },
    },
    '/models/{name}/feedback': {
      post: {
        operationId: 'sendFeedback',
        summary: 'Report the true outcome of earlier predictions',
        description: 'Late labels feed the live metrics that drive quality alarms and rollbacks.',
        tags: ['serving'],
        security: [{ sigv4: [] }],
        parameters: [nameParameter],
        requestBody: { required: true, content: jsonOf('FeedbackRequest') },
        responses: {
          '200': { description: 'The labels were recorded.', content: jsonOf('FeedbackResponse') },
          '400': errors.badRequest,
          '403': { description: 'The request is not signed, or not validly.', content: jsonOf('Error') },
          '404': errors.notFound,
          '409': {
            description:
              'A prediction of the request already has a label (a label is final); none of its labels is recorded.',
            content: jsonOf('Error'),
          },
        },
      },
    },
    '/models/{name}/report': {
      get: {
        operationId: 'getModelReport',
        summary: 'The model report page',
        description: 'Versions, holdout charts, the latest drift check and recent runs, as one HTML page.',
        tags: ['pages'],
        parameters: [nameParameter],
        responses: {
          '200': { description: 'The report.', content: htmlPage },
          '400': { description: 'Not a model name.', content: htmlPage },
          '404': { description: 'No model of that name.', content: htmlPage },
        },
      },
    },
    '/': {
      get: {
        operationId: 'getIndex',
        summary: 'The model list page',
        tags: ['pages'],
        responses: { '200': { description: 'Every model, linking to its report.', content: htmlPage } },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'getOpenApi',
        summary: 'This OpenAPI document',
        tags: ['pages'],
        responses: {
          '200': {
            description: 'The OpenAPI 3.0 document.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
    '/docs': {
      get: {
        operationId: 'getDocs',
        summary: 'Interactive API docs (this page)',
        tags: ['pages'],
        responses: { '200': { description: 'Swagger UI.', content: htmlPage } },
      },
    },
  };
}

/**
 * The OpenAPI 3.0.3 document of the API.
 *
 * The server URL is relative (`./`): Swagger UI resolves it against the document's own URL, so "try it
 * out" calls the API the document was fetched from, under API Gateway's stage prefix or locally alike.
 */
export function openApiDocument(): OpenApiDocument {
  return {
    openapi: '3.0.3',
    info: {
      title: 'driftline API',
      version: '1.0.0',
      description:
        'Predictions from the production version of each model, the model registry (versions, runs, audit), late labels for live metrics, and the report pages.',
    },
    servers: [{ url: './', description: 'This API (relative to the document)' }],
    tags: [
      { name: 'serving', description: 'Predictions and feedback.' },
      { name: 'registry', description: 'Models, versions and runs (read-only).' },
      { name: 'pages', description: 'HTML pages and this document.' },
    ],
    paths: paths(),
    components: { schemas: componentSchemas(), securitySchemes: { sigv4: SIGV4_SCHEME } },
  };
}
