/**
 * The pages of the API, rendered from the registry and the run artifacts on each request: `GET /` (the
 * models), `GET /models/{name}/report`, `GET /openapi.json`, and the interactive docs at `GET /docs`
 * with their files at `GET /docs/{asset}`.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { renderDocsPage } from '#core/report/docs-page.ts';
import { renderIndexPage } from '#core/report/index-page.ts';
import { renderModelReport } from '#core/report/model-report.ts';
import { requiredEnv } from '../shared/config.ts';
import { NotFoundError } from '../shared/errors.ts';
import { json, modelName, pathParameter } from '../shared/http.ts';
import { withObservability } from '../shared/observability.ts';
import { openApiDocument } from '../shared/openapi.ts';
import { PredictionLog } from '../shared/prediction-log.ts';
import { Registry } from '../shared/registry.ts';
import { loadModelReport, loadModelSummaries, type PageSources } from '../shared/report-data.ts';
import { docsAssetsDirectory, loadDocsAssets } from './assets.ts';
import { assetResponse, DOCS_POLICY, htmlErrorResponse, htmlPage } from './responses.ts';

const sources: PageSources = {
  registry: new Registry({ registry: requiredEnv('REGISTRY_TABLE'), runs: requiredEnv('RUNS_TABLE') }),
  bucket: requiredEnv('DATA_BUCKET'),
  predictionLog: new PredictionLog(requiredEnv('PREDICTION_LOG_TABLE')),
};
const docsAssets = loadDocsAssets(docsAssetsDirectory());
const apiDocument = openApiDocument();
const docsPage = renderDocsPage();

/** The relative way from a route's page back to the API root: `/models/{name}/report` → `../../`. */
function rootOf(resource: string): string {
  const depth = resource.split('/').filter(Boolean).length;
  return '../'.repeat(Math.max(0, depth - 1));
}

/**
 * The index page's way to the root. API Gateway serves the root as `/prod/` and as `/prod`; from the
 * latter, relative links resolve against `/`, so they must start with the stage (or base path) segment.
 * The request context's path is the one the browser asked for.
 */
function indexRoot(event: APIGatewayProxyEvent): string {
  const outside = event.requestContext?.path ?? '/';
  return outside.endsWith('/') ? '' : `${outside.slice(outside.lastIndexOf('/') + 1)}/`;
}

/**
 * The redirect for a page asked for with a trailing slash (`/docs/`, `/models/{name}/report/`), which API
 * Gateway and the local runtime route to the page itself: its relative links would resolve a level too
 * deep there (`/docs/docs/swagger-ui.css`), so it is sent to its own URL without the slash. The root is
 * the one page whose URL ends with one. The request context's path is the one the browser asked for.
 */
function withoutTrailingSlash(event: APIGatewayProxyEvent): APIGatewayProxyResult | undefined {
  const requested = event.requestContext?.path ?? event.path ?? '/';
  const page = requested.replace(/\/+$/, '');
  if (event.resource === '/' || page === requested || page === '') return undefined;
  const location = `${'../'.repeat(requested.length - page.length)}${page.slice(page.lastIndexOf('/') + 1)}`;
  return { statusCode: 301, headers: { location, 'cache-control': 'no-store' }, body: '' };
}

export async function pages(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  try {
    const redirect = withoutTrailingSlash(event);
    if (redirect) return redirect;
    switch (event.resource) {
      case '/':
        return htmlPage(
          200,
          renderIndexPage(await loadModelSummaries(sources), new Date().toISOString(), indexRoot(event)),
        );
      case '/models/{name}/report': {
        const data = await loadModelReport(sources, modelName(event), new Date().toISOString());
        return htmlPage(200, renderModelReport(data));
      }
      case '/openapi.json':
        return json(200, apiDocument);
      case '/docs':
        return htmlPage(200, docsPage, DOCS_POLICY);
      case '/docs/{asset}': {
        const name = pathParameter(event, 'asset');
        const asset = docsAssets.get(name);
        if (!asset) throw new NotFoundError(`There is no docs file named "${name}".`);
        return assetResponse(asset);
      }
      default:
        throw new NotFoundError(`There is no page at ${event.path ?? event.resource}.`);
    }
  } catch (error) {
    return htmlErrorResponse(error, rootOf(event.resource ?? '/'));
  }
}

export const handler = withObservability(pages, { metrics: false });
