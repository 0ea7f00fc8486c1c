/**
 * Serves the pages handler over HTTP for a browser, turning each request into the API Gateway proxy
 * event the handler gets in AWS (just for the browser test; the local runtime routes the real template).
 * Pages are mounted under a `/prod` stage prefix, as API Gateway serves them, so the test also proves
 * that every link and asset URL is relative.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';

export const STAGE = 'prod';

/** The pages function's routes, as API Gateway resources. */
const RESOURCES = ['/', '/models/{name}/report', '/openapi.json', '/docs', '/docs/{asset}'];

/** The resource a path matches and its path parameters, or undefined. */
export function matchResource(
  path: string,
): { resource: string; pathParameters: Record<string, string> | null } | undefined {
  const segments = path.split('/').filter(Boolean);
  for (const resource of RESOURCES) {
    const parts = resource.split('/').filter(Boolean);
    if (parts.length !== segments.length) continue;
    const parameters: Record<string, string> = {};
    const matches = parts.every((part, i) => {
      if (part.startsWith('{')) {
        parameters[part.slice(1, -1)] = segments[i];
        return true;
      }
      return part === segments[i];
    });
    if (matches) {
      return { resource, pathParameters: Object.keys(parameters).length > 0 ? parameters : null };
    }
  }
  return undefined;
}

export interface PagesServer {
  /** The stage's URL, e.g. `http://127.0.0.1:4321/prod/`. */
  url: string;
  close(): Promise<void>;
}

/** Starts a loopback server in front of `handler`. */
export async function servePages(
  handler: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>,
): Promise<PagesServer> {
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const prefix = `/${STAGE}`;
    const inStage = url.pathname === prefix || url.pathname.startsWith(`${prefix}/`);
    const path = inStage ? url.pathname.slice(prefix.length) || '/' : undefined;
    const match = path === undefined ? undefined : matchResource(path);
    if (request.method !== 'GET' || path === undefined || !match) {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end('{"message":"Missing Authentication Token"}');
      return;
    }
    const event = {
      resource: match.resource,
      path,
      httpMethod: 'GET',
      headers: { host: request.headers.host ?? 'localhost' },
      queryStringParameters: url.searchParams.size ? Object.fromEntries(url.searchParams) : null,
      pathParameters: match.pathParameters,
      requestContext: { path: url.pathname, stage: STAGE, resourcePath: match.resource, httpMethod: 'GET' },
      body: null,
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEvent;
    handler(event).then(
      (result) => {
        response.writeHead(result.statusCode, result.headers as Record<string, string>);
        response.end(result.body);
      },
      (error: Error) => {
        response.writeHead(502, { 'content-type': 'text/plain' });
        response.end(`the handler threw: ${error.message}`);
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/${STAGE}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
