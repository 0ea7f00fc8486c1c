/**
 * The OpenAPI document: every route, OpenAPI 3.0 structure (checked here rule by rule: no OpenAPI
 * validator is installed), and request schemas that accept and refuse exactly what the zod schemas the
 * handlers validate with accept and refuse (Ajv, a JSON Schema validator, evaluates the document's side).
 */
import { Ajv } from 'ajv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  feedbackRequestSchema,
  forecastInstanceSchema,
  MAX_INSTANCES,
  predictRequestSchema,
} from '../../lambdas/shared/api-schemas.ts';
import { type ComponentName, openApiDocument, type SchemaObject } from '../../lambdas/shared/openapi.ts';

const document = openApiDocument();

const ROUTES = [
  ['get', '/health'],
  ['get', '/models'],
  ['get', '/models/{name}'],
  ['get', '/models/{name}/versions'],
  ['get', '/models/{name}/runs'],
  ['get', '/models/{name}/audit'],
  ['post', '/models/{name}/predict'],
  ['post', '/models/{name}/feedback'],
  ['get', '/models/{name}/report'],
  ['get', '/'],
  ['get', '/openapi.json'],
  ['get', '/docs'],
] as const;

/** Every value in the document with the JSON path that leads to it. */
function* walk(value: unknown, path: string): Generator<[string, unknown]> {
  yield [path, value];
  if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) yield* walk(child, `${path}/${key}`);
  }
}

