/**
 * `driftline specs add` on the local runtime, as a user runs it: the CLI holds no write grant on the
 * registry table, so the spec goes through the registerSpec function (which the runtime serves from the
 * synthesized template under its own execution role, as it serves promote and rollback). A refused spec
 * is the spec's error on one line with exit code 2, and nothing is written; an unsigned invoke is refused.
 * `promote` and `rollback` on a model or version that does not exist are bad input the same way.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { promoteCommand, rollbackCommand, specsAddCommand } from '../../bin/commands/remote.ts';
import { resolveTarget, type Target } from '../../bin/target.ts';
import { type DriftlineRuntime, startRuntime } from '../../local/runtime.ts';

const repo = new URL('../../', import.meta.url).pathname;
const spec = JSON.parse(readFileSync(join(repo, 'data/specs/breast-cancer.json'), 'utf8'));

let home: string;
let runtime: DriftlineRuntime;
let target: Target;

/** Writes `content` as a spec file and runs `driftline specs add` on it; returns what it printed. */
async function specsAdd(name: string, content: unknown, json = false): Promise<string[]> {
  const file = join(home, name);
  writeFileSync(file, JSON.stringify(content));
  const printed: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
  try {
    await specsAddCommand(file, { home, json });
  } finally {
    log.mockRestore();
  }
  return printed;
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'driftline-specs-'));
  runtime = await startRuntime({ home, port: 0, quiet: true, schedules: false });
  target = await resolveTarget({ home });
}, 180_000);

afterAll(async () => {
  await runtime?.stop();
  rmSync(home, { recursive: true, force: true });
});

describe('driftline specs add', () => {
  it('registers a spec through the registerSpec function, and the same spec again writes nothing', async () => {
    // Act
    const first = await specsAdd('breast-cancer.json', spec);
    const stored = await target.registry.getSpec('breast-cancer');
    const again = await specsAdd('breast-cancer.json', spec, true);
    // Assess
    expect(first).toEqual([expect.stringMatching(/^registered spec "breast-cancer" \(classification\)/)]);
    expect(stored).toEqual(spec);
    expect(JSON.parse(again.join('\n'))).toEqual({
      name: 'breast-cancer',
      task: 'classification',
      changed: false,
    });
    expect(await target.registry.listModels()).toEqual(['breast-cancer']);
    const logs = runtime.logs(target.outputs.RegisterSpecFunctionName).join('\n');
    expect(logs).toContain('spec registered');
    expect(logs).toContain('spec already registered');
  });

  it('shows a refused spec as its SpecError with exit code 2, and writes nothing', async () => {
    // Prepare
    const before = await target.registry.getSpec('breast-cancer');
    // Act
    const changed = specsAdd('changed.json', { ...spec, holdout: -3 });
    const unknown = specsAdd('unknown.json', { ...spec, name: 'never-registered', engine: 'xgboost' });
    // Assess
    await expect(changed).rejects.toMatchObject({
      name: 'CliError',
      exitCode: 2,
      message: expect.stringMatching(/changed\.json: spec\.holdout: /),
    });
    await expect(unknown).rejects.toMatchObject({
      name: 'CliError',
      exitCode: 2,
      message: expect.stringMatching(/unknown\.json: spec\.engine: /),
    });
    expect(await target.registry.getSpec('breast-cancer')).toEqual(before);
    expect(await target.registry.getSpec('never-registered')).toBeUndefined();
    expect(await target.registry.listModels()).toEqual(['breast-cancer']);
  });

  it("refuses an invoke not signed with the install's credentials", async () => {
    // Act
    const response = await fetch(
      `${runtime.info.endpoints.lambda}/2015-03-31/functions/${encodeURIComponent(target.outputs.RegisterSpecFunctionName)}/invocations`,
      { method: 'POST', body: JSON.stringify({ spec: { ...spec, name: 'forged' } }) },
    );
    // Assess
    expect(response.status).toBe(403);
    expect(await target.registry.getSpec('forged')).toBeUndefined();
  });
});

describe('driftline promote and rollback on bad input', () => {
  it('exit 2 naming the model or version that does not exist, and change nothing', async () => {
    // Prepare: breast-cancer is registered (above) and has no version yet
    const audit = await target.registry.listAudit('breast-cancer');
    // Act
    const attempts = [
      promoteCommand('breast-cancer', '3', { home }),
      promoteCommand('never-registered', '1', { home }),
      rollbackCommand('never-registered', { home }),
    ];
    // Assess
    const refusals = await Promise.all(
      attempts.map((attempt) =>
        attempt.then(
          () => 'done',
          (e) => e,
        ),
      ),
    );
    expect(
      refusals.map((error) => ({ name: error.name, exitCode: error.exitCode, message: error.message })),
    ).toEqual([
      { name: 'CliError', exitCode: 2, message: 'model "breast-cancer" has no version 3' },
      { name: 'CliError', exitCode: 2, message: 'no model named "never-registered"' },
      { name: 'CliError', exitCode: 2, message: 'no model named "never-registered"' },
    ]);
    expect(await target.registry.listAudit('breast-cancer')).toEqual(audit);
    expect(await target.registry.listModels()).toEqual(['breast-cancer']);
  });
});
