/**
 * The model registry in DynamoDB: two tables, one partition per model (`PK = MODEL#<name>`) in each.
 *
 * The registry table holds what serves and its history; only the functions that may change what serves
 * (register, promote, rollback, and registerSpec for specs) are granted writes on it:
 *
 * | SK                     | item                                                                    |
 * |------------------------|-------------------------------------------------------------------------|
 * | `SPEC`                 | the model spec, the version counter and the run that took the last number |
 * | `VERSION#<10 digits>`  | a model version: stage, metrics, params, artifact key + sha256, lineage  |
 * | `POINTERS`             | what serves (production, a baking canary/shadow), revision, pending change |
 * | `AUDIT#<time>#r<rev>`  | one change of what serves: who or what, why, when                       |
 *
 * and one more partition, `PK = CATALOG`, lists the models (`SK = MODEL#<name>`): listing them is a query
 * of that partition, never a scan of the table.
 *
 * The runs table holds the pipeline's bookkeeping, which every step may write. IAM grants by table, not
 * by sort key, so keeping these apart is what lets a step record its progress without being able to touch
 * a version or a pointer:
 *
 * | SK                     | item                                                                    |
 * |------------------------|-------------------------------------------------------------------------|
 * | `RUN#<start>#<runId>`  | one pipeline execution: trigger, drift, decision, trials, status        |
 * | `BASELINE`             | the dataset the last retrain merged, and how many held-back drops it took |
 * | `HELD#<12 digits>`     | one drop held back without drift, numbered, for the next retrain          |
 * | `LEASE`                | the run lease: the one run of the model that may run now                  |
 * | `DROP#<sha256>`        | which run claimed an S3 object (bucket, key, version or ETag)             |
 *
 * DynamoDB emulators (dynalite) have no transactions, so every change of what serves is one conditional
 * write of the `POINTERS` item carrying the change ahead of its followers (stage updates, audit record),
 * which any later writer re-applies: the rules and the list of writes live in `lambdas/core/lifecycle.ts`;
 * this class only executes them, every write through one seam ({@link RegistryOptions.beforeWrite}).
 */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type AuditRecord,
  auditSortKey,
  type Change,
  EMPTY_STATE,
  followers,
  type Outcome,
  type Pointer,
  type PointerState,
  plan,
  type ServingRole,
  type Stage,
  type StageUpdate,
  type Transition,
} from '../core/lifecycle.ts';
import type { DatasetHistory } from '../core/merge.ts';
import type { PairedComparison } from '../core/paired-bootstrap.ts';
import { dynamoClient } from './clients.ts';
import { BadRequestError, ConfigError, ConflictError, NotFoundError } from './errors.ts';
import { MAX_PAGE_SIZE } from './paging.ts';

export type { AuditRecord, Pointer, Stage } from '../core/lifecycle.ts';

/** A data drop as the pipeline saw it. */
export interface DropRef {
  bucket: string;
  key: string;
  etag: string;
  size: number;
  sha256?: string;
  rows?: number;
  versionId?: string;
  /**
   * The S3 event's `sequencer`: each write of a key has its own, so it tells apart two writes of the same
   * bytes under one key where the bucket keeps no versions (the local runtime's).
   */
  sequencer?: string;
  /** The drop as a validated table in the data bucket, once `validate` passed it (`keys.dropTable`). */
  table?: string;
}

export interface ModelVersion {
  model: string;
  version: number;
  stage: Stage;
  runId: string;
  createdAt: string;
  promotedAt?: string;
  /** Why the version has its stage (the promotion decision, the alarm that rolled it back…). */
  reason: string;
  metric: string;
  /** Holdout metrics of this version, and of the champion on the same holdout when there was one. */
  metrics: Record<string, number>;
  championMetrics?: Record<string, number>;
  championVersion?: number;
  /** The paired bootstrap of this version − the champion on `metric` over the same holdout rows. */
  comparison?: PairedComparison;
  params: Record<string, unknown>;
  engine: string;
  seed: number;
  codeVersion: string;
  artifact: { key: string; sha256: string; bytes: number };
  featurizer: Record<string, unknown>;
  lineage: {
    /** The manifest (in the data bucket) listing every drop the dataset merged, and how many. */
    drops: { key: string; count: number };
    /** The drop that started the run (absent for a scheduled retrain). */
    drop?: DropRef;
    dataset: { key: string; sha256: string; rows: number };
    /** The dataset's history window and what it left out (absent on versions registered before windows). */
    history?: DatasetHistory;
    trainRows: number;
    holdoutRows: number;
    /** Which rows candidate and champion were scored on (absent on versions registered before it was recorded). */
    holdout?: HoldoutRecord;
    /**
     * Rows the served model was refit on after the holdout judged it (training + holdout); `metrics` are
     * the judged fit's. Absent on versions served as judged.
     */
    refitRows?: number;
  };
}

/** The holdout of a run: its rule, size and fingerprint, and how many of its rows the champion trained on (0). */
export interface HoldoutRecord {
  rule: string;
  rows: number;
  excludedSeenByChampion: number;
  championOverlap: number;
  digest: string;
}

/** `interrupted`: its execution stopped without recording the run (see `lambdas/recover/handler.ts`). */
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'interrupted';
export type RunOutcome =
  | 'promoted'
  | 'canary'
  | 'shadow'
  | 'kept'
  | 'superseded'
  | 'no_drift'
  | 'up_to_date'
  | 'failed';

export interface RunRecord {
  model: string;
  runId: string;
  startedAt: string;
  /** `manual`: `driftline retrain` asked for it; `schedule`: the spec's schedule. */
  trigger: 'drop' | 'first_model' | 'schedule' | 'manual';
  status: RunStatus;
  step: string;
  outcome?: RunOutcome;
  drop?: DropRef;
  drift?: Record<string, unknown>;
  decision?: string;
  version?: number;
  trials?: unknown[];
  holdout?: HoldoutRecord;
  /** The paired bootstrap of candidate − champion that decided (runs that compared with a champion). */
  comparison?: PairedComparison;
  /** The dataset the run merged and trains on: its size, the drops it merged, its history window. */
  dataset?: RunDataset;
  /** When each step of the run started and ended (see {@link Registry.recordStepTime}), by step name. */
  durations?: Record<string, StepDuration>;
  failure?: { error: string; reason: string };
  finishedAt?: string;
  /** The number the run's drop was held back under (no-drift runs). */
  heldSeq?: number;
  /**
   * An interrupted run's drop once recovery decided its fate: `merged`/`held` (it stays where the run put
   * it) or `resumed` (by the run {@link RunRecord.resumedBy}). Absent while that is still to be decided.
   */
  dropSettled?: 'merged' | 'held' | 'resumed';
  resumedBy?: string;
}

