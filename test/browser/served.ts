/**
 * The pages as a user reaches them: the local runtime `npm start` runs (the synthesized stack's API on its
 * own port), filled the way a user fills it — specs registered, drops uploaded and followed through the
 * real state machine, a rollback and a promotion through the CLI's path, predictions and labels over the
 * API. No side server: the browser talks to the port users talk to.
 *
 * - `air-passengers` (forecast): v1 from 1949-1958, the 1959-1960 drop held back without drift (on the
 *   transformed target) and trained into v2 by a `driftline retrain` run, a repeated stretch
 *   finds no drift, a malformed drop fails (its reason quotes the file, markup included), and a rollback
 *   of v2 is undone by promoting v2 again; then a year of labelled predictions.
 * - `breast-cancer` (classifier): v1 from the first 300 tumours, then a shifted drop of the rest.
 * - `churn-empty`: a spec without any drop, whose description tries to inject markup.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startRetrain, waitForRun } from '../../bin/commands/remote.ts';
import { resolveTarget, type Target } from '../../bin/target.ts';
import { type DriftlineRuntime, startRuntime } from '../../local/runtime.ts';

/** Markup in user data; the pages must show it as text. */
export const INJECTION = '<script>window.pwned = 1</script><img src=x onerror=window.pwned=2>';

const repo = new URL('../../', import.meta.url).pathname;
const lines = (path: string) => readFileSync(join(repo, path), 'utf8').trim().split('\n');

export interface ServedPages {
  runtime: DriftlineRuntime;
  target: Target;
  /** The API under its stage prefix, as API Gateway serves it: `http://127.0.0.1:<port>/prod/`. */
  url: string;
  close(): Promise<void>;
}

/** Shifts the size columns of breast-cancer rows by 12%, so the drop drifts from the first 300 rows. */
function shiftedTumours(header: string, rows: string[]): string[] {
  const shifted = new Set(
    header.split(',').flatMap((name, i) => (/^(mean|worst)_/.test(name) || /_error$/.test(name) ? [i] : [])),
  );
  return rows.map((line) =>
    line
      .split(',')
      .map((value, i) => (shifted.has(i) ? String(Number((Number(value) * 1.12).toPrecision(6))) : value))
      .join(','),
  );
}

/** Starts a runtime in a temporary home and fills it; `close` stops it and deletes the home. */
export async function startServedPages(): Promise<ServedPages> {
  const home = mkdtempSync(join(tmpdir(), 'driftline-pages-'));
  const runtime = await startRuntime({ home, port: 0, quiet: true, retryIntervalMs: 10, schedules: false });
  try {
    const target = await resolveTarget({ home });
    let uploads = 0;
    const upload = async (model: string, rows: string[]) => {
      const key = `incoming/${model}/${++uploads}.csv`;
      await target.s3.send(
        new PutObjectCommand({ Bucket: target.outputs.BucketName, Key: key, Body: `${rows.join('\n')}\n` }),
      );
      return waitForRun(target, model, key, { quiet: true, timeoutMs: 300_000 });
    };

    // Small searches and forests keep the set-up fast; the pages do not depend on model quality.
    const fast = { search: { strategy: 'random', trials: 2 }, hyperparameters: { nTrees: 60 } };
    const spec = (file: string) => JSON.parse(readFileSync(join(repo, 'data/specs', file), 'utf8'));
    await target.registry.putSpec('air-passengers', { ...spec('air-passengers.json'), ...fast });
    await target.registry.putSpec('breast-cancer', { ...spec('breast-cancer.json'), ...fast });
    await target.registry.putSpec('churn-empty', {
      name: 'churn-empty',
      task: 'classification',
      target: 'churned',
      description: `Customer churn ${INJECTION}`,
    });

    const [header, ...months] = lines('data/air-passengers.csv');
    await upload('air-passengers', [header, ...months.slice(0, 120)]);
    await upload('air-passengers', [header, ...months.slice(120)]);
    await waitForRun(
      target,
      'air-passengers',
      { runId: await startRetrain(target, 'air-passengers') },
      { quiet: true, timeoutMs: 300_000 },
    );
    await upload('air-passengers', [header, ...months.slice(24, 120)]);
    await upload('air-passengers', [header, `1961-01,${INJECTION}`, '1961-02,420']);
    await target.invoke(target.outputs.RollbackFunctionName, {
      action: 'rollback',
      model: 'air-passengers',
      reason: 'alarm LiveQuality <b>fired</b>: live MAPE 3.1× the holdout',
      actor: 'alarm driftline-air-passengers-quality',
    });
    await target.invoke(target.outputs.PromoteFunctionName, {
      model: 'air-passengers',
      version: 2,
      reason: 'the alarm was a bad batch of labels; restored by hand',
      actor: 'operator',
    });

    // Live labels for the serving version: predictions over 1960, then what really happened.
    const post = async (route: string, body: unknown) => {
      // As the CLI sends them: feedback must be signed with the install's keys.
      const response = await target.api(`models/air-passengers/${route}`, { method: 'POST', body });
      if (!response.ok) throw new Error(`${route}: ${response.status} ${await response.text()}`);
      return (await response.json()) as { predictions: { id: string }[] };
    };
    const values = months.map((line) => Number(line.split(',')[1]));
    for (let t = 132; t < 144; t++) {
      const answer = await post('predict', { instances: [{ history: values.slice(t - 12, t) }] });
      await post('feedback', { id: answer.predictions[0].id, actual: values[t] });
    }

    const [tumourHeader, ...tumours] = lines('data/breast-cancer.csv');
    await upload('breast-cancer', [tumourHeader, ...tumours.slice(0, 300)]);
    await upload('breast-cancer', [tumourHeader, ...shiftedTumours(tumourHeader, tumours.slice(300))]);

    return {
      runtime,
      target,
      url: `${runtime.apiUrl}${runtime.stack.apis[0].stage}/`,
      async close() {
        await runtime.stop();
        rmSync(home, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await runtime.stop();
    rmSync(home, { recursive: true, force: true });
    throw error;
  }
}
