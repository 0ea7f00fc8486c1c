/**
 * Commands that drive a running driftline (local, deployed, or LocalStack): upload data and follow the
 * run it starts, retrain on what was held back, predict, read the registry, promote and roll back,
 * register specs.
 */

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { formatDataset, formatStepTimes } from '#core/report/format.ts';
import { pageQuerySchema } from '../../lambdas/shared/api-schemas.ts';
import { BadRequestError } from '../../lambdas/shared/errors.ts';
import { type DropsManifest, lineageFrom } from '../../lambdas/shared/lineage.ts';
import { DEFAULT_PAGE_SIZE } from '../../lambdas/shared/paging.ts';
import { loadHeldBackDrops } from '../../lambdas/shared/pipeline.ts';
import type { Page, PageRequest, RunRecord } from '../../lambdas/shared/registry.ts';
import type { RegisterSpecRequest, RegisterSpecResult } from '../../lambdas/shared/spec-registration.ts';
import { CliError, formatComparison, formatNumber, printJson, printTable } from '../output.ts';
import { FunctionFailedError, resolveTarget, type Target, type TargetOptions } from '../target.ts';
import { readFile } from './files.ts';

type Common = TargetOptions & { json?: boolean };
type Paging = { limit?: string; next?: string };

/** `--limit` and `--next`, checked as the API checks `?limit=&next=`. */
function pageOf(options: Paging, next = options.next): PageRequest {
  const parsed = pageQuerySchema.safeParse({ limit: options.limit, next });
  if (!parsed.success)
    throw new CliError(
      `${parsed.error.issues[0].path.join('.') || 'paging'}: ${parsed.error.issues[0].message}`,
    );
  return { limit: parsed.data.limit ?? DEFAULT_PAGE_SIZE, next: parsed.data.next };
}

