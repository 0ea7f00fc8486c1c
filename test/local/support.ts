/**
 * A fresh local runtime on the fixture stack, in a temporary home, on free ports, quiet, with retries
 * shortened: what every runtime test starts from.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DriftlineRuntime, type RuntimeOptions, startRuntime } from '../../local/runtime.ts';
import { buildFixtureApp, fixturesDir } from './fixtures/stack.ts';

export interface FixtureRuntime {
  runtime: DriftlineRuntime;
  home: string;
  /** Stops the runtime and deletes its home. */
  close(): Promise<void>;
}

export async function startFixtureRuntime(options: Partial<RuntimeOptions> = {}): Promise<FixtureRuntime> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'driftline-local-'));
  const runtime = await startRuntime({
    home,
    port: 0,
    quiet: true,
    retryIntervalMs: 10,
    schedules: false,
    build: buildFixtureApp,
    buildId: 'fixture',
    sources: [fixturesDir],
    // One synthesis of the fixture app serves every test file (it is reused while the fixtures are unchanged).
    cdkOut: join(tmpdir(), 'driftline-local-fixture.cdk.out'),
    ...options,
  });
  return {
    runtime,
    home,
    async close() {
      await runtime.stop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