/** What a run's record says of the dataset it merged. */
export interface RunDataset {
  key: string;
  rows: number;
  /** The lineage manifest listing the drops this run merged, and how many. */
  drops: { key: string; count: number };
  history: DatasetHistory;
}

/**
 * One step of a run in time: its first attempt's start and its last attempt's end (retries and Map items
 * included), and the seconds between them once it has ended.
 */
export interface StepDuration {
  start: string;
  end?: string;
  seconds?: number;
}

/** A run item as stored: the step times are two flat maps (`stepStarts`, `stepEnds`), read as `durations`. */
function runOfItem(item: Record<string, unknown>): RunRecord {
  const { stepStarts, stepEnds, ...rest } = strip<Record<string, unknown>>(item)!;
  const starts = (stepStarts ?? {}) as Record<string, string>;
  const ends = (stepEnds ?? {}) as Record<string, string>;
  const durations = Object.fromEntries(
    Object.entries(starts)
      .sort(([, a], [, b]) => a.localeCompare(b))
      .map(([step, start]): [string, StepDuration] => {
        const end = ends[step];
        if (end === undefined) return [step, { start }];
        return [step, { start, end, seconds: (Date.parse(end) - Date.parse(start)) / 1000 }];
      }),
  );
  return { ...(rest as unknown as RunRecord), durations };
}

/** Which run owns an S3 object under `incoming/` (see {@link Registry.claimDrop}). */
export interface DropClaim {
  /** The digest the claim is keyed by (one per bucket, key and version or ETag). */
  digest: string;
  drop: DropRef;
  runId: string;
  claimedAt: string;
}

/** The per-model run lease (absent `holder`: free). */
export interface RunLease {
  holder?: string;
  since?: string;
  /** Milliseconds since the epoch after which another run may take the lease. */
  expiresAt?: number;
}

/** A drop held back without drift, with the number it was held under. */
export interface HeldBackDrop {
  seq: number;
  drop: DropRef;
}

export interface Baseline {
  datasetKey: string;
  sha256: string;
  rows: number;
  runId: string;
  updatedAt: string;
  /**
   * Held-back drops numbered up to this one are in the dataset; later ones wait for the next retrain
   * (see {@link Registry.holdBackDrop}).
   */
  heldThrough: number;
}

/** A write the registry is about to make, as the fault-injection seam sees it. */
export interface WriteBoundary {
  /**
   * `pointer`: a lifecycle change itself; `stage`/`audit`: its followers; `settle`: clearing it as applied;
   * `reserve`/`version`: taking a version number for a run, and writing that version.
   */
  write: 'pointer' | 'stage' | 'audit' | 'settle' | 'reserve' | 'version';
  model: string;
  revision?: number;
  version?: number;
}

/** The names of the registry's two tables. */
export interface RegistryTables {
  /**
   * Specs, versions, pointers and audit: what serves. Absent for a function granted no access to it
   * (admit, recordFailure, runEnded): its methods on the registry table then throw a ConfigError.
   */
  registry?: string;
  /**
   * Runs, leases, drop claims, baselines and held-back drops: the pipeline's bookkeeping. Absent for a
   * function granted no access to it (predict, feedback, rollback): its run methods then throw.
   */
  runs?: string;
}

export interface RegistryOptions {
  /** The clock for change times. @default () => new Date() */
  now?: () => Date;
  /** Called before every write; a throw here is a crash at that boundary (the fault-injection tests). */
  beforeWrite?: (boundary: WriteBoundary) => void;
}

/** One page of a listing, and the opaque cursor of the next one (absent on the last page). */
export interface Page<T> {
  items: T[];
  next?: string;
}

/** Which page of a listing to read: at most `limit` items after the cursor `next` (from the last page). */
export interface PageRequest {
  limit: number;
  next?: string;
}

/** A cursor that is not one this registry handed out for that listing (400). */
export class InvalidCursorError extends BadRequestError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidCursorError';
  }
}

/** Re-plans after a lost race on the pointer item before giving up with a ConflictError. */
const MAX_TRANSITION_ATTEMPTS = 8;
const POINTERS_SK = 'POINTERS';

const pk = (model: string) => `MODEL#${model}`;
/** The catalog: one partition listing every model, so that listing them never scans the table. */
const CATALOG_PK = 'CATALOG';
const catalogSk = (model: string) => `MODEL#${model}`;

/**
 * The sort keys each paged listing may resume after. A cursor is the base64url of the last key of its
 * page: it names a position in the model's own partition (the path names the model), and anything else
 * is refused before it reaches DynamoDB.
 */
const CURSOR_KEYS = {
  versions: /^VERSION#\d{10}$/,
  runs: /^RUN#[0-9T:.Z-]{1,40}#[\w.:-]{1,128}$/,
  audit: /^AUDIT#[0-9T:.Z-]{1,40}#r\d{10}$/,
} as const;
type PagedListing = keyof typeof CURSOR_KEYS;

const encodeCursor = (sk: string) => Buffer.from(sk, 'utf8').toString('base64url');

/** The sort key a cursor resumes after. @throws InvalidCursorError for anything not handed out. */
function decodeCursor(listing: PagedListing, cursor: string): string {
  const sk = /^[A-Za-z0-9_-]{1,400}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (!CURSOR_KEYS[listing].test(sk) || encodeCursor(sk) !== cursor)
    throw new InvalidCursorError(
      `"next" is not a cursor of this ${listing} listing; pass back the "next" of the previous page`,
    );
  return sk;
}