/** A page read from the registry; a cursor it refuses is the user's error, said as such. */
async function readPage<T>(read: () => Promise<Page<T>>): Promise<Page<T>> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof BadRequestError) throw new CliError(error.message);
    throw error;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function timestamp(at = new Date()): string {
  return at
    .toISOString()
    .replaceAll(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/**
 * The key a drop is uploaded under: `incoming/<model>/<UTC second>-<random>-<file name>`. The random part
 * keeps two uploads of the same file in the same second apart (same key = one S3 object = one run).
 * @example dropKey('air', 'data/x.csv', new Date(0), 'ab12cd34') // 'incoming/air/19700101T000000Z-ab12cd34-x.csv'
 */
export function dropKey(
  model: string,
  file: string,
  at = new Date(),
  random = randomBytes(4).toString('hex'),
) {
  return `incoming/${model}/${timestamp(at)}-${random}-${basename(file)}`;
}

/** Runs read per page while looking for a run (a page is read each poll). */
const RUNS_PER_POLL = 20;
/** How far before the call `waitForRun` looks for its run by default. */
const LOOK_BACK_MS = 60 * 60_000;
/** How much earlier than this machine's clock says a run may be stamped by the stack's clock. */
const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * The newest run `matches` picks among the model's runs started since `since`, newest first, read a page
 * at a time: a run stays findable however many runs started after it (a burst of queued uploads).
 */
async function findRun(
  target: Target,
  model: string,
  matches: (run: RunRecord) => boolean,
  since: string,
): Promise<RunRecord | undefined> {
  let next: string | undefined;
  do {
    const page = await target.registry.runsPage(model, { limit: RUNS_PER_POLL, next });
    const run = page.items.find(matches);
    if (run) return run;
    const oldest = page.items.at(-1);
    if (oldest === undefined || oldest.startedAt < since) return undefined;
    next = page.next;
  } while (next);
  return undefined;
}

/**
 * Follows a run until it ends, printing each step as it is reached: the run a drop started (`key`), or
 * the run of one execution (`{ runId }`, e.g. a retrain), among the runs started since `since` (an ISO
 * time; default an hour before the call).
 */
export async function waitForRun(
  target: Target,
  model: string,
  key: string | { runId: string },
  options: { timeoutMs?: number; quiet?: boolean; since?: string } = {},
): Promise<RunRecord> {
  const deadline = Date.now() + (options.timeoutMs ?? 15 * 60_000);
  const since = options.since ?? new Date(Date.now() - LOOK_BACK_MS).toISOString();
  const matches = (run: RunRecord) =>
    typeof key === 'string' ? run.drop?.key === key : run.runId === key.runId;
  const label = typeof key === 'string' ? key : `run ${key.runId}`;
  const printed: string[] = [];
  while (Date.now() < deadline) {
    const run = await findRun(target, model, matches, since);
    if (run) {
      for (const step of stepsReached(run).slice(printed.length)) {
        if (!options.quiet)
          process.stderr.write(`${printed.length > 0 ? ' → ' : `run ${run.runId}: `}${step}`);
        printed.push(step);
      }
      if (run.status !== 'running') {
        if (!options.quiet) process.stderr.write('\n');
        return run;
      }
    }
    await sleep(250);
  }
  throw new CliError(`no finished run for ${label} after waiting; see "driftline runs ${model}"`, 1);
}

/**
 * The steps a run has reached, in order: every step its record timed (a step shorter than the poll
 * interval included), then its current step if not timed yet.
 */
export function stepsReached(run: Pick<RunRecord, 'step' | 'durations'>): string[] {
  const timed = Object.keys(run.durations ?? {});
  return timed.includes(run.step) ? timed : [...timed, run.step];
}

export function describeRun(run: RunRecord): string {
  if (run.status === 'failed') return `failed: ${run.failure?.reason ?? 'no reason recorded'}`;
  if (run.status === 'interrupted') return `interrupted: ${run.failure?.reason ?? 'no reason recorded'}`;
  if (run.outcome === 'promoted') return `version ${run.version} promoted to production: ${run.decision}`;
  if (run.outcome === 'kept') return `version ${run.version} kept out of production: ${run.decision}`;
  if (run.outcome === 'superseded') return `version ${run.version} superseded: ${run.decision}`;
  return `no new version: ${run.decision ?? run.outcome}`;
}

export async function uploadCommand(file: string, options: Common & { model: string; wait: boolean }) {
  const target = await resolveTarget(options);
  const body = readFile(file);
  if ((await target.registry.getSpec(options.model)) === undefined) {
    throw new CliError(
      `no model named "${options.model}"; register its spec first with "driftline specs add <spec.json>"`,
    );
  }
  const key = dropKey(options.model, file);
  // Its run starts after the upload: the clocks of this machine and the stack's may differ a little.
  const since = new Date(Date.now() - CLOCK_SKEW_MS).toISOString();
  await target.s3.send(
    new PutObjectCommand({
      Bucket: target.outputs.BucketName,
      Key: key,
      Body: body,
      ContentType: 'text/csv',
    }),
  );
  if (!options.wait) {
    if (options.json) printJson({ bucket: target.outputs.BucketName, key });
    else console.log(`uploaded s3://${target.outputs.BucketName}/${key}`);
    return;
  }
  if (!options.json)
    console.log(`uploaded s3://${target.outputs.BucketName}/${key}; waiting for the pipeline…`);
  const run = await waitForRun(target, options.model, key, { quiet: options.json, since });
  if (options.json) printJson(run);
  else console.log(describeRun(run));
  if (run.status === 'failed' || run.status === 'interrupted')
    throw new CliError(`run ${run.runId} ${run.status}: ${run.failure?.reason}`, 1);
}

/**
 * Starts a retraining run of `model` (`StartExecution` with a `driftline.retrain` event): it merges the
 * drops held back without drift into the baseline and trains whatever drift said (trigger `manual`).
 * @returns the run id (the execution's name) to follow with {@link waitForRun}.
 */
export async function startRetrain(target: Target, model: string): Promise<string> {
  const runId = `retrain-${timestamp()}-${randomBytes(3).toString('hex')}`;
  await target.startExecution(runId, { source: 'driftline.retrain', detail: { model } });
  return runId;
}

/** `driftline retrain NAME`: {@link startRetrain}, then follows the run like an upload. */
export async function retrainCommand(name: string, options: Common & { wait: boolean }) {
  const target = await resolveTarget(options);
  if ((await target.registry.getSpec(name)) === undefined) {
    throw new CliError(
      `no model named "${name}"; register its spec first with "driftline specs add <spec.json>"`,
    );
  }
  const baseline = await target.registry.getBaseline(name);
  if (!baseline) throw new CliError(`model "${name}" has no data yet; upload a first drop`);
  const held = await loadHeldBackDrops(target.registry, name, baseline);
  const since = new Date(Date.now() - CLOCK_SKEW_MS).toISOString();
  const runId = await startRetrain(target, name);
  const what = `${held.length} held-back drop${held.length === 1 ? '' : 's'}${held.length ? ` (${held.map(({ drop }) => basename(drop.key)).join(', ')})` : ''}`;
  if (!options.wait) {
    if (options.json) printJson({ runId, heldBack: held.map(({ drop }) => drop) });
    else console.log(`started retrain ${runId} of ${name} with ${what}`);
    return;
  }
  if (!options.json)
    console.log(`started retrain ${runId} of ${name} with ${what}; waiting for the pipeline…`);
  const run = await waitForRun(target, name, { runId }, { quiet: options.json, since });
  if (options.json) printJson(run);
  else console.log(describeRun(run));
  if (run.status === 'failed' || run.status === 'interrupted')
    throw new CliError(`run ${run.runId} ${run.status}: ${run.failure?.reason}`, 1);
}

function parseHistory(text: string): number[] {
  const values = text.split(',').map((part) => Number(part.trim()));
  if (values.length === 0 || values.some((value) => !Number.isFinite(value))) {
    throw new CliError(`--history must be comma-separated numbers, got "${text}"`);
  }
  return values;
}

export async function predictCommand(
  options: TargetOptions & { model: string; history?: string; json?: string; raw?: boolean },
) {
  let body: unknown;
  if (options.history !== undefined) body = { instances: [{ history: parseHistory(options.history) }] };
  else if (options.json !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFile(options.json).toString('utf8'));
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw new CliError(`${options.json}: not valid JSON (${(error as Error).message})`);
    }
    if (parsed === null || typeof parsed !== 'object')
      throw new CliError(
        `${options.json}: holds ${JSON.stringify(parsed)}; give {"instances": [...]}, an array of instances or one instance`,
      );
    body = Array.isArray(parsed)
      ? { instances: parsed }
      : 'instances' in parsed
        ? parsed
        : { instances: [parsed] };
  } else throw new CliError('give the instance with --history v1,v2,… or --json FILE');
  const target = await resolveTarget(options);
  const response = await target.api(`models/${encodeURIComponent(options.model)}/predict`, {
    method: 'POST',
    body,
  });
  const result = (await response.json()) as {
    message?: string;
    version?: number;
    predictions?: Record<string, unknown>[];
  };
  if (!response.ok)
    throw new CliError(
      `predict failed (${response.status}): ${result.message ?? 'no message'}`,
      response.status < 500 ? 2 : 1,
    );
  if (options.raw) {
    printJson(result);
    return;
  }
  for (const prediction of result.predictions ?? []) {
    const value =
      prediction.value !== undefined
        ? formatNumber(prediction.value as number, 6)
        : `class ${prediction.label} ${JSON.stringify(prediction.probabilities)}`;
    const flag = prediction.outOfRange
      ? ` (outside the training range: ${(prediction.outOfRange as string[]).join(', ')})`
      : '';
    console.log(`${options.model} version ${result.version}: ${value}${flag}  [id ${prediction.id}]`);
  }
}

