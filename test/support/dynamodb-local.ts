/**
 * Amazon's own DynamoDB emulator (DynamoDB Local), for running the registry suites a second time against
 * it (`DRIFTLINE_TEST_DYNAMODB=dynamodb-local`): what holds on dynalite must hold on Amazon's
 * implementation too. The jar comes from the dev dependency `amplify-dynamodb-simulator`, which ships
 * DynamoDB Local; it is started here directly with `java` (the package's own launcher insists on an
 * Amplify CLI home folder). Needs a Java runtime; test-only, never loaded by `npm start`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import type { Emulator } from '../../local/emulators.ts';

/** Whether the tests should use DynamoDB Local instead of dynalite. */
export function useDynamoDbLocal(): boolean {
  return process.env.DRIFTLINE_TEST_DYNAMODB === 'dynamodb-local';
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts DynamoDB Local in memory on a free loopback port; resolves once it answers. */
export async function startDynamoDbLocal(timeoutMs = 60_000): Promise<Emulator> {
  const emulatorDir = join(
    dirname(createRequire(import.meta.url).resolve('amplify-dynamodb-simulator/package.json')),
    'emulator',
  );
  const port = await freePort();
  const child: ChildProcess = spawn(
    'java',
    [
      '-Djava.library.path=./DynamoDBLocal_lib',
      '-jar',
      'DynamoDBLocal.jar',
      '-port',
      String(port),
      '-inMemory',
    ],
    { cwd: emulatorDir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`DynamoDB Local exited (${code}): ${stderr.slice(-500)}`))),
  );
  exited.catch(() => {});
  const spawnFailed = new Promise<never>((_, reject) =>
    child.once('error', (error) =>
      reject(new Error(`cannot start java for DynamoDB Local: ${error.message}`)),
    ),
  );
  spawnFailed.catch(() => {});
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' },
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await Promise.race([client.send(new ListTablesCommand({})), exited, spawnFailed]);
      break;
    } catch (error) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill();
        throw error;
      }
      await Promise.race([new Promise((resolve) => setTimeout(resolve, 200)), exited, spawnFailed]);
    }
  }
  client.destroy();
  return {
    endpoint,
    close: async () => {
      if (child.exitCode !== null) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill();
      await gone;
    },
  };
}
