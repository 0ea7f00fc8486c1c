/**
 * The model registry in DynamoDB: one table, one partition per model (`PK = MODEL#<name>`).
 *
 * | SK                     | item                                                                    |
 * |------------------------|-------------------------------------------------------------------------|
 * | `SPEC`                 | the model spec, and `lastVersion` (the atomic version counter)          |
 * | `VERSION#<10 digits>`  | a model version: stage, metrics, params, artifact key + sha256, lineage  |
 * | `POINTER#production`   | which version serves, the versions that served before it (for rollback) |
 * | `POINTER#canary`       | a version taking a share of traffic while it bakes                       |
 * | `RUN#<start>#<runId>`  | one pipeline execution: trigger, drift, decision, trials, status        |
 * | `AUDIT#<time>#<id>`    | one change of what serves: who or what, why, when                       |
 * | `BASELINE`             | the dataset the last retrain merged, and how many held-back drops it took |
 * | `HELD#<12 digits>`     | one drop held back without drift, numbered, for the next retrain          |
 * | `LEASE`                | the run lease: the one run of the model that may run now                  |
 * | `DROP#<sha256>`        | which run claimed an S3 object (bucket, key, version or ETag)             |
 *
 * DynamoDB emulators (dynalite) have no transactions, so every state change is a conditional write on the
 * pointer item: the pointer is the single truth of which version is in production, version items follow
 * it, and a lost race fails the condition instead of leaving two production versions.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { dynamoClient } from './clients.ts';
import { ConflictError, NotFoundError } from './errors.ts';

export type Stage = 'none' | 'staging' | 'production' | 'archived' | 'rejected' | 'rolled_back';

/** A data drop as the pipeline saw it. */
export interface DropRef {
  bucket: string;
  key: string;
  etag: string;
  size: number;
  sha256?: string;
  rows?: number;
  versionId?: string;
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
    trainRows: number;
    holdoutRows: number;
    /** Which rows candidate and champion were scored on (absent on versions registered before it was recorded). */
    holdout?: HoldoutRecord;
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

export interface Pointer {
  version: number;
  since: string;
  reason: string;
  /** Versions that served before, oldest first: a rollback returns to the last one. */
  history: number[];
  /** Candidate pointer only: how it serves (`canary`: a share of answers; `shadow`: predicts, never answers). */
  mode?: 'canary' | 'shadow';
  /** Candidate pointer only: share of traffic a canary answers, and when its bake ends. */
  weight?: number;
  bakeUntil?: string;
}

export type RunStatus = 'running' | 'succeeded' | 'failed';
export type RunOutcome = 'promoted' | 'canary' | 'shadow' | 'kept' | 'no_drift' | 'failed';

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
  durations?: Record<string, number>;
  failure?: { error: string; reason: string };
  finishedAt?: string;
  /** The number the run's drop was held back under (no-drift runs). */
  heldSeq?: number;
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

export interface AuditRecord {
  at: string;
  action: 'promote' | 'rollback' | 'candidate_start' | 'candidate_rollback' | 'rollback_skipped';
  fromVersion?: number;
  toVersion?: number;
  reason: string;
  actor: string;
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

const pk = (model: string) => `MODEL#${model}`;
const versionSk = (version: number) => `VERSION#${String(version).padStart(10, '0')}`;
const runSk = (startedAt: string, runId: string) => `RUN#${startedAt}#${runId}`;
const LEASE_SK = 'LEASE';
const HELD_MAX = 999_999_999_999;
const heldSk = (seq: number) => `HELD#${String(seq).padStart(12, '0')}`;
/** S3 keys may be 1,024 bytes, as long as a sort key may be: the claim is keyed by a digest of the object. */
const dropSk = (drop: DropRef) =>
  `DROP#${createHash('sha256')
    .update(`${drop.bucket}\n${drop.key}\n${drop.versionId ?? drop.etag}`)
    .digest('hex')}`;

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
  readonly tableName: string;
  private readonly client: DynamoDBDocumentClient;

  constructor(tableName: string, client: DynamoDBDocumentClient = dynamoClient()) {
    this.tableName = tableName;
    this.client = client;
  }

