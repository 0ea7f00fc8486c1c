/**
 * The LocalStack files that cannot run here (no Docker engine): the compose file pins a community image
 * and enables what the scripts need; deploy.sh runs the right cdklocal commands (against a stand-in health
 * endpoint and a recording `npx`); smoke.ts stops at its first failing step with its name (`npm run typecheck` covers localstack/).
 */
import { execFile, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { fromProjectRoot, projectRoot } from '../../infra/project.ts';
import { REQUIRED_SERVICES, START_COMMAND } from '../../localstack/endpoint.ts';
import { closedEndpoint, type FakeLocalStack, readCompose, startFakeLocalStack } from './support.ts';

const run = promisify(execFile);
const DEPLOY_SCRIPT = fromProjectRoot('localstack/deploy.sh');
const SMOKE_SCRIPT = fromProjectRoot('localstack/smoke.ts');
const scratch = mkdtempSync(join(tmpdir(), 'driftline-localstack-'));

/** The environment of the test process without its AWS settings (a developer's profile or region). */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_') && key !== 'STACK_NAME'),
  );
  return { ...env, ...extra };
}

/** Runs a command to its end; a non-zero exit is a result here, not an error. */
async function outcome(file: string, args: string[], env: NodeJS.ProcessEnv) {
  try {
    const { stdout, stderr } = await run(file, args, { cwd: projectRoot, env, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const allServicesUp = { services: Object.fromEntries(REQUIRED_SERVICES.map((name) => [name, 'available'])) };

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('docker-compose.yml', () => {
  const compose = readCompose();

  it('defaults to an exact community release no later than 4.14, never latest or a token-only 2026.x image', () => {
    // Prepare
    const match = /^localstack\/localstack:(\d+)\.(\d+)\.(\d+)$/.exec(compose.defaultImage);
    // Assess
    expect(compose.defaultImage).toBe('localstack/localstack:4.14.0');
    expect(match).not.toBeNull();
    const [major, minor] = [Number(match?.[1]), Number(match?.[2])];
    expect(major < 4 || (major === 4 && minor <= 14)).toBe(true);
  });

  it('enables exactly the services the scripts check for', () => {
    // Act
    const services = compose.environment.SERVICES.split(',').map((name) => name.trim());
    // Assess
    expect([...services].sort()).toEqual([...REQUIRED_SERVICES].sort());
  });

  it('publishes the edge port and the external-service range, and mounts the Docker socket for Lambda', () => {
    // Assess
    expect(compose.ports).toEqual(['127.0.0.1:4566:4566', '127.0.0.1:4510-4559:4510-4559']);
    expect(compose.volumes).toContain('/var/run/docker.sock:/var/run/docker.sock');
  });

  it('passes an optional auth token through for licensed images', () => {
    // Assess
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose's variable syntax
    expect(compose.environment.LOCALSTACK_AUTH_TOKEN).toBe('${LOCALSTACK_AUTH_TOKEN:-}');
  });
});

/** deploy.sh asks LocalStack's health endpoint with curl. */
const hasCurl = spawnSync('sh', ['-c', 'command -v curl']).status === 0;

describe('deploy.sh', () => {
  let fake: FakeLocalStack | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  /** A stand-in `npx` that records its arguments and the environment cdklocal would read. */
  function recordingNpx(): { bin: string; log: string } {
    const bin = mkdtempSync(join(scratch, 'bin-'));
    const log = join(bin, 'npx.log');
    writeFileSync(
      join(bin, 'npx'),
      '#!/bin/sh\nprintf \'%s | AWS_REGION=%s AWS_ENVAR_ALLOWLIST=%s\\n\' "$*" "$AWS_REGION" "$AWS_ENVAR_ALLOWLIST" >> "$NPX_LOG"\n',
      { mode: 0o755 },
    );
    return { bin, log };
  }

  it('is an executable bash script that parses', async () => {
    // Act
    const parsed = await outcome('bash', ['-n', DEPLOY_SCRIPT], process.env);
    // Assess
    expect(parsed.code).toBe(0);
    expect(() => accessSync(DEPLOY_SCRIPT, constants.X_OK)).not.toThrow();
  });

  it.skipIf(!hasCurl)(
    'stops before cdklocal, saying how to start LocalStack, when it does not answer',
    async () => {
      // Prepare
      const { port } = new URL(await closedEndpoint());
      const npx = recordingNpx();
      // Act
      const result = await outcome(
        'bash',
        [DEPLOY_SCRIPT],
        cleanEnv({ EDGE_PORT: port, PATH: `${npx.bin}${delimiter}${process.env.PATH}`, NPX_LOG: npx.log }),
      );
      // Assess
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `LocalStack does not answer at http://localhost:${port}/_localstack/health`,
      );
      expect(result.stderr).toContain(START_COMMAND);
      expect(() => readFileSync(npx.log)).toThrow();
    },
  );

  it.skipIf(!hasCurl)(
    'bootstraps LocalStack’s account and deploys the stack with destroyOnRemoval',
    async () => {
      // Prepare: AWS_ENDPOINT_URL stands for an endpoint the user chose, which skips the DNS check.
      fake = await startFakeLocalStack({ ...allServicesUp, version: '4.14.0' });
      const npx = recordingNpx();
      // Act
      const result = await outcome(
        'bash',
        [DEPLOY_SCRIPT, 'Dev'],
        cleanEnv({
          EDGE_PORT: String(fake.port),
          AWS_ENDPOINT_URL: fake.url,
          PATH: `${npx.bin}${delimiter}${process.env.PATH}`,
          NPX_LOG: npx.log,
        }),
      );
      // Assess
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('LocalStack 4.14.0 is up; deploying stack Dev to us-east-1');
      const environment = 'AWS_REGION=us-east-1 AWS_ENVAR_ALLOWLIST=AWS_REGION,AWS_DEFAULT_REGION';
      expect(readFileSync(npx.log, 'utf8').trim().split('\n')).toEqual([
        `--no-install cdklocal bootstrap aws://000000000000/us-east-1 --no-notices | ${environment}`,
        `--no-install cdklocal deploy Dev --context destroyOnRemoval=true --context stackName=Dev --require-approval never --no-notices | ${environment}`,
      ]);
    },
  );
});

describe('smoke.ts', () => {
  let fake: FakeLocalStack | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  const smoke = (endpoint: string) =>
    outcome(process.execPath, [SMOKE_SCRIPT], cleanEnv({ LOCALSTACK_ENDPOINT: endpoint }));

  it('exits 1 at its first step, saying how to start LocalStack, when nothing answers', async () => {
    // Prepare
    const endpoint = await closedEndpoint();
    // Act
    const result = await smoke(endpoint);
    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`smoke test failed: LocalStack answers at ${endpoint}:`);
    expect(result.stderr).toContain(START_COMMAND);
  });

  it('names the services LocalStack leaves out', async () => {
    // Prepare
    fake = await startFakeLocalStack({
      services: { ...allServicesUp.services, stepfunctions: 'disabled', sqs: 'error' },
    });
    // Act
    const result = await smoke(fake.url);
    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`LocalStack at ${fake.url} does not offer stepfunctions, sqs`);
  });

  it('names the stack whose outputs it cannot read', async () => {
    // Prepare: LocalStack's health answers, but CloudFormation knows no stack.
    fake = await startFakeLocalStack(allServicesUp);
    // Act
    const result = await smoke(fake.url);
    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('• read the outputs of stack Driftline');
    expect(result.stderr).toContain(
      'smoke test failed: read the outputs of stack Driftline: can\'t read the outputs of stack "Driftline"',
    );
  });
});