/** The page size asked for. @throws BadRequestError outside 1 … MAX_PAGE_SIZE. */
function pageSize(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE)
    throw new BadRequestError(`"limit" must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  return limit;
}
const versionSk = (version: number) => `VERSION#${String(version).padStart(10, '0')}`;
const runSk = (startedAt: string, runId: string) => `RUN#${startedAt}#${runId}`;
const LEASE_SK = 'LEASE';
const HELD_MAX = 999_999_999_999;
const heldSk = (seq: number) => `HELD#${String(seq).padStart(12, '0')}`;
/**
 * The digest an S3 object's claim is keyed by: S3 keys may be 1,024 bytes, as long as a sort key may be.
 * One per bucket, key and version id (ETag and the event's sequencer where the bucket is not versioned).
 */
export function dropDigest(drop: DropRef): string {
  // A write of the key: its version where the bucket keeps them, else its bytes' ETag and the event's
  // sequencer (the same bytes written again are another drop; drops recorded without one keep their digest).
  const write = drop.versionId ?? (drop.sequencer ? `${drop.etag}\n${drop.sequencer}` : drop.etag);
  return createHash('sha256').update(`${drop.bucket}\n${drop.key}\n${write}`).digest('hex');
}
const DROP_PREFIX = 'DROP#';
const dropSk = (drop: DropRef) => `${DROP_PREFIX}${dropDigest(drop)}`;

function strip<T>(item: Record<string, unknown> | undefined): T | undefined {
  if (!item) return undefined;
  const { PK: _pk, SK: _sk, ...rest } = item;
  return rest as T;
}

function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as Error)?.name === 'ConditionalCheckFailedException'
  );
}

/** Data access to the registry table. Stateless apart from the client; create one per container. */
export class Registry {
  /** The registry table (what serves), when this function was given one. */
  readonly registryTableName: string | undefined;
  /** The runs table (the pipeline's bookkeeping), when this function was given one. */
  readonly runsTableName: string | undefined;
  private readonly client: DynamoDBDocumentClient;
  private readonly now: () => Date;
  private readonly beforeWrite?: (boundary: WriteBoundary) => void;

  constructor(
    tables: RegistryTables,
    client: DynamoDBDocumentClient = dynamoClient(),
    options: RegistryOptions = {},
  ) {
    this.registryTableName = tables.registry;
    this.runsTableName = tables.runs;
    this.client = client;
    this.now = options.now ?? (() => new Date());
    this.beforeWrite = options.beforeWrite;
  }

  /** Every lifecycle write goes through here, so a test can crash the registry at any boundary. */
  private async execute(boundary: WriteBoundary, command: PutCommand | UpdateCommand): Promise<void> {
    this.beforeWrite?.(boundary);
    if (command instanceof PutCommand) await this.client.send(command);
    else await this.client.send(command);
  }

  /** The registry table. @throws ConfigError when this registry was made without one. */
  private get tableName(): string {
    if (this.registryTableName === undefined)
      throw new ConfigError(
        'this function has no registry table: specs and versions are not among its permissions',
      );
    return this.registryTableName;
  }

  /** The runs table. @throws ConfigError when this registry was made without one. */
  private get runs(): string {
    if (this.runsTableName === undefined)
      throw new ConfigError('this function has no runs table: run bookkeeping is not among its permissions');
    return this.runsTableName;
  }

  private async get(
    table: string,
    model: string,
    sk: string,
    consistent = false,
  ): Promise<Record<string, unknown> | undefined> {
    const result = await this.client.send(
      new GetCommand({
        TableName: table,
        Key: { PK: pk(model), SK: sk },
        ConsistentRead: consistent,
      }),
    );
    return result.Item;
  }

  private async queryAll(
    table: string,
    input: Omit<QueryCommandInput, 'TableName'>,
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({ ...input, TableName: table, ExclusiveStartKey: startKey }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey && (input.Limit === undefined || items.length < input.Limit));
    return items;
  }

  private async queryPrefix(
    table: string,
    model: string,
    prefix: string,
    newestFirst = false,
    limit?: number,
  ) {
    return this.queryAll(table, {
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': pk(model), ':prefix': prefix },
      ScanIndexForward: !newestFirst,
      Limit: limit,
    });
  }

