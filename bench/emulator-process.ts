/**
 * S3 and DynamoDB emulators in a child process, for benchmarks of what a handler pays on its own thread:
 * on AWS the services run elsewhere, so their server-side work must not be timed as the handler's. The
 * child is this module run as a script; it serves on loopback until its parent disconnects.
 *
 * @example
 * const emulators = await startEmulatorProcess();
 * pointSdkAt(emulators.s3, emulators.dynamo);
 * // … import the handlers (their clients read the endpoints once) and time them …
 * await emulators.close();
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDynamo, startS3 } from '../local/emulators.ts';

/** The endpoints of the child's emulators. */
export interface EmulatorProcess {
  s3: string;
  dynamo: string;
  /** Stops the child and removes its data. */
  close(): Promise<void>;
}

const SERVE_FLAG = '--serve-emulators';

/** Forks the child, resolving once both emulators listen. */
export async function startEmulatorProcess(): Promise<EmulatorProcess> {
  const directory = mkdtempSync(join(tmpdir(), 'driftline-bench-emulators-'));
  const child = fork(new URL(import.meta.url).pathname, [SERVE_FLAG, directory], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const endpoints = await new Promise<{ s3: string; dynamo: string }>((resolve, reject) => {
    child.once('message', (message) => resolve(message as { s3: string; dynamo: string }));
    child.once('exit', (code) => reject(new Error(`the emulator process exited with code ${code}`)));
  });
  return {
    ...endpoints,
    async close() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      await exited;
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

if (process.argv[2] === SERVE_FLAG) {
  const directory = process.argv[3];
  const [s3, dynamo] = await Promise.all([
    startS3({ directory: join(directory, 's3') }),
    // In memory, as the test suites run it.
    startDynamo({}),
  ]);
  process.send?.({ s3: s3.endpoint, dynamo: dynamo.endpoint });
  process.on('disconnect', () => {
    void Promise.all([s3.close(), dynamo.close()]).then(() => process.exit(0));
  });
}
