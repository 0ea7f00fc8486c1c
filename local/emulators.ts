/**
 * The protocol emulators driftline runs on when there is no AWS: s3rver for S3 and dynalite for DynamoDB,
 * on loopback, persisted under a state folder. Handlers reach them through the normal AWS SDK clients
 * (endpoint environment variables), so the code under test is the code that runs on AWS.
 */
import type { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import dynalite from 'dynalite';
import S3rver from 's3rver';

export interface Emulator {
  endpoint: string;
  close(): Promise<void>;
}

/** S3 on loopback. `events` emits S3 notification records (`{ Records: [...] }`) for puts, copies and deletes. */
export interface S3Emulator extends Emulator {
  events: EventEmitter;
}

/** Starts s3rver on 127.0.0.1 (`port` 0 = any free port) storing objects under `directory`. */
export async function startS3(options: { directory: string; port?: number }): Promise<S3Emulator> {
  mkdirSync(options.directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory: options.directory,
    // The SDK signs with real-looking keys; the emulator accepts any well-formed signature.
    allowMismatchedSignatures: true,
    vhostBuckets: false,
  });
  const address = (await server.run()) as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    events: server as unknown as EventEmitter,
    close: () => server.close(),
  };
}

/** Starts dynalite on 127.0.0.1 with a LevelDB store under `directory` (in memory when omitted). */
export async function startDynamo(options: { directory?: string; port?: number }): Promise<Emulator> {
  if (options.directory) mkdirSync(options.directory, { recursive: true });
  const server = dynalite({
    path: options.directory ? join(options.directory, 'leveldb') : undefined,
    createTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) =>
        server.close((error?: Error) => (error ? reject(error) : resolve())),
      ),
  };
}
