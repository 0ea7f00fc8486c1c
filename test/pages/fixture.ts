/**
 * A registry and bucket with real history for the pages tests: S3 and DynamoDB emulators on loopback,
 * filled by running the pipeline (the real state machine, its handlers in process, as
 * `test/handlers/pipeline-steps.test.ts` does), so
 * the pages render real versions, runs, drift reports and holdout predictions, not hand-made ones.
 *
 * - `air-passengers` (forecast): v1 from 1949-1958, drift in 1959-1960 retrains v2, a repeated stretch
 *   finds no drift, a malformed drop fails (its reason quotes the file, markup included), and an alarm
 *   rolls v2 back before it is promoted again.
 * - `breast-cancer` (classifier): v1 from the first 300 tumours, then a shifted drop of the rest.
 * - `churn-empty`: a spec without any drop, whose description tries to inject markup.
 */
import { readFileSync } from 'node:fs';
import type { Registry } from '../../lambdas/shared/registry.ts';
import { registryTables, startTestEmulators, type TestEmulators } from '../support/emulators.ts';
import {
  type LocalPipeline,
  loadPipeline,
  loadSteps,
  prepareHandlerEnvironment,
  uploadDrop,
} from '../support/pipeline-steps.ts';

export { lambda } from '../support/pipeline-steps.ts';

export const BUCKET = 'driftline-pages-data';
export const TABLE = 'driftline-pages-registry';
export const LOG_TABLE = 'driftline-pages-predictions';
/** Markup in user data; the pages must show it as text. */
export const INJECTION = '<script>window.pwned = 1</script><img src=x onerror=window.pwned=2>';

const repo = new URL('../../', import.meta.url).pathname;
const airPassengers = readFileSync(`${repo}data/air-passengers.csv`, 'utf8').trim().split('\n');
const breastCancer = readFileSync(`${repo}data/breast-cancer.csv`, 'utf8').trim().split('\n');

/** What the pipeline produced, for the tests to compare the pages with. */
export interface PagesFixture {
  emulators: TestEmulators;
  registry: Registry;
  close(): Promise<void>;
}

/** Shifts the size columns of breast-cancer rows by 12%, so the drop drifts from the first 300 rows. */
function shiftedTumours(lines: string[]): string[] {
  const header = lines[0].split(',');
  const shifted = new Set(
    header.flatMap((name, i) => (/^(mean|worst)_/.test(name) || /_error$/.test(name) ? [i] : [])),
  );
  return lines.slice(1).map((line) =>
    line
      .split(',')
      .map((value, i) => (shifted.has(i) ? String(Number((Number(value) * 1.12).toPrecision(6))) : value))
      .join(','),
  );
}

class Seeder {
  private executions = 0;
  private readonly pipeline: LocalPipeline;

  constructor(pipeline: LocalPipeline) {
    this.pipeline = pipeline;
  }

  /** A drop through the whole pipeline: first model, or drift gate then retrain or no-drift record. */
  async run(key: string, lines: string[]) {
    const event = await uploadDrop(BUCKET, key, `${lines.join('\n')}\n`);
    const execution = await this.pipeline.run(event, `exec-${++this.executions}`);
    if (execution.status !== 'SUCCEEDED') throw new Error(`${key}: ${execution.error} ${execution.cause}`);
    return execution;
  }

  /** A drop the validation gate refuses: the run fails and is recorded through the state machine's Catch. */
  async fail(key: string, lines: string[]) {
    const event = await uploadDrop(BUCKET, key, `${lines.join('\n')}\n`);
    const execution = await this.pipeline.run(event, `exec-${++this.executions}`);
    if (execution.status !== 'FAILED') throw new Error(`${key} was expected to fail validation`);
  }
}

/**
 * Starts the emulators, points the handlers at them and runs the pipeline over the fixture's drops.
 * Handlers read their configuration at import, so every handler (the pages one too) must be imported
 * after this resolves.
 */
export async function startPagesFixture(): Promise<PagesFixture> {
  const emulators = await startTestEmulators();
  await prepareHandlerEnvironment({ bucket: BUCKET, table: TABLE, logTable: LOG_TABLE });
  const { Registry } = await import('../../lambdas/shared/registry.ts');
  const registry = new Registry(registryTables(TABLE));
  const steps = await loadSteps();
  const seeder = new Seeder(await loadPipeline());

  // Small searches and forests keep the fixture fast; the pages do not depend on model quality.
  const fast = { search: { strategy: 'random', trials: 2 }, hyperparameters: { nTrees: 60 } };
  const spec = (file: string) => JSON.parse(readFileSync(`${repo}data/specs/${file}`, 'utf8'));
  await registry.putSpec('air-passengers', { ...spec('air-passengers.json'), ...fast });
  await registry.putSpec('breast-cancer', { ...spec('breast-cancer.json'), ...fast });
  await registry.putSpec('churn-empty', {
    name: 'churn-empty',
    task: 'classification',
    target: 'churned',
    description: `Customer churn ${INJECTION}`,
  });

  const [header, ...months] = airPassengers;
  await seeder.run('incoming/air-passengers/1949-1958.csv', [header, ...months.slice(0, 120)]);
  await seeder.run('incoming/air-passengers/1959-1960.csv', [header, ...months.slice(120)]);
  await seeder.run('incoming/air-passengers/repeat.csv', [header, ...months.slice(24, 120)]);
  await seeder.fail('incoming/air-passengers/bad.csv', [header, `1961-01,${INJECTION}`, '1961-02,420']);
  const production = await registry.getPointer('air-passengers', 'production');
  if (production?.version === 2) {
    await registry.rollback('air-passengers', {
      badVersion: 2,
      reason: 'alarm LiveQuality <b>fired</b>: live MAPE 3.1× the holdout',
      actor: 'alarm driftline-air-passengers-quality',
    });
    await registry.promote('air-passengers', 2, {
      expected: 1,
      reason: 'the alarm was a bad batch of labels; restored by hand',
      actor: 'operator',
    });
  }

  // Live labels for the serving version: predictions over 1960, then what really happened.
  const predict = steps.predict as unknown as (event: unknown) => Promise<{ body: string }>;
  const feedback = steps.feedback as unknown as (event: unknown) => Promise<unknown>;
  const values = months.map((line) => Number(line.split(',')[1]));
  for (let t = 132; t < 144; t++) {
    const event = (route: string, body: unknown) => ({
      resource: `/models/{name}/${route}`,
      httpMethod: 'POST',
      pathParameters: { name: 'air-passengers' },
      body: JSON.stringify(body),
    });
    const answer = JSON.parse(
      (await predict(event('predict', { instances: [{ history: values.slice(t - 12, t) }] }))).body,
    );
    await feedback(event('feedback', { id: answer.predictions[0].id, actual: values[t] }));
  }

  const [tumourHeader, ...tumours] = breastCancer;
  await seeder.run('incoming/breast-cancer/first.csv', [tumourHeader, ...tumours.slice(0, 300)]);
  await seeder.run('incoming/breast-cancer/shifted.csv', [
    tumourHeader,
    ...shiftedTumours([tumourHeader, ...tumours.slice(300)]),
  ]);

  return {
    emulators,
    registry,
    close: () => emulators.close(),
  };
}
