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
 * | `BASELINE`             | the dataset the production model learned from, and drops held back      |
 *
 * DynamoDB emulators (dynalite) have no transactions, so every state change is a conditional write on the
 * pointer item: the pointer is the single truth of which version is in production, version items follow
 * it, and a lost race fails the condition instead of leaving two production versions.
 */
import { randomBytes } from 'node:crypto';
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
    drops: DropRef[];
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
  trigger: 'drop' | 'first_model' | 'schedule';
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
  /** Drops that arrived without drift: held back and merged into the next retrain, so nothing is lost. */
  pending: DropRef[];
}

const pk = (model: string) => `MODEL#${model}`;
const versionSk = (version: number) => `VERSION#${String(version).padStart(10, '0')}`;
const runSk = (startedAt: string, runId: string) => `RUN#${startedAt}#${runId}`;

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

  // --- runs --------------------------------------------------------------------------------------

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

  /** The latest runs of a model, newest first. */
  async listRuns(model: string, limit = 20): Promise<RunRecord[]> {
    return (await this.queryPrefix(model, 'RUN#', true, limit))
      .slice(0, limit)
      .map((item) => strip<RunRecord>(item)!);
  }

  // --- baseline ----------------------------------------------------------------------------------

  async getBaseline(model: string): Promise<Baseline | undefined> {
    return strip<Baseline>(await this.get(model, 'BASELINE', true));
  }

  /**
   * Replaces the baseline with the dataset a run merged. The pending drops that run merged are dropped from
   * the list; drops that arrived while it ran stay pending (a conditional write retried on a race).
   */
  async setBaseline(model: string, baseline: Omit<Baseline, 'pending'>, merged: DropRef[]): Promise<void> {
    const isMerged = (drop: DropRef) => merged.some((m) => m.key === drop.key && m.etag === drop.etag);
    for (let attempt = 0; ; attempt++) {
      const current = await this.getBaseline(model);
      const pending = (current?.pending ?? []).filter((drop) => !isMerged(drop));
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { PK: pk(model), SK: 'BASELINE', ...baseline, pending },
            ConditionExpression: current
              ? 'updatedAt = :seen AND size(pending) = :count'
              : 'attribute_not_exists(PK)',
            ExpressionAttributeValues: current
              ? { ':seen': current.updatedAt, ':count': current.pending.length }
              : undefined,
          }),
        );
        return;
      } catch (error) {
        if (!isConditionFailure(error) || attempt >= 4) throw error;
      }
    }
  }

  /** Holds a drop back for the next retrain (no drift now, but its rows must not be lost). */
  async addPendingDrop(model: string, drop: DropRef): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { PK: pk(model), SK: 'BASELINE' },
        UpdateExpression: 'SET pending = list_append(if_not_exists(pending, :empty), :drop)',
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeValues: { ':empty': [], ':drop': [drop] },
      }),
    );
  }
}
