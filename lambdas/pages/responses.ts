/**
 * HTTP responses of the pages function: HTML with a strict content security policy, static assets, and
 * errors as HTML pages (client errors with their message, anything else a generic 500, as `errorResponse`
 * does for the JSON API).
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { renderErrorPage } from '#core/report/layout.ts';
import { httpStatusOf } from '../shared/errors.ts';
import { logger } from '../shared/observability.ts';
import type { StaticAsset } from './assets.ts';

const COMMON_POLICY = "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * Report pages load nothing: styles are inline and charts are inline SVG. No script may run at all, so
 * even markup that slipped past escaping could not execute.
 */
export const PAGE_POLICY = `default-src 'none'; style-src 'unsafe-inline'; img-src data:; ${COMMON_POLICY}`;

/**
 * The docs page runs Swagger UI from this API only: its scripts and stylesheet, the OpenAPI document and
 * "try it out" calls (`connect-src 'self'`); Swagger UI sets inline styles and uses data: images.
 */
export const DOCS_POLICY = `default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; ${COMMON_POLICY}`;

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** An HTML page: never cached (it shows the registry as it is now). */
export function htmlPage(statusCode: number, body: string, policy = PAGE_POLICY): APIGatewayProxyResult {
  return {
    statusCode,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': policy,
      'cache-control': 'no-store',
      ...SECURITY_HEADERS,
    },
    body,
  };
}

/** A static asset, cacheable for a day (it changes only with a deployment). */
export function assetResponse(asset: StaticAsset): APIGatewayProxyResult {
  return {
    statusCode: 200,
    headers: {
      'content-type': asset.contentType,
      'cache-control': 'public, max-age=86400',
      ...SECURITY_HEADERS,
    },
    body: asset.body,
  };
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  404: 'Not found',
  409: 'Conflict',
};

/**
 * The HTML page for an error: its own status and message for client errors, a generic 500 (with the
 * error logged) otherwise. `root` is the way from the requested page back to the API root.
 */
export function htmlErrorResponse(error: unknown, root: string): APIGatewayProxyResult {
  const statusCode = httpStatusOf(error);
  if (statusCode >= 500) {
    logger.error('page failed', { error: error as Error });
    return htmlPage(
      statusCode,
      renderErrorPage({
        status: statusCode,
        title: 'Something went wrong',
        message: 'The page could not be rendered. The function logs have the details.',
        root,
      }),
    );
  }
  return htmlPage(
    statusCode,
    renderErrorPage({
      status: statusCode,
      title: TITLES[statusCode] ?? 'Request failed',
      message: (error as Error).message,
      root,
    }),
  );
}