  /**
   * One page of the items of `model` under `prefix`, newest first, resuming after the cursor's key. The
   * query asks for one item more than the page holds, to learn whether any follows: a query stopped at
   * its `Limit` returns a `LastEvaluatedKey` even with nothing behind it, and the last page must carry
   * no cursor. A page DynamoDB cut short (1 MB read) carries one too.
   */
  private async queryPage(
    table: string,
    model: string,
    listing: PagedListing,
    prefix: string,
    page: PageRequest,
  ): Promise<Page<Record<string, unknown>>> {
    const limit = pageSize(page.limit);
    const after = page.next === undefined ? undefined : decodeCursor(listing, page.next);
    const result = await this.client.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: { ':pk': pk(model), ':prefix': prefix },
        ScanIndexForward: false,
        Limit: limit + 1,
        ExclusiveStartKey: after === undefined ? undefined : { PK: pk(model), SK: after },
      }),
    );
    const fetched = result.Items ?? [];
    const items = fetched.slice(0, limit);
    const last = items.at(-1);
    const more = fetched.length > limit || result.LastEvaluatedKey !== undefined;
    return { items, next: more && last ? encodeCursor(String(last.SK)) : undefined };
  }

  // --- specs -------------------------------------------------------------------------------------

  /**
   * Registers or replaces a model's spec (the version counter is kept). The catalog entry is written
   * first, so a model with a spec is always listed; repeating the call after a crash completes it.
   */
  async putSpec(name: string, spec: unknown): Promise<void> {
    const now = new Date().toISOString();
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { PK: CATALOG_PK, SK: catalogSk(name) },
        UpdateExpression: 'SET model = :name, registeredAt = if_not_exists(registeredAt, :now)',
        ExpressionAttributeValues: { ':name': name, ':now': now },
      }),
    );
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { PK: pk(name), SK: 'SPEC' },
        UpdateExpression:
          'SET #spec = :spec, updatedAt = :now, createdAt = if_not_exists(createdAt, :now), model = :name',
        ExpressionAttributeNames: { '#spec': 'spec' },
        ExpressionAttributeValues: { ':spec': spec, ':now': now, ':name': name },
      }),
    );
  }

  /**
   * Registers a model's spec unless the registry already holds this very spec with its catalog entry:
   * a repeated registration (a retried invoke, `specs add` run twice) writes nothing. Any other spec,
   * or a registration a crash left without its catalog entry, goes through {@link putSpec}.
   * @returns whether anything was written.
   */
  async registerSpec(name: string, spec: unknown): Promise<boolean> {
    const [stored, listed] = await Promise.all([
      this.get(this.tableName, name, 'SPEC', true),
      this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { PK: CATALOG_PK, SK: catalogSk(name) },
          ConsistentRead: true,
        }),
      ),
    ]);
    if (stored !== undefined && listed.Item !== undefined && isDeepStrictEqual(stored.spec, spec))
      return false;
    await this.putSpec(name, spec);
    return true;
  }

  async getSpec<T = unknown>(name: string): Promise<T | undefined> {
    const item = await this.get(this.tableName, name, 'SPEC');
    return item?.spec as T | undefined;
  }

  /** Every registered model name, in order: a query of the catalog partition, never a scan. */
  async listModels(): Promise<string[]> {
    const items = await this.queryAll(this.tableName, {
      KeyConditionExpression: 'PK = :catalog',
      ExpressionAttributeValues: { ':catalog': CATALOG_PK },
      ProjectionExpression: 'model',
    });
    return items.map((item) => String(item.model));
  }

  // --- versions ----------------------------------------------------------------------------------

  /**
   * Creates the version of a pipeline run, or returns the one an earlier attempt of the same run created:
   * a retried `register` makes no second version and skips no number. The number comes from the counter
   * on the spec item, which also remembers the run that took the last number, so an attempt that finds
   * its own run there reuses the number instead of taking another (runs of one model never overlap: they
   * hold the model's run lease; attempts of one run may).
   *
   * @throws NotFoundError when the model has no spec.
   */
  async createVersion(
    record: Omit<ModelVersion, 'version'>,
  ): Promise<{ version: ModelVersion; created: boolean }> {
    const { model, runId } = record;
    const existing = await this.versionOfRun(model, runId);
    if (existing) return { version: existing, created: false };
    const version: ModelVersion = { ...record, version: await this.reserveVersion(model, runId) };
    try {
      await this.execute(
        { write: 'version', model, version: version.version },
        new PutCommand({
          TableName: this.tableName,
          Item: { PK: pk(model), SK: versionSk(version.version), ...version },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
      return { version, created: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // An attempt of the same run running at the same time wrote it first.
      return { version: (await this.getVersion(model, version.version))!, created: false };
    }
  }

  /** The next version number for `runId`, or the one it already reserved. */
  private async reserveVersion(model: string, runId: string): Promise<number> {
    this.beforeWrite?.({ write: 'reserve', model });
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { PK: pk(model), SK: 'SPEC' },
          UpdateExpression: 'ADD lastVersion :one SET lastVersionRun = :run',
          ConditionExpression:
            'attribute_exists(PK) AND (attribute_not_exists(lastVersionRun) OR lastVersionRun <> :run)',
          ExpressionAttributeValues: { ':one': 1, ':run': runId },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(result.Attributes!.lastVersion);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const spec = await this.get(this.tableName, model, 'SPEC', true);
      if (!spec) throw new NotFoundError(`model "${model}" has no spec registered`);
      return Number(spec.lastVersion);
    }
  }

  /** The version a run created, if any (newest first: a run's version is among the latest). */
  private async versionOfRun(model: string, runId: string): Promise<ModelVersion | undefined> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
          FilterExpression: 'runId = :run',
          ExpressionAttributeValues: { ':pk': pk(model), ':prefix': 'VERSION#', ':run': runId },
          ProjectionExpression: 'version',
          ScanIndexForward: false,
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      const found = page.Items?.[0];
      if (found) return this.getVersion(model, Number(found.version));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return undefined;
  }

  /** A version, with its stage as of the last change (also while that change's followers are written). */
  async getVersion(model: string, version: number): Promise<ModelVersion | undefined> {
    const [item, state] = await Promise.all([
      this.get(this.tableName, model, versionSk(version), true),
      this.readState(model),
    ]);
    const record = strip<ModelVersion>(item);
    const update = state.pending?.stages.find((stage) => stage.version === version);
    return record && update ? { ...record, ...update } : record;
  }

  /**
   * Versions of a model, newest first, with their stages as of the last change, also when that change's
   * followers are still being written (or its writer died before writing them).
   */
  async listVersions(model: string, limit?: number): Promise<ModelVersion[]> {
    const [items, state] = await Promise.all([
      this.queryPrefix(this.tableName, model, 'VERSION#', true, limit),
      this.readState(model),
    ]);
    const pending = new Map((state.pending?.stages ?? []).map((update) => [update.version, update]));
    return items.map((item) => {
      const version = strip<ModelVersion>(item)!;
      const update = pending.get(version.version);
      return update ? { ...version, ...update } : version;
    });
  }

  /** One page of a model's versions, newest first, with their stages as {@link listVersions} shows them. */
  async versionsPage(model: string, page: PageRequest): Promise<Page<ModelVersion>> {
    const [{ items, next }, state] = await Promise.all([
      this.queryPage(this.tableName, model, 'versions', 'VERSION#', page),
      this.readState(model),
    ]);
    const pending = new Map((state.pending?.stages ?? []).map((update) => [update.version, update]));
    return {
      items: items.map((item) => {
        const version = strip<ModelVersion>(item)!;
        const update = pending.get(version.version);
        return update ? { ...version, ...update } : version;
      }),
      next,
    };
  }

  // --- pointers: the lifecycle's writes ---------------------------------------------------------

  /** The pointer item as stored (the state every lifecycle decision starts from). */
  private async readState(model: string): Promise<PointerState> {
    const item = strip<PointerState>(await this.get(this.tableName, model, POINTERS_SK, true));
    return item ?? EMPTY_STATE;
  }

  /** The pointers as they stand (a pending change is already in them: the pointer is written first). */
  async getPointer(model: string, name: 'production' | 'canary'): Promise<Pointer | undefined> {
    return (await this.readState(model))[name];
  }

  /** Both pointers in one read: what serves, and the candidate (canary or shadow) if one is baking. */
  async getPointers(model: string): Promise<{ production?: Pointer; canary?: Pointer }> {
    const { production, canary } = await this.readState(model);
    return { production, canary };
  }

  /**
   * Applies the followers of a change left pending on the pointer item (its writer died, or is still
   * writing), then clears it. Every lifecycle change calls this first; safe to call any time.
   */
  async settle(model: string): Promise<PointerState> {
    const state = await this.readState(model);
    if (!state.pending) return state;
    await this.applyChange(model, state.pending);
    return { ...state, pending: undefined };
  }

  private async applyChange(model: string, change: Change): Promise<void> {
    for (const write of followers(change)) {
      if (write.kind === 'stage') await this.applyStage(model, write.update, write.revision);
      else
        await this.execute(
          { write: 'audit', model, revision: change.revision },
          new PutCommand({
            TableName: this.tableName,
            Item: { PK: pk(model), SK: write.key, ...write.record },
          }),
        );
    }
    try {
      await this.execute(
        { write: 'settle', model, revision: change.revision },
        new UpdateCommand({
          TableName: this.tableName,
          Key: { PK: pk(model), SK: POINTERS_SK },
          UpdateExpression: 'REMOVE pending',
          ConditionExpression: 'revision = :revision',
          ExpressionAttributeValues: { ':revision': change.revision },
        }),
      );
    } catch (error) {
      // A newer change replaced the pointer item: its writer settled this change before writing.
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** Sets a stage unless a newer change already set that version's stage (its `stageRevision` is higher). */
  private async applyStage(model: string, update: StageUpdate, revision: number): Promise<void> {
    const values: Record<string, unknown> = {
      ':stage': update.stage,
      ':reason': update.reason,
      ':revision': revision,
    };
    let expression = 'SET #stage = :stage, #reason = :reason, stageRevision = :revision';
    if (update.promotedAt !== undefined) {
      values[':promotedAt'] = update.promotedAt;
      expression += ', promotedAt = :promotedAt';
    }
    try {
      await this.execute(
        { write: 'stage', model, revision, version: update.version },
        new UpdateCommand({
          TableName: this.tableName,
          Key: { PK: pk(model), SK: versionSk(update.version) },
          UpdateExpression: expression,
          ConditionExpression:
            'attribute_exists(PK) AND (attribute_not_exists(stageRevision) OR stageRevision <= :revision)',
          ExpressionAttributeNames: { '#stage': 'stage', '#reason': 'reason' },
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /**
   * Runs one lifecycle transition: settles what is pending, asks the core's {@link plan}, writes the
   * pointer item conditional on the revision it read (re-planning if another writer won), then applies the
   * change's followers.
   *
   * @throws ConflictError when the core refuses the transition (the caller's view is stale).
   */
  async transition(model: string, transition: Transition): Promise<Outcome> {
    for (let attempt = 0; ; attempt++) {
      const state = await this.settle(model);
      const named = 'version' in transition ? transition.version : undefined;
      const stage =
        named === undefined
          ? undefined
          : strip<ModelVersion>(await this.get(this.tableName, model, versionSk(named), true))?.stage;
      const decision = plan(state, transition, this.now().toISOString(), stage);
      if (decision.status === 'conflict') throw new ConflictError(`${model}: ${decision.message}`);
      if (decision.status === 'done') return decision.outcome;
      try {
        await this.execute(
          { write: 'pointer', model, revision: decision.change.revision },
          new PutCommand({
            TableName: this.tableName,
            Item: { PK: pk(model), SK: POINTERS_SK, ...decision.next },
            ConditionExpression: state.revision === 0 ? 'attribute_not_exists(PK)' : 'revision = :revision',
            ExpressionAttributeValues: state.revision === 0 ? undefined : { ':revision': state.revision },
          }),
        );
      } catch (error) {
        // Another change won the race: decide again on what it left.
        if (isConditionFailure(error) && attempt < MAX_TRANSITION_ATTEMPTS) continue;
        if (isConditionFailure(error)) {
          throw new ConflictError(`the pointers of "${model}" kept changing; nothing was changed`);
        }
        throw error;
      }
      await this.applyChange(model, decision.change);
      return decision.outcome;
    }
  }

  /**
   * Starts a candidate rollout: the version answers a `weight` share of requests (`canary`) or predicts
   * alongside production without answering (`shadow`) until `bakeUntil`. A candidate still baking is
   * replaced and ends `superseded`.
   *
   * @throws ConflictError when production is no longer `champion`, the version it was judged against.
   */
  async startCandidate(
    model: string,
    version: number,
    options: {
      mode: 'canary' | 'shadow';
      weight: number;
      bakeUntil: string;
      champion: number | undefined;
      reason: string;
      actor: string;
    },
  ): Promise<Outcome> {
    await this.requireVersion(model, version);
    return this.transition(model, { kind: 'candidate_start', version, ...options });
  }

  /**
   * Ends a candidate that failed its bake: the pointer is removed, the version marked `rolled_back` with the
   * reason, and the audit records it. Production is untouched. A version that is no longer the candidate
   * is a recorded no-op.
   */
  async rollbackCandidate(
    model: string,
    version: number,
    options: { reason: string; actor: string },
  ): Promise<Outcome> {
    return this.transition(model, { kind: 'candidate_stop', version, ...options });
  }

  /**
   * Promotes a candidate whose bake ended without an alarm: production moves to it and the candidate
   * pointer is removed in one write. If production moved while it baked, it ends `superseded` instead.
   *
   * @throws ConflictError when the candidate is no longer `version`.
   */
  async completeCandidate(
    model: string,
    version: number,
    options: { reason: string; actor: string },
  ): Promise<Outcome> {
    return this.transition(model, { kind: 'candidate_complete', version, ...options });
  }

  /**
   * Makes `version` the production version if production is still `expected` (undefined = no production
   * yet), archives the one it replaces and records the change in the audit. Promoting the version already
   * in production is a no-op (a retry).
   *
   * @throws ConflictError when production changed meanwhile (another promotion or a rollback won the race).
   * @throws NotFoundError when the version does not exist.
   */
  async promote(
    model: string,
    version: number,
    options: { expected: number | undefined; reason: string; actor: string },
  ): Promise<Outcome> {
    await this.requireVersion(model, version);
    return this.transition(model, { kind: 'promote', version, ...options });
  }

  /**
   * Returns production to the version that served before `badVersion` (default: the current one) and
   * marks the bad version `rolled_back`, with an audit record. A bad version that no longer serves, or one
   * with no earlier version to return to, is a recorded no-op (`rolledBack: false`).
   */
  async rollback(
    model: string,
    options: { badVersion?: number; reason: string; actor: string },
  ): Promise<{ rolledBack: boolean; from?: number; to?: number; message: string }> {
    const outcome = await this.transition(model, {
      kind: 'rollback',
      version: options.badVersion,
      reason: options.reason,
      actor: options.actor,
    });
    return { rolledBack: outcome.changed, from: outcome.from, to: outcome.to, message: outcome.message };
  }

  /**
   * Acts on a rollback alarm of `role` entering ALARM: attributes it to the version that served in that
   * role during its breaching periods, then rolls that version back (production) or stops it (canary,
   * shadow) — a recorded no-op if it no longer serves. The same alarm state change (`eventKey`) is acted
   * on at most once, however often it is delivered.
   */
  async rollbackForAlarm(
    model: string,
    alarm: {
      role: ServingRole;
      periods: { start: number; end: number }[];
      eventKey: string;
      reason: string;
      actor: string;
    },
  ): Promise<Outcome> {
    return this.transition(model, { kind: 'alarm', ...alarm });
  }

  /**
   * Ends a candidate that can no longer be promoted (production moved since it was judged) as
   * `superseded`, with the reason; removes its candidate pointer if it has one.
   *
   * @throws ConflictError when the version is in production.
   */
  async supersede(model: string, version: number, options: { reason: string; actor: string }) {
    return this.transition(model, { kind: 'supersede', version, ...options });
  }

  /**
   * Supersedes the model's stranded candidates: versions left in `staging` that are not baking and whose
   * run is no longer running (it died or failed between creating the version and deciding its fate).
   * Called by the bake schedule, so no candidate stays in `staging` for more than a minute after its run.
   *
   * @returns the versions superseded
   */
  async supersedeStranded(model: string, actor: string): Promise<number[]> {
    const staging = await this.queryAll(this.tableName, {
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      FilterExpression: '#stage = :staging',
      ExpressionAttributeNames: { '#stage': 'stage' },
      ExpressionAttributeValues: { ':pk': pk(model), ':prefix': 'VERSION#', ':staging': 'staging' },
      ProjectionExpression: 'version, runId',
      ConsistentRead: true,
    });
    if (staging.length === 0) return [];
    const { canary } = await this.settle(model);
    const runs = new Map((await this.listRuns(model, 100)).map((run) => [run.runId, run.status]));
    const superseded: number[] = [];
    for (const item of staging) {
      const version = Number(item.version);
      const status = runs.get(String(item.runId));
      if (version === canary?.version || status === 'running') continue;
      const outcome = await this.supersede(model, version, {
        reason: `its run ${String(item.runId)} ended (${status ?? 'no run record'}) without deciding whether it serves`,
        actor,
      });
      if (outcome.superseded) superseded.push(version);
    }
    return superseded;
  }

  private async requireVersion(model: string, version: number): Promise<void> {
    if (!(await this.getVersion(model, version)))
      throw new NotFoundError(`model "${model}" has no version ${version}`);
  }

  // --- audit -------------------------------------------------------------------------------------

  /** The audit trail of a model, oldest first (with the record of a change still being written). */
  async listAudit(model: string): Promise<AuditRecord[]> {
    const [items, state] = await Promise.all([
      this.queryPrefix(this.tableName, model, 'AUDIT#'),
      this.readState(model),
    ]);
    const records = new Map(items.map((item) => [String(item.SK), strip<AuditRecord>(item)!]));
    if (state.pending) records.set(auditSortKey(state.pending), state.pending.audit);
    return [...records.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, record]) => record);
  }

  /**
   * One page of a model's audit trail, newest first. A change still being written is shown on the page
   * its key falls in (so a page may hold one record more than `limit`).
   */
  async auditPage(model: string, page: PageRequest): Promise<Page<AuditRecord>> {
    const [{ items, next }, state] = await Promise.all([
      this.queryPage(this.tableName, model, 'audit', 'AUDIT#', page),
      this.readState(model),
    ]);
    const records = items.map((item) => ({ key: String(item.SK), record: strip<AuditRecord>(item)! }));
    if (state.pending) {
      const key = auditSortKey(state.pending);
      const after = page.next === undefined ? undefined : decodeCursor('audit', page.next);
      const onThisPage =
        (after === undefined || key < after) && (next === undefined || key > String(records.at(-1)?.key));
      if (onThisPage && !records.some((entry) => entry.key === key))
        records.push({ key, record: state.pending.audit });
    }
    return {
      items: records
        .sort((a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0))
        .map((entry) => entry.record),
      next,
    };
  }

  // --- runs ------------------------------------------------------------------------------------

  /**
   * Opens (or reopens, on a retried step) a run's record with its fields: an update, never a
   * replacement, so what `admit` and the step times wrote before stays.
   * @returns false when the run had already ended (see {@link updateRun}).
   */
  async startRun(run: Omit<RunRecord, 'durations'>): Promise<boolean> {
    return this.updateRun(run.model, run.startedAt, run.runId, run);
  }

  /**
   * Sets fields of a run (creating the item if a failure is recorded before the run was opened). An
   * ended run stays ended: a step still in flight when its execution was stopped (Step Functions does not
   * stop a running Lambda) must not reopen it. So `status: 'running'` lands only while the run is running;
   * a `step` alone while it is running or succeeded (register, the last step, retried after it recorded
   * the end, marks its step again); an end (`succeeded`, `failed`) while it is running or already ended
   * the same way (a retried step repeats its write), so the first end wins. Writes of other fields (what
   * a step found, how a drop was settled) land whatever the status.
   * @returns false when the run's status refused the write.
   */
  async updateRun(
    model: string,
    startedAt: string,
    runId: string,
    fields: Partial<Omit<RunRecord, 'durations'>>,
  ): Promise<boolean> {
    const entries = Object.entries(fields).filter(([, value]) => value !== undefined);
    if (entries.length === 0) return true;
    const { status } = fields;
    const guarded = status !== undefined || fields.step !== undefined;
    const allowed =
      status === undefined
        ? ['running', 'succeeded']
        : status === 'running'
          ? ['running']
          : ['running', status];
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.runs,
          Key: { PK: pk(model), SK: runSk(startedAt, runId) },
          UpdateExpression: `SET ${entries.map(([key]) => `#${key} = :${key}`).join(', ')}`,
          ConditionExpression: guarded
            ? `attribute_not_exists(#status) OR ${allowed.map((_, i) => `#status = :allowed${i}`).join(' OR ')}`
            : undefined,
          ExpressionAttributeNames: {
            ...Object.fromEntries(entries.map(([key]) => [`#${key}`, key])),
            ...(guarded ? { '#status': 'status' } : {}),
          },
          ExpressionAttributeValues: {
            ...Object.fromEntries(entries.map(([key, value]) => [`:${key}`, value])),
            ...(guarded ? Object.fromEntries(allowed.map((value, i) => [`:allowed${i}`, value])) : {}),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Records that a step of a run started or ended at `at` (ISO time), safe to repeat: a step's start is
   * its first attempt's (a retry or another Map item keeps it), its end the latest any attempt reported.
   * The maps are created with the first time written, so no other write of the run may replace the item.
   */
  async recordStepTime(
    run: Pick<RunRecord, 'model' | 'startedAt' | 'runId'>,
    step: string,
    edge: 'start' | 'end',
    at: string,
  ): Promise<void> {
    const map = edge === 'start' ? 'stepStarts' : 'stepEnds';
    const key = { PK: pk(run.model), SK: runSk(run.startedAt, run.runId) };
    const write = () =>
      this.client.send(
        new UpdateCommand({
          TableName: this.runs,
          Key: key,
          UpdateExpression:
            edge === 'start' ? 'SET #map.#step = if_not_exists(#map.#step, :at)' : 'SET #map.#step = :at',
          ConditionExpression:
            edge === 'end' ? 'attribute_not_exists(#map.#step) OR #map.#step < :at' : undefined,
          ExpressionAttributeNames: { '#map': map, '#step': step },
          ExpressionAttributeValues: { ':at': at },
        }),
      );
    try {
      await write();
    } catch (error) {
      if (isConditionFailure(error)) return; // a later end is already recorded
      if ((error as Error).name !== 'ValidationException') throw error;
      // The map does not exist yet (the run's first time): create it, unless a concurrent step just did.
      await this.client.send(
        new UpdateCommand({
          TableName: this.runs,
          Key: key,
          UpdateExpression: 'SET #map = if_not_exists(#map, :empty)',
          ExpressionAttributeNames: { '#map': map },
          ExpressionAttributeValues: { ':empty': {} },
        }),
      );
      await write().catch((again: unknown) => {
        if (!isConditionFailure(again)) throw again;
      });
    }
  }

  /** One run by its key, or undefined. */
  async getRun(model: string, startedAt: string, runId: string): Promise<RunRecord | undefined> {
    const item = await this.get(this.runs, model, runSk(startedAt, runId), true);
    return item ? runOfItem(item) : undefined;
  }

  /** The latest runs of a model, newest first. */
  async listRuns(model: string, limit = 20): Promise<RunRecord[]> {
    return (await this.queryPrefix(this.runs, model, 'RUN#', true, limit)).slice(0, limit).map(runOfItem);
  }

  /** One page of a model's runs, newest first. */
  async runsPage(model: string, page: PageRequest): Promise<Page<RunRecord>> {
    const { items, next } = await this.queryPage(this.runs, model, 'runs', 'RUN#', page);
    return { items: items.map(runOfItem), next };
  }

  // --- admission: one run per drop, one run per model at a time ---------------------------------

  /**
   * Claims a drop for a run: the first run to claim an S3 object (bucket, key, and version id or ETag)
   * owns it, so a duplicate delivery of its event starts no second run. Claiming again with the same run
   * (a retried step) succeeds.
   * @returns the run that owns the drop (`runId` itself when the claim is this run's).
   */
  async claimDrop(model: string, drop: DropRef, runId: string, at: string): Promise<string> {
    const key = dropSk(drop);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.runs,
          Item: {
            PK: pk(model),
            SK: key,
            bucket: drop.bucket,
            key: drop.key,
            drop,
            runId,
            claimedAt: at,
          },
          ConditionExpression: 'attribute_not_exists(PK) OR runId = :me',
          ExpressionAttributeValues: { ':me': runId },
        }),
      );
      return runId;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return String((await this.get(this.runs, model, key, true))?.runId);
    }
  }

  /** Every drop claim of a model (claims written before the drop was stored on them are left out). */
  async listDropClaims(model: string): Promise<DropClaim[]> {
    const items = await this.queryPrefix(this.runs, model, DROP_PREFIX);
    return items
      .filter((item) => item.drop !== undefined)
      .map((item) => ({
        digest: String(item.SK).slice(DROP_PREFIX.length),
        drop: item.drop as DropRef,
        runId: String(item.runId),
        claimedAt: String(item.claimedAt),
      }));
  }

  /** Which run owns the S3 object's claim, if any run claimed it. */
  async dropOwner(model: string, drop: DropRef): Promise<string | undefined> {
    const item = await this.get(this.runs, model, dropSk(drop), true);
    return item === undefined ? undefined : String(item.runId);
  }

  /**
   * Hands a drop's claim from a run that will never finish (interrupted) to the run that takes the drop
   * over; repeating it is a no-op.
   * @returns the run that owns the drop now (`to` unless a third run took it meanwhile).
   */
  async handOverDrop(model: string, drop: DropRef, from: string, to: string): Promise<string | undefined> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.runs,
          Key: { PK: pk(model), SK: dropSk(drop) },
          UpdateExpression: 'SET runId = :to, handedOverFrom = :from',
          ConditionExpression: 'runId = :from OR runId = :to',
          ExpressionAttributeValues: { ':from': from, ':to': to },
        }),
      );
      return to;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return this.dropOwner(model, drop);
    }
  }

  /**
   * Marks a run `interrupted` with the reason if it is still `running` (a run that recorded its outcome
   * meanwhile is left as it is).
   * @returns whether the run was marked.
   */
  async interruptRun(
    run: Pick<RunRecord, 'model' | 'startedAt' | 'runId'>,
    reason: string,
    at: string,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.runs,
          Key: { PK: pk(run.model), SK: runSk(run.startedAt, run.runId) },
          UpdateExpression: 'SET #status = :interrupted, failure = :failure, finishedAt = :at',
          ConditionExpression: '#status = :running',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':interrupted': 'interrupted',
            ':running': 'running',
            ':failure': { error: 'Interrupted', reason },
            ':at': at,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Takes the model's run lease for `runId` until `expiresAt` (ms since the epoch) if nobody holds it,
   * `runId` already does (a retried step), or the holder's lease expired (a run that died without
   * releasing it). The lease serialises runs: only its holder reads and moves the baseline.
   * @returns whether `runId` now holds the lease, and otherwise who does.
   */
  async acquireLease(
    model: string,
    runId: string,
    now: number,
    expiresAt: number,
  ): Promise<{ acquired: true } | { acquired: false; holder: RunLease }> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.runs,
          Key: { PK: pk(model), SK: LEASE_SK },
          UpdateExpression: 'SET holder = :me, since = :since, expiresAt = :expires',
          ConditionExpression: 'attribute_not_exists(holder) OR holder = :me OR expiresAt < :now',
          ExpressionAttributeValues: {
            ':me': runId,
            ':since': new Date(now).toISOString(),
            ':expires': expiresAt,
            ':now': now,
          },
        }),
      );
      return { acquired: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const item = await this.get(this.runs, model, LEASE_SK, true);
      return { acquired: false, holder: strip<RunLease>(item) ?? {} };
    }
  }

  /** Releases the lease if `runId` still holds it; releasing a lease it no longer holds is a no-op. */
  async releaseLease(model: string, runId: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.runs,
          Key: { PK: pk(model), SK: LEASE_SK },
          UpdateExpression: 'REMOVE holder, since, expiresAt',
          ConditionExpression: 'holder = :me',
          ExpressionAttributeValues: { ':me': runId },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Who holds the model's run lease, if anyone. */
  async getLease(model: string): Promise<RunLease | undefined> {
    const lease = strip<RunLease>(await this.get(this.runs, model, LEASE_SK, true));
    return lease?.holder === undefined ? undefined : lease;
  }

  // --- baseline and held-back drops ---------------------------------------------------------------

  async getBaseline(model: string): Promise<Baseline | undefined> {
    return strip<Baseline>(await this.get(this.runs, model, 'BASELINE', true));
  }

  /**
   * Moves the baseline to the dataset a run merged, if it is still the baseline that run merged from
   * (`fromRunId`, undefined = none yet): a run that merged a stale baseline fails instead of silently
   * replacing another run's data. Repeating the same run's write succeeds.
   * @throws ConflictError when another run moved the baseline meanwhile.
   */
  async setBaseline(model: string, baseline: Baseline, fromRunId: string | undefined): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.runs,
          Item: { PK: pk(model), SK: 'BASELINE', ...baseline },
          ConditionExpression:
            fromRunId === undefined
              ? 'attribute_not_exists(PK) OR runId = :mine'
              : 'runId = :from OR runId = :mine',
          ExpressionAttributeValues:
            fromRunId === undefined
              ? { ':mine': baseline.runId }
              : { ':from': fromRunId, ':mine': baseline.runId },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      throw new ConflictError(
        `the baseline of "${model}" moved while run ${baseline.runId} merged; its dataset was not adopted`,
      );
    }
  }

  /**
   * Holds a drop back for the next retrain (no drift now, but its rows must not be lost): one item per
   * drop, numbered in the order they were held. The caller holds the run lease (checked), and a retried
   * call holds the drop once.
   * @throws ConflictError when `run` does not hold the model's lease.
   */
  async holdBackDrop(
    run: { model: string; startedAt: string; runId: string },
    drop: DropRef,
  ): Promise<number> {
    const { model, startedAt, runId } = run;
    let seq = (await this.getRun(model, startedAt, runId))?.heldSeq;
    if (seq === undefined) {
      try {
        const counted = await this.client.send(
          new UpdateCommand({
            TableName: this.runs,
            Key: { PK: pk(model), SK: LEASE_SK },
            UpdateExpression: 'ADD heldSeq :one',
            ConditionExpression: 'holder = :me',
            ExpressionAttributeValues: { ':one': 1, ':me': runId },
            ReturnValues: 'UPDATED_NEW',
          }),
        );
        seq = Number(counted.Attributes!.heldSeq);
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        throw new ConflictError(`run ${runId} does not hold the run lease of "${model}"`);
      }
      // A number taken and not recorded (a crash right here) is a harmless gap in the sequence.
      await this.updateRun(model, startedAt, runId, { heldSeq: seq });
    }
    await this.client.send(
      new PutCommand({
        TableName: this.runs,
        Item: { PK: pk(model), SK: heldSk(seq), seq, drop, runId, heldAt: new Date().toISOString() },
      }),
    );
    return seq;
  }

  /** Whether a drop is held back under number `seq`. */
  async isHeld(model: string, seq: number): Promise<boolean> {
    return (await this.get(this.runs, model, heldSk(seq), true)) !== undefined;
  }

  /** Drops held back after number `after` (the baseline's `heldThrough`), oldest first. */
  async listHeldBackDrops(model: string, after: number): Promise<HeldBackDrop[]> {
    const items = await this.queryAll(this.runs, {
      KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': pk(model), ':from': heldSk(after + 1), ':to': heldSk(HELD_MAX) },
      ConsistentRead: true,
    });
    return items.map((item) => ({ seq: Number(item.seq), drop: item.drop as DropRef }));
  }
}
