/**
 * API Gateway proxy plumbing shared by the API handlers: JSON responses, body parsing, and the one place
 * where errors become status codes (client errors are shown as they are, anything else is a generic 500).
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { z } from 'zod';
import { NAME_PATTERN } from '#core/spec.ts';
import { BadRequestError, HttpError, httpStatusOf } from './errors.ts';
import { logger } from './observability.ts';

export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/** The request body as JSON. @throws BadRequestError for a missing or malformed body. */
export function jsonBody(event: APIGatewayProxyEvent): unknown {
  if (!event.body) throw new BadRequestError('request body is required (JSON)');
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequestError('request body is not valid JSON');
  }
}

/** A path parameter. @throws BadRequestError when absent or not decodable (a lone `%`). */
export function pathParameter(event: APIGatewayProxyEvent, name: string): string {
  const value = event.pathParameters?.[name];
  if (!value) throw new BadRequestError(`path parameter "${name}" is required`);
  try {
    return decodeURIComponent(value);
  } catch {
    throw new BadRequestError(`path parameter "${name}" is not validly percent-encoded`);
  }
}

/**
 * The model named by the path (`{name}`). A name no model can have (a spec's name rule: `a-z`, `0-9`
 * and `-`, at most 63 characters) is refused here, before it becomes a DynamoDB key: a key over 2 KB is
 * the database's validation error, which would otherwise surface as a 500.
 * @throws BadRequestError when absent, not decodable or not a model name.
 */
export function modelName(event: APIGatewayProxyEvent): string {
  const name = pathParameter(event, 'name');
  if (!NAME_PATTERN.test(name))
    throw new BadRequestError(
      'path parameter "name" is not a model name (lowercase letters, digits and "-", at most 63 characters)',
    );
  return name;
}

/** How much of a caller's input an error message repeats (a query value may be kilobytes). */
const QUOTED_INPUT_CHARS = 100;

/**
 * The query string, parsed by `schema`.
 * @throws BadRequestError naming the first parameter at fault (and quoting at most 100 characters of it).
 */
export function queryParameters<T>(event: APIGatewayProxyEvent, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(event.queryStringParameters ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue.path.length > 0 ? `query parameter "${issue.path.join('.')}"` : 'query string';
  const message =
    issue.message.length > QUOTED_INPUT_CHARS
      ? `${issue.message.slice(0, QUOTED_INPUT_CHARS)}…`
      : issue.message;
  throw new BadRequestError(`${where}: ${message}`);
}

/**
 * The response for an error: its own status and message for client errors and deliberate `HttpError`s
 * (a 503 says why), a generic 500 otherwise.
 */
export function errorResponse(error: unknown): APIGatewayProxyResult {
  const statusCode = httpStatusOf(error);
  if (statusCode >= 500) {
    logger.error('request failed', { error: error as Error });
    if (!(error instanceof HttpError))
      return json(statusCode, { message: 'internal error; see the function logs' });
  }
  return json(statusCode, { message: (error as Error).message, error: (error as Error).name });
}