  private async get(
    model: string,
    sk: string,
    consistent = false,
  ): Promise<Record<string, unknown> | undefined> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { PK: pk(model), SK: sk },
        ConsistentRead: consistent,
      }),
    );
    return result.Item;
  }

  private async queryAll(input: Omit<QueryCommandInput, 'TableName'>): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({ ...input, TableName: this.tableName, ExclusiveStartKey: startKey }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey && (input.Limit === undefined || items.length < input.Limit));
    return items;
  }

  private async queryPrefix(model: string, prefix: string, newestFirst = false, limit?: number) {
    return this.queryAll({
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': pk(model), ':prefix': prefix },
      ScanIndexForward: !newestFirst,
      Limit: limit,
    });
  }

  // --- specs -------------------------------------------------------------------------------------

  /** Registers or replaces a model's spec (the version counter is kept). */
  async putSpec(name: string, spec: unknown): Promise<void> {
    const now = new Date().toISOString();
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

  async getSpec<T = unknown>(name: string): Promise<T | undefined> {
    const item = await this.get(name, 'SPEC');
    return item?.spec as T | undefined;
  }

  /** Every registered model name, from the spec items (a scan: there are few models). */
  async listModels(): Promise<string[]> {
    const names: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: 'SK = :spec',
          ExpressionAttributeValues: { ':spec': 'SPEC' },
          ProjectionExpression: 'model',
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) names.push(String(item.model));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return names.sort();
  }

  // --- versions ----------------------------------------------------------------------------------

  /** Reserves the next version number (an atomic counter on the spec item). */
  async nextVersion(model: string): Promise<number> {
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { PK: pk(model), SK: 'SPEC' },
          UpdateExpression: 'ADD lastVersion :one',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeValues: { ':one': 1 },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(result.Attributes!.lastVersion);
    } catch (error) {
      if (isConditionFailure(error)) throw new NotFoundError(`model "${model}" has no spec registered`);
      throw error;
    }
  }

  /** Writes a new version item; refuses to overwrite an existing one. */
  async putVersion(version: ModelVersion): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { PK: pk(version.model), SK: versionSk(version.version), ...version },
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
  }

  async getVersion(model: string, version: number): Promise<ModelVersion | undefined> {
    return strip<ModelVersion>(await this.get(model, versionSk(version), true));
  }

  /**
   * Versions of a model, newest first, with stages as the pointer says: the production pointer's version is
   * `production` and no other is, even if a writer died between flipping the pointer and updating stages.
   */
  async listVersions(model: string, limit?: number): Promise<ModelVersion[]> {
    const [items, production] = await Promise.all([
      this.queryPrefix(model, 'VERSION#', true, limit),
      this.getPointer(model, 'production'),
    ]);
    return items.map((item) => {
      const version = strip<ModelVersion>(item)!;
      if (production && version.version === production.version) return { ...version, stage: 'production' };
      if (version.stage === 'production') return { ...version, stage: 'archived' };
      return version;
    });
  }

  private async setStage(
    model: string,
    version: number,
    stage: Stage,
    reason?: string,
    extra: Record<string, unknown> = {},
  ) {
    const names: Record<string, string> = { '#stage': 'stage' };
    const values: Record<string, unknown> = { ':stage': stage };
    const sets = ['#stage = :stage'];
    if (reason !== undefined) {
      names['#reason'] = 'reason';
      values[':reason'] = reason;
      sets.push('#reason = :reason');
    }
    for (const [key, value] of Object.entries(extra)) {
      names[`#${key}`] = key;
      values[`:${key}`] = value;
      sets.push(`#${key} = :${key}`);
    }
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { PK: pk(model), SK: versionSk(version) },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  // --- pointers ----------------------------------------------------------------------------------

  async getPointer(model: string, name: 'production' | 'canary'): Promise<Pointer | undefined> {
    return strip<Pointer>(await this.get(model, `POINTER#${name}`, true));
  }

  /** Both pointers in one read: what serves, and the candidate (canary or shadow) if one is baking. */
  async getPointers(model: string): Promise<{ production?: Pointer; canary?: Pointer }> {
    const items = await this.queryAll({
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': pk(model), ':prefix': 'POINTER#' },
      ConsistentRead: true,
    });
    const byName = new Map(
      items.map((item) => [String(item.SK).slice('POINTER#'.length), strip<Pointer>(item)]),
    );
    return { production: byName.get('production'), canary: byName.get('canary') };
  }

  /**
   * Starts a candidate rollout: the version answers a `weight` share of requests (`canary`) or predicts
   * alongside production without answering (`shadow`) until `bakeUntil`. Only one candidate bakes at a time.
   *
   * @throws ConflictError when another candidate is already baking.
   */
  async startCandidate(
    model: string,
    version: number,
    options: { mode: 'canary' | 'shadow'; weight: number; bakeUntil: string; reason: string; actor: string },
  ): Promise<Pointer> {
    const now = new Date().toISOString();
    const pointer: Pointer = {
      version,
      since: now,
      reason: options.reason,
      history: [],
      mode: options.mode,
      weight: options.mode === 'canary' ? options.weight : 0,
      bakeUntil: options.bakeUntil,
    };
    await this.writePointer(model, 'canary', pointer, undefined);
    await this.setStage(model, version, 'staging', options.reason);
    await this.appendAudit(model, {
      at: now,
      action: 'candidate_start',
      toVersion: version,
      reason: options.reason,
      actor: options.actor,
    });
    return pointer;
  }

  /**
   * Ends a candidate that failed its bake: the pointer is removed, the version marked `rolled_back` with the
   * reason, and the audit records it. Production is untouched.
   *
   * @throws ConflictError when the candidate is no longer `version`.
   */
  async rollbackCandidate(
    model: string,
    version: number,
    options: { reason: string; actor: string },
  ): Promise<void> {
    await this.clearCanary(model, version);
    await this.setStage(model, version, 'rolled_back', options.reason);
    await this.appendAudit(model, {
      at: new Date().toISOString(),
      action: 'candidate_rollback',
      fromVersion: version,
      reason: options.reason,
      actor: options.actor,
    });
  }

  /**
   * Promotes a candidate whose bake ended without an alarm: production moves to it (conditional on
   * production being what it was) and the candidate pointer is removed.
   */
  async completeCandidate(
    model: string,
    version: number,
    options: { reason: string; actor: string },
  ): Promise<Pointer> {
    const production = await this.getPointer(model, 'production');
    const pointer = await this.promote(model, version, {
      expected: production?.version,
      reason: options.reason,
      actor: options.actor,
    });
    await this.clearCanary(model, version);
    return pointer;
  }

  /**
   * Makes `version` the production version if production is still `expected` (undefined = no production
   * yet), archives the one it replaces and records the change in the audit.
   *
   * @throws ConflictError when production changed meanwhile (another promotion or a rollback won the race).
   */
  async promote(
    model: string,
    version: number,
    options: { expected: number | undefined; reason: string; actor: string },
  ): Promise<Pointer> {
    const target = await this.getVersion(model, version);
    if (!target) throw new NotFoundError(`model "${model}" has no version ${version}`);
    const current = await this.getPointer(model, 'production');
    if ((current?.version ?? undefined) !== options.expected) {
      throw new ConflictError(
        `production of "${model}" is ${current?.version ?? 'unset'}, not ${options.expected ?? 'unset'} as expected`,
      );
    }
    if (current?.version === version)
      throw new ConflictError(`version ${version} of "${model}" is already in production`);
    const now = new Date().toISOString();
    const pointer: Pointer = {
      version,
      since: now,
      reason: options.reason,
      history: current ? [...current.history.filter((v) => v !== version), current.version].slice(-20) : [],
    };
    await this.writePointer(model, 'production', pointer, current?.version);
    await this.setStage(model, version, 'production', options.reason, { promotedAt: now });
    if (current) await this.setStage(model, current.version, 'archived');
    await this.appendAudit(model, {
      at: now,
      action: 'promote',
      fromVersion: current?.version,
      toVersion: version,
      reason: options.reason,
      actor: options.actor,
    });
    return pointer;
  }

  /**
   * Returns production to the version that served before `badVersion` (default: the current one), marks
   * the bad version `rolled_back` with the reason, and audits it. With no earlier version, production is
   * left as it is and the skip is audited.
   *
   * @throws ConflictError when production is no longer `badVersion` (already rolled back by someone else).
   */
  async rollback(
    model: string,
    options: { badVersion?: number; reason: string; actor: string },
  ): Promise<{ rolledBack: boolean; from?: number; to?: number; message: string }> {
    const current = await this.getPointer(model, 'production');
    if (!current)
      return { rolledBack: false, message: `model "${model}" has no production version to roll back` };
    const bad = options.badVersion ?? current.version;
    if (bad !== current.version) {
      throw new ConflictError(
        `version ${bad} of "${model}" is not in production (version ${current.version} is)`,
      );
    }
    const now = new Date().toISOString();
    const target = current.history.at(-1);
    if (target === undefined) {
      const message = `no earlier version of "${model}" to roll back to; version ${bad} keeps serving`;
      await this.appendAudit(model, {
        at: now,
        action: 'rollback_skipped',
        fromVersion: bad,
        reason: `${options.reason}; ${message}`,
        actor: options.actor,
      });
      return { rolledBack: false, from: bad, message };
    }
    const pointer: Pointer = {
      version: target,
      since: now,
      reason: options.reason,
      history: current.history.slice(0, -1),
    };
    await this.writePointer(model, 'production', pointer, bad);
    await this.setStage(model, target, 'production', `restored: ${options.reason}`, { promotedAt: now });
    await this.setStage(model, bad, 'rolled_back', options.reason);
    await this.appendAudit(model, {
      at: now,
      action: 'rollback',
      fromVersion: bad,
      toVersion: target,
      reason: options.reason,
      actor: options.actor,
    });
    return {
      rolledBack: true,
      from: bad,
      to: target,
      message: `rolled back "${model}" from version ${bad} to ${target}`,
    };
  }

  /** Writes a pointer if it still names `expected` (undefined = must not exist). */
  async writePointer(
    model: string,
    name: 'production' | 'canary',
    pointer: Pointer,
    expected: number | undefined,
  ) {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { PK: pk(model), SK: `POINTER#${name}`, ...pointer },
          ConditionExpression: expected === undefined ? 'attribute_not_exists(PK)' : 'version = :expected',
          ExpressionAttributeValues: expected === undefined ? undefined : { ':expected': expected },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) {
        throw new ConflictError(`the ${name} pointer of "${model}" changed meanwhile; nothing was changed`);
      }
      throw error;
    }
  }

  /** Removes the canary pointer if it still names `version`. */
  async clearCanary(model: string, version: number): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { PK: pk(model), SK: 'POINTER#canary' },
          ConditionExpression: 'version = :version',
          ExpressionAttributeValues: { ':version': version },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error))
        throw new ConflictError(`the canary of "${model}" is no longer version ${version}`);
      throw error;
    }
  }

  /** Sets a version's stage (for versions that never serve: rejected, staging). */
  async markVersion(model: string, version: number, stage: Stage, reason: string): Promise<void> {
    await this.setStage(model, version, stage, reason);
  }

  // --- audit -------------------------------------------------------------------------------------

  async appendAudit(model: string, record: AuditRecord): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { PK: pk(model), SK: `AUDIT#${record.at}#${randomBytes(4).toString('hex')}`, ...record },
      }),
    );
  }

  /** The audit trail of a model, oldest first. */
  async listAudit(model: string): Promise<AuditRecord[]> {
    return (await this.queryPrefix(model, 'AUDIT#')).map((item) => strip<AuditRecord>(item)!);
  }

  // --- runs ------------------------------------------------------------------------------------

  /** Opens (or reopens, on a retried step) a run record. */
  async startRun(run: RunRecord): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { PK: pk(run.model), SK: runSk(run.startedAt, run.runId), ...run },
      }),
    );
  }

  /** Sets fields of a run (creating the item if a failure is recorded before the run was opened). */
  async updateRun(
    model: string,
    startedAt: string,
    runId: string,
    fields: Partial<RunRecord>,
  ): Promise<void> {
    const entries = Object.entries(fields).filter(([, value]) => value !== undefined);
    if (entries.length === 0) return;
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { PK: pk(model), SK: runSk(startedAt, runId) },
        UpdateExpression: `SET ${entries.map(([key]) => `#${key} = :${key}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(entries.map(([key]) => [`#${key}`, key])),
        ExpressionAttributeValues: Object.fromEntries(entries.map(([key, value]) => [`:${key}`, value])),
      }),
    );
  }

  /** One run by its key, or undefined. */
  async getRun(model: string, startedAt: string, runId: string): Promise<RunRecord | undefined> {
    return strip<RunRecord>(await this.get(model, runSk(startedAt, runId), true));
  }

  /** The latest runs of a model, newest first. */
  async listRuns(model: string, limit = 20): Promise<RunRecord[]> {
    return (await this.queryPrefix(model, 'RUN#', true, limit))
      .slice(0, limit)
      .map((item) => strip<RunRecord>(item)!);
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
          TableName: this.tableName,
          Item: { PK: pk(model), SK: key, bucket: drop.bucket, key: drop.key, runId, claimedAt: at },
          ConditionExpression: 'attribute_not_exists(PK) OR runId = :me',
          ExpressionAttributeValues: { ':me': runId },
        }),
      );
      return runId;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return String((await this.get(model, key, true))?.runId);
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
          TableName: this.tableName,
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
      const item = await this.get(model, LEASE_SK, true);
      return { acquired: false, holder: strip<RunLease>(item) ?? {} };
    }
  }

  /** Releases the lease if `runId` still holds it; releasing a lease it no longer holds is a no-op. */
  async releaseLease(model: string, runId: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
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
    const lease = strip<RunLease>(await this.get(model, LEASE_SK, true));
    return lease?.holder === undefined ? undefined : lease;
  }

  // --- baseline and held-back drops ---------------------------------------------------------------

  async getBaseline(model: string): Promise<Baseline | undefined> {
    return strip<Baseline>(await this.get(model, 'BASELINE', true));
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
          TableName: this.tableName,
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
            TableName: this.tableName,
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
        TableName: this.tableName,
        Item: { PK: pk(model), SK: heldSk(seq), seq, drop, runId, heldAt: new Date().toISOString() },
      }),
    );
    return seq;
  }

  /** Drops held back after number `after` (the baseline's `heldThrough`), oldest first. */
  async listHeldBackDrops(model: string, after: number): Promise<HeldBackDrop[]> {
    const items = await this.queryAll({
      KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': pk(model), ':from': heldSk(after + 1), ':to': heldSk(HELD_MAX) },
      ConsistentRead: true,
    });
    return items.map((item) => ({ seq: Number(item.seq), drop: item.drop as DropRef }));
  }
}
