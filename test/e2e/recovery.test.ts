/**
 * Recovery without a person, as a user meets it: `npm start` (a real process) is killed with SIGKILL in
 * the middle of a run and right after another upload, then started again. The run that was killed ends
 * `interrupted` with the reason, both drops get a run that finishes, and nothing is left `running` or
 * `staging` — without anyone touching the registry.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTarget, type Target } from '../../bin/target.ts';
import type { RunRecord } from '../../lambdas/shared/registry.ts';

const MODEL = 'breast-cancer';
const repo = new URL('../../', import.meta.url).pathname;
const [header, ...rows] = readFileSync(join(repo, 'data/breast-cancer.csv'), 'utf8').trim().split('\n');

let home: string;
let child: ChildProcess | undefined;

/** `npm start`'s own process (node local/start.ts, not npm: a SIGKILL must reach the runtime itself). */
function start(): Promise<ChildProcess> {
  const started = spawn(process.execPath, [join(repo, 'local/start.ts')], {
    cwd: repo,
    env: { ...process.env, DRIFTLINE_HOME: home, PORT: '0', DRIFTLINE_ALARM_PERIOD_SCALE: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  started.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  return new Promise((resolve, reject) => {
    createInterface({ input: started.stdout! }).on('line', (line) => {
      output.push(line);
      if (line.startsWith('driftline is serving at')) resolve(started);
    });
    started.once('exit', (code, signal) =>
      reject(new Error(`npm start exited (${code ?? signal}) before it was ready:\n${output.join('\n')}`)),
    );
  });
}

async function killed(runtime: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => runtime.once('exit', resolve));
  runtime.kill('SIGKILL');
  await exited;
}

async function upload(target: Target, key: string, lines: string[]) {
  await target.s3.send(
    new PutObjectCommand({
      Bucket: target.outputs.BucketName,
      Key: key,
      Body: `${[header, ...lines].join('\n')}\n`,
    }),
  );
}

const runsOf = async (target: Target) => target.registry.listRuns(MODEL, 50);
const runOfDrop = (runs: RunRecord[], key: string) => runs.filter((run) => run.drop?.key === key);

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'driftline-recovery-'));
});

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) await killed(child);
  rmSync(home, { recursive: true, force: true });
});

describe('a runtime killed mid-run', () => {
  it('recovers on restart: the killed run ends interrupted, both drops get their run', async () => {
    // Prepare: a running runtime with a run of breast-cancer under way (it holds the model's run lease)
    child = await start();
    let target = await resolveTarget({ home });
    const first = `incoming/${MODEL}/first.csv`;
    const second = `incoming/${MODEL}/second.csv`;
    await upload(target, first, rows.slice(0, 300));
    let killedRun: RunRecord | undefined;
    await expect
      .poll(
        async () => {
          killedRun = runOfDrop(await runsOf(target), first)[0];
          return killedRun?.step;
        },
        { timeout: 60_000, interval: 50 },
      )
      .toMatch(/^(merge|featurize|train|select|evaluate)/);

    // Act: another drop, and the runtime killed right after it was stored
    await upload(target, second, rows.slice(300, 400));
    await killed(child);
    expect(killedRun?.status).toBe('running');
    child = await start();
    target = await resolveTarget({ home });

    // Assess: the killed run is interrupted, with why; each drop has a run that finished
    await expect
      .poll(
        async () => {
          const runs = await runsOf(target);
          return [first, second].map((key) => runOfDrop(runs, key).some((run) => run.status === 'succeeded'));
        },
        { timeout: 180_000, interval: 250 },
      )
      .toEqual([true, true]);
    const runs = await runsOf(target);
    console.log(
      runs
        .filter((run) => run.drop !== undefined)
        .map(
          (run) => `${run.runId} ${run.drop?.key} ${run.status} ${run.failure?.reason ?? run.decision ?? ''}`,
        )
        .join('\n'),
    );
    const interrupted = runs.find((run) => run.runId === killedRun?.runId);
    expect(interrupted).toMatchObject({
      status: 'interrupted',
      dropSettled: 'resumed',
      failure: {
        error: 'Interrupted',
        reason: expect.stringMatching(/^the run stopped at \w+: its execution no longer exists/),
      },
    });
    expect(interrupted?.failure?.reason).toContain(`started again as run ${interrupted?.resumedBy}`);
    // Each drop got exactly one run that finished; nothing is left running or staging, the lease is free.
    for (const key of [first, second])
      expect(runOfDrop(runs, key).filter((run) => run.status !== 'interrupted')).toHaveLength(1);
    expect(runs.filter((run) => run.status === 'running')).toEqual([]);
    // (a candidate the killed run may have left in staging is superseded by the minutely bake schedule)
    const stages = async () => (await target.registry.listVersions(MODEL)).map((version) => version.stage);
    await expect.poll(stages, { timeout: 90_000, interval: 1000 }).not.toContain('staging');
    expect((await stages()).filter((stage) => stage === 'production')).toHaveLength(1);
    expect(await target.registry.getLease(MODEL)).toBeUndefined();

    // Assess: `driftline runs` shows it
    const cli = spawnSync(process.execPath, [join(repo, 'bin/driftline.js'), 'runs', MODEL], {
      encoding: 'utf8',
      env: { ...process.env, DRIFTLINE_HOME: home },
    });
    expect(cli.status).toBe(0);
    expect(cli.stdout).toMatch(new RegExp(`${killedRun?.runId}.*interrupted`));
  }, 400_000);
});