export async function modelsCommand(
  name: string | undefined,
  options: Common & Paging & { auditNext?: string },
) {
  const target = await resolveTarget(options);
  if (!name) {
    const names = await target.registry.listModels();
    const rows = await Promise.all(
      names.map(async (model) => {
        const [production, runs] = await Promise.all([
          target.registry.getPointer(model, 'production'),
          target.registry.listRuns(model, 1),
        ]);
        return {
          model,
          production: production?.version ?? '-',
          'last run': runs[0] ? `${runs[0].startedAt} ${runs[0].outcome ?? runs[0].status}` : '-',
        };
      }),
    );
    if (options.json) printJson(rows);
    else if (rows.length === 0)
      console.log('no models yet; register one with "driftline specs add <spec.json>"');
    else printTable(rows, ['model', 'production', 'last run']);
    return;
  }
  const versionsPage = pageOf(options);
  const auditPage = pageOf(options, options.auditNext);
  const spec = await target.registry.getSpec(name);
  if (spec === undefined) throw new CliError(`no model named "${name}"`);
  const [versions, production, audit] = await Promise.all([
    readPage(() => target.registry.versionsPage(name, versionsPage)),
    target.registry.getPointer(name, 'production'),
    readPage(() => target.registry.auditPage(name, auditPage)),
  ]);
  if (options.json) {
    printJson({
      name,
      spec,
      production: production ?? null,
      versions: versions.items,
      audit: audit.items,
      next: { versions: versions.next, audit: audit.next },
    });
    return;
  }
  console.log(`${name}: production version ${production?.version ?? 'none'}`);
  printTable(
    versions.items.map((version) => ({
      version: version.version,
      stage: version.stage,
      [version.metric]: formatNumber(version.metrics[version.metric]),
      champion: formatNumber(version.championMetrics?.[version.metric]),
      'difference [interval]': formatComparison(version.comparison),
      engine: version.engine,
      created: version.createdAt,
      reason: version.reason,
    })),
    [
      'version',
      'stage',
      versions.items[0]?.metric ?? 'metric',
      'champion',
      'difference [interval]',
      'engine',
      'created',
      'reason',
    ],
  );
  if (versions.next) console.log(`older versions: driftline models ${name} --next ${versions.next}`);
  if (audit.items.length > 0) {
    console.log('\naudit (newest first):');
    printTable(
      audit.items.map((entry) => ({ ...entry, from: entry.fromVersion, to: entry.toVersion })),
      ['at', 'action', 'from', 'to', 'actor', 'reason'],
    );
    if (audit.next) console.log(`older changes: driftline models ${name} --audit-next ${audit.next}`);
  }
}

