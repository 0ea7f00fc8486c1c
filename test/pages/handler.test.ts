/**
 * The pages function on the S3 and DynamoDB emulators, with versions, runs and artifacts the pipeline's
 * own steps produced (see `fixture.ts`), invoked through its middy wrapper as Lambda would.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMetric } from '../../lambdas/core/report/format.ts';
import { openApiDocument } from '../../lambdas/shared/openapi.ts';
import { liveSummary, PredictionLog } from '../../lambdas/shared/prediction-log.ts';
import { BUCKET, INJECTION, LOG_TABLE, lambda, type PagesFixture, startPagesFixture } from './fixture.ts';

let fixture: PagesFixture;
let pages: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

function get(resource: string, pathParameters: Record<string, string> | null = null, outsidePath?: string) {
  const path = Object.entries(pathParameters ?? {}).reduce(
    (text, [name, value]) => text.replace(`{${name}}`, value),
    resource,
  );
  return pages({
    resource,
    path,
    httpMethod: 'GET',
    pathParameters,
    requestContext: { path: outsidePath ?? `/prod${path}` },
  } as unknown as APIGatewayProxyEvent);
}

const swaggerDist = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

beforeAll(async () => {
  fixture = await startPagesFixture();
  pages = lambda(await import('../../lambdas/pages/handler.ts'));
});

afterAll(async () => fixture?.close());

describe('the pages function', () => {
  it('serves HTML with a content security policy that allows no script and no other origin', async () => {
    // Act
    const response = await get('/');
    const policy = response.headers!['content-security-policy'];
    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers!['content-type']).toBe('text/html; charset=utf-8');
    expect(policy).toContain("default-src 'none'");
    expect(policy).not.toMatch(/script-src|https?:|\*|unsafe-eval/);
    expect(response.headers!['x-content-type-options']).toBe('nosniff');
  });

  it('lists every registered model on the index, linking its report', async () => {
    // Act
    const { body } = await get('/');
    // Assess
    expect(body.match(/<tr data-model="/g)).toHaveLength(3);
    expect(body).toContain('<a href="models/air-passengers/report">air-passengers</a>');
    expect(body).toContain('<a href="models/breast-cancer/report">breast-cancer</a>');
    expect(body).not.toContain(INJECTION);
  });

  it('prefixes the index links with the stage when the root is asked for without its slash', async () => {
    const { body } = await get('/', null, '/prod');
    expect(body).toContain('<a href="prod/models/air-passengers/report">');
  });

  it('reports a forecast from its registry records and run artifacts', async () => {
    // Prepare
    const production = await fixture.registry.getPointer('air-passengers', 'production');
    // Act
    const { statusCode, body } = await get('/models/{name}/report', { name: 'air-passengers' });
    // Assess
    expect(statusCode).toBe(200);
    expect(body).toContain(`<div class="value">v${production!.version} `);
    for (const id of [
      'versions-table',
      'timeline',
      'metric-chart',
      'holdout-chart',
      'drift-table',
      'runs-table',
    ])
      expect(body, id).toContain(`id="${id}"`);
    // The holdout months come from the dataset the production version trained on.
    expect(body).toMatch(/Holdout of 24 steps \((1959-01 to 1960-12|1957-01 to 1958-12)\)/);
    // Forecast drift is tested on the target as the forest learns it, not on raw levels and their lags.
    expect(body).toContain('data-column="value (seasonal-log-ratio)"');
    expect(body).not.toContain('data-column="lag_12"');
    expect(body).not.toContain(INJECTION);
  });

  it('reports a classifier with the ROC curve and confusion matrix of its production version', async () => {
    // Act
    const { statusCode, body } = await get('/models/{name}/report', { name: 'breast-cancer' });
    // Assess
    expect(statusCode).toBe(200);
    expect(body).toContain('id="roc"');
    expect(body).toContain('<th scope="col">predicted 1</th>');
    expect(body).toMatch(/Confusion matrix of version [12]: \d+ of \d+ holdout rows right/);
    expect(body).not.toContain('id="holdout-chart"');
  });

  it('reports a model without versions as a friendly page', async () => {
    const { statusCode, body } = await get('/models/{name}/report', { name: 'churn-empty' });
    expect(statusCode).toBe(200);
    expect(body).toContain('No version of churn-empty yet.');
  });

  it('answers an unknown model with a 404 page linking back to the root', async () => {
    const { statusCode, headers, body } = await get('/models/{name}/report', { name: 'no-such-model' });
    expect(statusCode).toBe(404);
    expect(headers!['content-type']).toBe('text/html; charset=utf-8');
    expect(body).toContain('There is no model named &quot;no-such-model&quot;.');
    expect(body).toContain('<a href="../../">← All models</a>');
  });

  it('answers an internal error with a generic 500 page that leaks nothing', async () => {
    // Prepare: a run whose drift report is not JSON.
    await fixture.registry.putSpec('broken', { name: 'broken', task: 'regression', target: 'y' });
    await fixture.registry.startRun({
      model: 'broken',
      runId: 'exec-broken',
      startedAt: new Date().toISOString(),
      trigger: 'drop',
      status: 'succeeded',
      step: 'done',
      drift: { reportKey: 'runs/broken/exec-broken/drift.json' },
    });
    await new S3Client({ forcePathStyle: true }).send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'runs/broken/exec-broken/drift.json', Body: '{not json' }),
    );
    // Act
    const { statusCode, body } = await get('/models/{name}/report', { name: 'broken' });
    // Assess
    expect(statusCode).toBe(500);
    expect(body).toContain('Something went wrong');
    expect(body).not.toMatch(/SyntaxError|position 1|\{not json/);
  });

  it('reports a version whose live labels sum past 2^53 (labels of 0 make astronomically large errors)', async () => {
    // Prepare: two predictions labelled 0. Each percentage error (100 × |0 − 400| / ε ≈ 1.8e20) is stored
    // capped at 2^53 − 1, so the version's error sum passes 2^53, which the document client reads as a
    // BigInt (the fuzz's one 500 from this page, after its feedback routes had labelled 0s).
    const predict = lambda<(event: unknown) => Promise<APIGatewayProxyResult>>(
      await import('../../lambdas/predict/handler.ts'),
    );
    const feedback = lambda<(event: unknown) => Promise<APIGatewayProxyResult>>(
      await import('../../lambdas/feedback/handler.ts'),
    );
    const event = (route: string, body: unknown) => ({
      resource: `/models/{name}/${route}`,
      httpMethod: 'POST',
      pathParameters: { name: 'air-passengers' },
      body: JSON.stringify(body),
    });
    const history = Array.from({ length: 12 }, (_, month) => 400 + 10 * month);
    const answer = await predict(event('predict', { instances: [{ history }, { history }] }));
    const ids = (JSON.parse(answer.body) as { predictions: { id: string }[] }).predictions.map((p) => p.id);
    const labelled = await feedback(event('feedback', { feedback: ids.map((id) => ({ id, actual: 0 })) }));
    expect(labelled.statusCode).toBe(200);
    const production = await fixture.registry.getPointer('air-passengers', 'production');
    // Act
    const { statusCode, body } = await get('/models/{name}/report', { name: 'air-passengers' });
    const live = await liveSummary(new PredictionLog(LOG_TABLE), 'air-passengers', production!.version);
    // Assess: the page renders, with the live error the labels made (the two capped errors dominate)
    expect(statusCode).toBe(200);
    expect(live!.meanError).toBeGreaterThan((2 * (2 ** 53 - 1)) / live!.labels - 1e3);
    expect(body).toContain(`<td class="num">${formatMetric('mape', live!.meanError)}</td>`);
  });

  it('serves the OpenAPI document as JSON', async () => {
    const response = await get('/openapi.json');
    expect(response.statusCode).toBe(200);
    expect(response.headers!['content-type']).toBe('application/json');
    expect(JSON.parse(response.body)).toEqual(openApiDocument());
  });

  it('serves the docs page with a policy that lets only its own scripts run', async () => {
    // Act
    const response = await get('/docs');
    const policy = response.headers!['content-security-policy'];
    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('<div id="swagger-ui">');
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("connect-src 'self'");
    expect(policy).not.toMatch(/https?:|\*|unsafe-eval|script-src[^;]*unsafe-inline/);
  });

  it('serves the Swagger UI files from swagger-ui-dist and our start-up script', async () => {
    // Act
    const bundle = await get('/docs/{asset}', { asset: 'swagger-ui-bundle.js' });
    const css = await get('/docs/{asset}', { asset: 'swagger-ui.css' });
    const script = await get('/docs/{asset}', { asset: 'driftline-docs.js' });
    // Assess
    expect(bundle.headers!['content-type']).toBe('text/javascript; charset=utf-8');
    expect(bundle.body).toBe(readFileSync(`${swaggerDist}/swagger-ui-bundle.js`, 'utf8'));
    expect(css.headers!['content-type']).toBe('text/css; charset=utf-8');
    expect(css.body).toBe(readFileSync(`${swaggerDist}/swagger-ui.css`, 'utf8'));
    expect(script.body).toContain('SwaggerUIBundle(');
    expect(bundle.headers!['cache-control']).toBe('public, max-age=86400');
  });

  it('sends a page asked for with a trailing slash to its URL without one, where its relative links resolve', async () => {
    // Act
    const docs = await get('/docs', null, '/prod/docs/');
    const report = await get(
      '/models/{name}/report',
      { name: 'air-passengers' },
      '/prod/models/air-passengers/report/',
    );
    const asset = await get('/docs/{asset}', { asset: 'swagger-ui.css' }, '/prod/docs/swagger-ui.css//');
    const root = await get('/', null, '/prod/');
    // Assess: each Location, resolved against the URL asked for, is the page's own URL.
    const resolved = (response: APIGatewayProxyResult, asked: string) =>
      new URL(String(response.headers!.location), `https://api.example${asked}`).pathname;
    expect([docs.statusCode, resolved(docs, '/prod/docs/')]).toEqual([301, '/prod/docs']);
    expect([report.statusCode, resolved(report, '/prod/models/air-passengers/report/')]).toEqual([
      301,
      '/prod/models/air-passengers/report',
    ]);
    expect([asset.statusCode, resolved(asset, '/prod/docs/swagger-ui.css//')]).toEqual([
      301,
      '/prod/docs/swagger-ui.css',
    ]);
    expect(root.statusCode).toBe(200);
  });

  it('answers an unknown docs file or route with a 404 page', async () => {
    const asset = await get('/docs/{asset}', { asset: 'index.html' });
    const route = await get('/nowhere');
    expect(asset.statusCode).toBe(404);
    expect(asset.body).toContain('There is no docs file named &quot;index.html&quot;.');
    expect(route.statusCode).toBe(404);
  });
});
