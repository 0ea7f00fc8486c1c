/**
 * A fresh local runtime on the fixture stack, in a temporary home, on free ports, quiet, with retries
 * shortened: what every runtime test starts from.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DriftlineRuntime, type RuntimeOptions, startRuntime } from '../../local/runtime.ts';
import { buildFixtureApp, fixturesDir } from './fixtures/stack.ts';

/**
 * One synthesis of the fixture app serves every test file of this checkout (reused while the fixtures are
 * unchanged). Keyed by the checkout, so two clones on one machine never overwrite each other's assembly.
 */
const fixtureCdkOut = join(
  tmpdir(),
  `driftline-local-fixture-${createHash('sha256').update(fixturesDir).digest('hex').slice(0, 12)}.cdk.out`,
);

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
    cdkOut: fixtureCdkOut,
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