export async function runsCommand(name: string, options: Common & Paging) {
  const page = pageOf(options);
  const target = await resolveTarget(options);
  if ((await target.registry.getSpec(name)) === undefined) throw new CliError(`no model named "${name}"`);
  const { items: runs, next } = await readPage(() => target.registry.runsPage(name, page));
  if (options.json) {
    printJson({ runs, next });
    return;
  }
  printTable(
    runs.map((run) => ({
      run: run.runId,
      started: run.startedAt,
      trigger: run.trigger,
      status: run.status,
      outcome: run.outcome ?? run.step,
      version: run.version,
      'difference [interval]': formatComparison(run.comparison),
      seconds: run.finishedAt
        ? formatNumber((Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000, 3)
        : '',
      steps: formatStepTimes(run.durations),
      dataset: formatDataset(run.dataset),
      detail: run.failure?.reason ?? run.decision ?? '',
    })),
    [
      'run',
      'started',
      'trigger',
      'status',
      'outcome',
      'version',
      'difference [interval]',
      'seconds',
      'steps',
      'dataset',
      'detail',
    ],
  );
  if (next) console.log(`older runs: driftline runs ${name} --next ${next}`);
}

/** A model's lineage as the `lineage` command prints it: one row per drop, newest first, and a summary. */
export function describeLineage(manifests: DropsManifest[]): {
  rows: { run: string; drop: string; rows: string; bytes: string }[];
  summary: string;
} {
  const rows = manifests.flatMap((manifest) =>
    [...manifest.drops].reverse().map((drop) => ({
      run: manifest.runId,
      drop: drop.key,
      rows: drop.rows === undefined ? '' : String(drop.rows),
      bytes: String(drop.size),
    })),
  );
  const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
  const summary = `${plural(rows.length, 'drop')} merged by ${plural(manifests.length, 'run')}`;
  const latest = manifests[0];
  if (latest?.history === undefined) return { rows, summary };
  const { window, rowsMerged, outOfWindow } = latest.history;
  const [unit, size] = 'rows' in window ? ['row', window.rows] : ['month', window.months];
  const kept = `the latest dataset (run ${latest.runId}) keeps ${plural(rowsMerged - outOfWindow, unit)}`;
  const cut =
    outOfWindow > 0
      ? `, its ${size}-${unit} window leaving out the ${outOfWindow} older of ${rowsMerged}`
      : '';
  return { rows, summary: `${summary}; ${kept}${cut}` };
}

/**
 * Every drop merged into a model's datasets, newest first: the lineage manifests walked back from the
 * baseline's dataset (or a version's) to the first, drops whose rows the history window left out included.
 */
export async function lineageCommand(name: string, options: Common & { version?: string }) {
  const target = await resolveTarget(options);
  if ((await target.registry.getSpec(name)) === undefined) throw new CliError(`no model named "${name}"`);
  let runId: string | undefined;
  if (options.version === undefined) runId = (await target.registry.getBaseline(name))?.runId;
  else {
    const number = Number(options.version);
    if (!Number.isInteger(number) || number < 1)
      throw new CliError(`--version must be a positive integer, got "${options.version}"`);
    const version = await target.registry.getVersion(name, number);
    if (!version) throw new CliError(`model "${name}" has no version ${number}`);
    runId = version.runId;
  }
  const read = async (key: string) => {
    const object = await target.s3.send(
      new GetObjectCommand({ Bucket: target.outputs.BucketName, Key: key }),
    );
    return JSON.parse(await object.Body!.transformToString()) as DropsManifest;
  };
  const manifests: DropsManifest[] = [];
  for await (const manifest of lineageFrom(name, runId, read)) manifests.push(manifest);
  if (options.json) {
    printJson({ model: name, manifests });
    return;
  }
  if (manifests.length === 0) {
    console.log(`${name}: no dataset merged yet`);
    return;
  }
  const { rows, summary } = describeLineage(manifests);
  printTable(rows, ['run', 'drop', 'rows', 'bytes']);
  console.log(summary);
}

export async function promoteCommand(name: string, version: string, options: Common & { reason?: string }) {
  const number = Number(version);
  if (!Number.isInteger(number) || number < 1)
    throw new CliError(`VERSION must be a positive integer, got "${version}"`);
  const target = await resolveTarget(options);
  if ((await target.registry.getSpec(name)) === undefined) throw new CliError(`no model named "${name}"`);
  let result: unknown;
  try {
    result = await target.invoke(target.outputs.PromoteFunctionName, {
      model: name,
      version: number,
      reason: options.reason,
      actor: `driftline promote (${process.env.USER ?? 'cli'})`,
    });
  } catch (error) {
    // A version the model does not have is the user's error: its message, exit code 2.
    if (error instanceof FunctionFailedError && error.errorType === 'NotFoundError')
      throw new CliError(error.errorMessage);
    throw error;
  }
  if (options.json) printJson(result);
  else console.log(`${name}: version ${number} is in production`);
}

export async function rollbackCommand(name: string, options: Common & { reason?: string }) {
  const target = await resolveTarget(options);
  if ((await target.registry.getSpec(name)) === undefined) throw new CliError(`no model named "${name}"`);
  const result = (await target.invoke(target.outputs.RollbackFunctionName, {
    action: 'rollback',
    model: name,
    reason: options.reason ?? 'manual rollback',
    actor: `driftline rollback (${process.env.USER ?? 'cli'})`,
  })) as { rolledBack: boolean; message: string };
  if (options.json) printJson(result);
  // A rollback that did not happen is said once, on stderr, by the error.
  else if (result.rolledBack) console.log(result.message);
  if (!result.rolledBack) throw new CliError(result.message, 1);
}

/**
 * Registers a spec through the stack's `registerSpec` function, which checks it (`parseSpec`) and writes
 * it: the operator holds no write grant on the registry table.
 * @throws {FunctionFailedError} with `errorType` `SpecError` for a spec the function refused.
 */
export async function registerSpec(target: Target, spec: unknown): Promise<RegisterSpecResult> {
  const functionName = target.outputs.RegisterSpecFunctionName;
  if (!functionName)
    throw new CliError(
      `${target.description} has no "RegisterSpecFunctionName" output; deploy (or start) this version of driftline`,
    );
  const request: RegisterSpecRequest = { spec };
  return (await target.invoke(functionName, request)) as RegisterSpecResult;
}

export async function specsAddCommand(file: string, options: Common) {
  let raw: unknown;
  try {
    raw = JSON.parse(readFile(file).toString('utf8'));
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  const target = await resolveTarget(options);
  let result: RegisterSpecResult;
  try {
    result = await registerSpec(target, raw);
  } catch (error) {
    // A spec the function refused is the user's error: one line naming each bad field, exit code 2.
    if (error instanceof FunctionFailedError && error.errorType === 'SpecError')
      throw new CliError(`${file}: ${error.errorMessage.split('\n').join('; ')}`);
    throw error;
  }
  if (options.json) printJson({ name: result.model, task: result.task, changed: result.changed });
  else if (!result.changed)
    console.log(`spec "${result.model}" (${result.task}) is already registered as it is`);
  else
    console.log(
      `registered spec "${result.model}" (${result.task}); upload data with "driftline upload <file.csv> --model ${result.model}"`,
    );
}

export async function feedbackCommand(
  options: TargetOptions & { model: string; id?: string; actual?: string; json?: string; raw?: boolean },
) {
  let body: unknown;
  if (options.json !== undefined) {
    try {
      const parsed = JSON.parse(readFile(options.json).toString('utf8'));
      body = Array.isArray(parsed) ? { feedback: parsed } : parsed;
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw new CliError(`${options.json}: not valid JSON (${(error as Error).message})`);
    }
  } else {
    const actual = Number(options.actual);
    if (!options.id || options.actual === undefined || !Number.isFinite(actual)) {
      throw new CliError('give --id ID --actual NUMBER (the id a prediction answered with), or --json FILE');
    }
    body = { id: options.id, actual };
  }
  const target = await resolveTarget(options);
  const response = await target.api(`models/${encodeURIComponent(options.model)}/feedback`, {
    method: 'POST',
    body,
  });
  const result = (await response.json()) as {
    message?: string;
    results?: {
      id: string;
      version: number;
      role: string;
      ape?: number;
      misclassified?: number;
      ratio: number;
    }[];
  };
  if (!response.ok) {
    throw new CliError(
      `feedback failed (${response.status}): ${result.message ?? 'no message'}`,
      response.status < 500 ? 2 : 1,
    );
  }
  if (options.raw) {
    printJson(result);
    return;
  }
  printTable(
    (result.results ?? []).map((entry) => ({
      id: entry.id,
      version: entry.version,
      role: entry.role,
      error:
        entry.ape !== undefined ? `${formatNumber(entry.ape)}%` : entry.misclassified ? 'wrong' : 'right',
      'vs holdout': `${formatNumber(entry.ratio, 3)}×`,
    })),
    ['id', 'version', 'role', 'error', 'vs holdout'],
  );
}

export async function reportCommand(name: string, options: Common & { open?: boolean }) {
  const target = await resolveTarget(options);
  if ((await target.registry.getSpec(name)) === undefined) throw new CliError(`no model named "${name}"`);
  const live = `${target.apiUrl}models/${encodeURIComponent(name)}/report`;
  // On AWS the pipeline also writes a snapshot after every run; a presigned link opens it without API access.
  const snapshot =
    options.stack || options.endpoint
      ? await getSignedUrl(
          target.s3,
          new GetObjectCommand({ Bucket: target.outputs.BucketName, Key: `reports/${name}/index.html` }),
          { expiresIn: 3600 },
        )
      : undefined;
  if (options.json) printJson({ model: name, url: live, snapshot: snapshot ?? null });
  else {
    console.log(live);
    if (snapshot) console.log(`snapshot of the last run (link valid for an hour):\n${snapshot}`);
  }
  if (options.open) {
    const opener =
      process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
    spawn(opener, [live], { detached: true, stdio: 'ignore' })
      .on('error', () => {
        console.error(`driftline: could not start ${opener}; open the address above in a browser`);
      })
      .unref();
  }
}
