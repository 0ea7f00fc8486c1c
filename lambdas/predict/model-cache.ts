/**
 * The predict function's in-memory model cache. The production pointer is re-read at most every
 * `ttlMs`; a new version is loaded from S3 and checked against its recorded sha256 before it replaces the
 * old one, so a request sees either the old model or the new one, never half of one. Concurrent
 * requests share one load.
 */
import { type LoadedModel, loadModel } from '#core/model.ts';
import { NotFoundError } from '../shared/errors.ts';
import type { Registry } from '../shared/registry.ts';
import { getBytes } from '../shared/storage.ts';

export interface ServingModel {
  model: string;
  version: number;
  loaded: LoadedModel;
}

interface Entry {
  version: number;
  serving: ServingModel;
  checkedAt: number;
}

export class ModelCache {
  private readonly entries = new Map<string, Entry>();
  private readonly versions = new Map<string, Promise<ServingModel>>();
  private readonly inflight = new Map<string, Promise<Entry>>();
  private readonly registry: Registry;
  private readonly bucket: string;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: { registry: Registry; bucket: string; ttlMs: number; now?: () => number }) {
    this.registry = options.registry;
    this.bucket = options.bucket;
    this.ttlMs = options.ttlMs;
    this.now = options.now ?? Date.now;
  }

  /** The production model of `model`, reloaded when the pointer moved. @throws NotFoundError when none serves. */
  async production(model: string): Promise<ServingModel> {
    const entry = this.entries.get(model);
    if (entry && this.now() - entry.checkedAt < this.ttlMs) return entry.serving;
    let pending = this.inflight.get(model);
    if (!pending) {
      pending = this.refresh(model, entry).finally(() => this.inflight.delete(model));
      this.inflight.set(model, pending);
    }
    return (await pending).serving;
  }

  /** A specific version (canary, shadow), loaded once and kept. */
  async version(model: string, version: number): Promise<ServingModel> {
    const key = `${model}#${version}`;
    let pending = this.versions.get(key);
    if (!pending) {
      pending = this.load(model, version);
      this.versions.set(key, pending);
      pending.catch(() => this.versions.delete(key));
    }
    return pending;
  }

  private async refresh(model: string, previous: Entry | undefined): Promise<Entry> {
    const pointer = await this.registry.getPointer(model, 'production');
    if (!pointer) {
      this.entries.delete(model);
      if ((await this.registry.getSpec(model)) === undefined)
        throw new NotFoundError(`no model named "${model}"`);
      throw new NotFoundError(`model "${model}" has no production version yet`);
    }
    const serving =
      previous && previous.version === pointer.version
        ? previous.serving
        : await this.version(model, pointer.version);
    // The version that stopped serving is not kept in memory (it comes back from S3 if it is needed again).
    if (previous && previous.version !== pointer.version)
      this.versions.delete(`${model}#${previous.version}`);
    const entry = { version: pointer.version, serving, checkedAt: this.now() };
    this.entries.set(model, entry);
    return entry;
  }

  private async load(model: string, version: number): Promise<ServingModel> {
    const record = await this.registry.getVersion(model, version);
    if (!record) throw new NotFoundError(`model "${model}" has no version ${version}`);
    const bytes = await getBytes(this.bucket, record.artifact.key);
    return { model, version, loaded: loadModel(bytes, record.artifact.sha256) };
  }
}