/** A validator for a component, resolving `$ref`s against the document's components. */
function validatorOf(name: ComponentName) {
  const ajv = new Ajv({ strict: false, allErrors: true });
  return ajv.compile({ $ref: `#/components/schemas/${name}`, components: document.components });
}

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.0 with a server relative to where it is served', () => {
    expect(document.openapi).toMatch(/^3\.0\.\d+$/);
    expect(document.info).toMatchObject({ title: 'driftline API', version: expect.any(String) });
    expect(document.servers).toEqual([{ url: './', description: expect.any(String) }]);
  });

  it('describes every route of the API, each operation once with a unique id', () => {
    // Act
    const operations = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method} ${path}`),
    );
    const ids = Object.values(document.paths).flatMap((item) =>
      Object.values(item).map((op) => op.operationId),
    );
    // Assess
    expect(operations.sort()).toEqual(ROUTES.map(([method, path]) => `${method} ${path}`).sort());
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('declares every path template parameter as a required path parameter', () => {
    for (const [path, item] of Object.entries(document.paths)) {
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      for (const operation of Object.values(item)) {
        const declared = (operation.parameters ?? [])
          .filter((parameter) => parameter.in === 'path')
          .map((parameter) => {
            expect(parameter.required, `${path} ${String(parameter.name)}`).toBe(true);
            return parameter.name;
          });
        expect(declared, path).toEqual(templated);
      }
    }
  });

  it('gives every response a description and every media type a schema', () => {
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        expect(Object.keys(operation.responses).length, `${method} ${path}`).toBeGreaterThan(0);
        for (const [status, response] of Object.entries(operation.responses)) {
          expect(status).toMatch(/^[1-5]\d\d$/);
          expect(response.description, `${method} ${path} ${status}`).not.toBe('');
          for (const media of Object.values(response.content ?? {})) expect(media.schema).toBeDefined();
        }
      }
    }
  });

  it('serves the pages as text/html', () => {
    for (const path of ['/', '/models/{name}/report', '/docs']) {
      expect(Object.keys(document.paths[path].get.responses['200'].content ?? {})).toEqual(['text/html']);
    }
  });

  it('resolves every $ref to a component schema', () => {
    const refs = [...walk(document, '#')].flatMap(([, value]) =>
      value !== null && typeof value === 'object' && '$ref' in value
        ? [(value as { $ref: string }).$ref]
        : [],
    );
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(document.components.schemas[ref.split('/').at(-1)!], ref).toBeDefined();
    }
  });

  it('uses only OpenAPI 3.0 schema keywords: no $id, $schema, const, propertyNames or type lists', () => {
    const forbidden = new Set(['$id', '$schema', 'const', 'propertyNames', 'prefixItems', '$defs']);
    for (const [path, value] of walk(document.components, '#/components')) {
      const key = path.split('/').at(-1)!;
      // `properties` maps names to schemas: a property may be called anything.
      if (path.split('/').at(-2) === 'properties') continue;
      expect(forbidden.has(key), path).toBe(false);
      if (key === 'type') expect(typeof value, path).toBe('string');
    }
  });
});

describe('request bodies generated from the zod schemas', () => {
  it('reference the generated PredictRequest and FeedbackRequest components', () => {
    const body = (path: string) => document.paths[path].post.requestBody!;
    expect(body('/models/{name}/predict').required).toBe(true);
    expect(body('/models/{name}/predict').content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/PredictRequest',
    });
    expect(body('/models/{name}/feedback').content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/FeedbackRequest',
    });
  });

  it('are what zod generates for the same schemas', () => {
    // Prepare: a schema with no registered children converts the same alone or in the registry.
    const { $schema: _schema, ...alone } = z.toJSONSchema(forecastInstanceSchema, { target: 'openapi-3.0' });
    const predict = document.components.schemas.PredictRequest as {
      properties: { instances: SchemaObject };
      additionalProperties: boolean;
    };
    // Assess
    expect(document.components.schemas.ForecastInstance).toEqual(alone);
    expect(predict.properties.instances).toMatchObject({ minItems: 1, maxItems: MAX_INSTANCES });
    expect(predict.additionalProperties).toBe(false);
  });

  it('has examples the schemas accept', () => {
    const examples = document.paths['/models/{name}/predict'].post.requestBody!.content['application/json']
      .examples as Record<string, { value: unknown }>;
    const validate = validatorOf('PredictRequest');
    for (const { value } of Object.values(examples)) {
      expect(validate(value)).toBe(true);
      expect(predictRequestSchema.safeParse(value).success).toBe(true);
    }
  });

  it.each([
    ['no instances', { instances: [] }],
    ['instances missing', {}],
    ['an unknown field', { instances: [{ history: [1] }], extra: 1 }],
    ['an empty history', { instances: [{ history: [] }] }],
    ['a month out of range', { instances: [{ history: [1], lastMonth: '1960-13' }] }],
    ['a list as a feature value', { instances: [{ radius: [1, 2] }] }],
    ['too many instances', { instances: Array.from({ length: MAX_INSTANCES + 1 }, () => ({ x: 1 })) }],
  ])('forbids a predict request with %s, and so does predictRequestSchema', (_, body) => {
    expect(validatorOf('PredictRequest')(body)).toBe(false);
    expect(predictRequestSchema.safeParse(body).success).toBe(false);
  });

  const number = fc.double({ noNaN: true, noDefaultInfinity: true });
  const scalar = fc.oneof(number, fc.string({ maxLength: 8 }), fc.constant(null), fc.boolean());
  const value = fc.oneof(scalar, fc.array(number, { maxLength: 3 }));

  it('accepts exactly the predict requests predictRequestSchema accepts', () => {
    // Prepare: mostly well-formed instances with a few bad ones mixed in, so both verdicts are common.
    const month = fc.oneof(
      fc.constantFrom('1960-12', '1960-13', '1960-1', '1960-00'),
      fc.string({ maxLength: 8 }),
    );
    const forecast = fc.record(
      { history: fc.array(number, { minLength: 1, maxLength: 4 }), lastMonth: month },
      { requiredKeys: ['history'] },
    );
    const anyForecast = fc.record(
      { history: fc.array(number, { maxLength: 4 }), lastMonth: month, extra: scalar },
      { requiredKeys: [] },
    );
    const key = fc.string({ maxLength: 6 });
    const tabular = fc.dictionary(key, fc.oneof(number, fc.string({ maxLength: 8 }), fc.constant(null)), {
      maxKeys: 4,
    });
    const anyTabular = fc.dictionary(key, value, { maxKeys: 4 });
    const instance = fc.oneof(
      { arbitrary: forecast, weight: 4 },
      { arbitrary: tabular, weight: 4 },
      { arbitrary: anyForecast, weight: 1 },
      { arbitrary: anyTabular, weight: 1 },
      { arbitrary: value, weight: 1 },
    );
    const body = fc.oneof(
      { arbitrary: fc.record({ instances: fc.array(instance, { minLength: 1, maxLength: 3 }) }), weight: 6 },
      { arbitrary: fc.record({ instances: fc.array(instance, { maxLength: 2 }), other: scalar }), weight: 1 },
      { arbitrary: fc.record({ instances: value }), weight: 1 },
      { arbitrary: value, weight: 1 },
    );
    const validate = validatorOf('PredictRequest');
    // Act & Assess: bodies arrive as JSON, so each is compared after a JSON round trip.
    fc.assert(
      fc.property(body, (generated) => {
        const request = JSON.parse(JSON.stringify(generated));
        expect(validate(request)).toBe(predictRequestSchema.safeParse(request).success);
      }),
      { seed: 42, numRuns: 400 },
    );
  });

  it('accepts exactly the feedback requests feedbackRequestSchema accepts', () => {
    // Prepare: mostly well-formed labels with a few bad ones mixed in.
    const item = fc.record({ id: fc.string({ minLength: 1, maxLength: 8 }), actual: number });
    const anyItem = fc.record(
      {
        id: fc.oneof(fc.string({ maxLength: 4 }), number),
        actual: fc.oneof(number, fc.string()),
        more: scalar,
      },
      { requiredKeys: [] },
    );
    const items = fc.array(fc.oneof({ arbitrary: item, weight: 6 }, { arbitrary: anyItem, weight: 1 }), {
      maxLength: 3,
    });
    const body = fc.oneof(
      { arbitrary: item, weight: 3 },
      { arbitrary: anyItem, weight: 1 },
      { arbitrary: fc.record({ feedback: items }), weight: 3 },
      { arbitrary: value, weight: 1 },
    );
    const validate = validatorOf('FeedbackRequest');
    // Act & Assess
    fc.assert(
      fc.property(body, (generated) => {
        const request = JSON.parse(JSON.stringify(generated));
        expect(validate(request)).toBe(feedbackRequestSchema.safeParse(request).success);
      }),
      { seed: 42, numRuns: 400 },
    );
  });
});
