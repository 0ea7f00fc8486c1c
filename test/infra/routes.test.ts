/**
 * Every operation the OpenAPI document (and so the README and `/docs`) promises is routed: by a method of
 * the synthesized API, and by the local runtime's router reading that same template. A documented route
 * that is not routed fails here rather than answering 403 on AWS or 404 on `npm start`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromProjectRoot } from '../../infra/project.ts';
import { openApiDocument } from '../../lambdas/shared/openapi.ts';
import { findRoute } from '../../local/http.ts';
import { readLocalStack } from '../../local/template.ts';
import { synthDriftline } from './support.ts';

const ASL = 'statemachines/retrain.asl.json';

/** A concrete path for a documented template: `{name}` → `air-passengers`. */
const concrete = (template: string) => template.replaceAll(/\{[^}]+\}/g, 'air-passengers');

describe('documented routes', () => {
  const { stack, template } = synthDriftline();
  const documented = Object.entries(openApiDocument().paths).flatMap(([path, operations]) =>
    Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
  );
  const local = readLocalStack(
    {
      stackName: stack.stackName,
      artifactId: stack.artifactId,
      template: template.toJSON() as never,
      outdir: '',
      // The state machine's definition is a file asset, which an unbundled synth does not write.
      fileAssets: new Proxy({}, { get: () => readFileSync(fromProjectRoot(ASL), 'utf8') }),
    },
    { region: 'us-east-1', apiUrl: 'http://127.0.0.1:3000/' },
  );
  const [api] = local.apis;

  it('documents the pages, the registry views, predict and feedback', () => {
    // Assess: a guard that the comparison below has something to compare.
    expect(documented).toEqual(
      expect.arrayContaining([
        'GET /',
        'GET /models/{name}/report',
        'GET /openapi.json',
        'GET /docs',
        'GET /health',
        'POST /models/{name}/feedback',
      ]),
    );
  });

  it('documents a signature on exactly the routes the template authorizes with IAM', () => {
    // Prepare
    const document = openApiDocument();
    const signed = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([, operation]) => operation.security?.some((requirement) => 'sigv4' in requirement))
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    );
    // Act
    const iam = api.routes
      .filter((route) => route.authorizationType === 'AWS_IAM')
      .map((route) => `${route.method} ${route.path}`);
    // Assess
    expect(iam).toEqual(['POST /models/{name}/feedback']);
    expect(signed).toEqual(iam);
    expect(document.components.securitySchemes.sigv4).toMatchObject({
      type: 'apiKey',
      in: 'header',
      name: 'Authorization',
      'x-amazon-apigateway-authtype': 'awsSigv4',
    });
  });

  it.each(documented)('routes %s in the template, to a Lambda proxy', (operation) => {
    // Act
    const [method, path] = operation.split(' ');
    const route = api.routes.find((candidate) => candidate.path === path && candidate.method === method);
    // Assess
    expect(route?.integration.type).toBe('lambda');
  });

  it.each(documented)('routes %s on the local runtime', (operation) => {
    // Act
    const [method, path] = operation.split(' ');
    const found = findRoute(api.routes, concrete(path), method);
    // Assess
    expect('route' in found && found.route.path).toBe(path);
  });
});
