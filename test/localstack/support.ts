/**
 * Readers for the files under `localstack/` that the tests check against each other. The compose file is
 * read with a few patterns rather than a YAML parser (none is a dependency); they match the file's layout.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fromProjectRoot } from '../../infra/project.ts';

export const COMPOSE_FILE = fromProjectRoot('localstack/docker-compose.yml');

/** The settings of the `localstack` service in docker-compose.yml that the tests care about. */
export interface ComposeService {
  /** The image as written, e.g. `${LOCALSTACK_IMAGE:-localstack/localstack:4.14.0}`. */
  image: string;
  /** The image used when `LOCALSTACK_IMAGE` is unset. */
  defaultImage: string;
  environment: Record<string, string>;
  ports: string[];
  volumes: string[];
}

const unquote = (value: string) => value.trim().replace(/^"(.*)"$/, '$1');

/** The `- item` lines of the block that starts with `key:` at the service's indentation. */
function listBlock(text: string, key: string): string[] {
  const block = new RegExp(`^ {4}${key}:\\n((?: {6}- .*\\n|\\s*#.*\\n)+)`, 'm').exec(text);
  return (block?.[1] ?? '')
    .split('\n')
    .filter((line) => line.trim().startsWith('- '))
    .map((line) => unquote(line.trim().slice(2)));
}

/** The `KEY: value` lines of the service's `environment:` block. */
function environmentBlock(text: string): Record<string, string> {
  const block = /^ {4}environment:\n((?: {6}.*\n|\s*\n)+)/m.exec(text)?.[1] ?? '';
  return Object.fromEntries(
    block
      .split('\n')
      .map((line) => /^ {6}([A-Z0-9_]+):\s*(.*)$/.exec(line))
      .filter((match): match is RegExpExecArray => match !== null)
      .map(([, key, value]) => [key, unquote(value)]),
  );
}

export function readCompose(): ComposeService {
  const text = readFileSync(COMPOSE_FILE, 'utf8');
  const image = unquote(/^ {4}image:\s*(.+)$/m.exec(text)?.[1] ?? '');
  const defaultImage = /^\$\{LOCALSTACK_IMAGE:-(.+)\}$/.exec(image)?.[1] ?? image;
  return {
    image,
    defaultImage,
    environment: environmentBlock(text),
    ports: listBlock(text, 'ports'),
    volumes: listBlock(text, 'volumes'),
  };
}

/** A stand-in for LocalStack's edge port: answers the health document, and 404 to every AWS API call. */
export interface FakeLocalStack {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Starts a {@link FakeLocalStack} on a free loopback port answering `health` (any JSON, or raw text). */
export async function startFakeLocalStack(health: unknown): Promise<FakeLocalStack> {
  const server = createServer((request, response) => {
    request.resume();
    if (request.method === 'GET' && request.url === '/_localstack/health') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(typeof health === 'string' ? health : JSON.stringify(health));
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end('{"message":"not found"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A loopback URL nothing listens on (a port that was free a moment ago). */
export async function closedEndpoint(): Promise<string> {
  const fake = await startFakeLocalStack({ services: {} });
  await fake.close();
  return fake.url;
}
