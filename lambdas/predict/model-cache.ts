/**
 * The predict function's in-memory model cache. A container's view of the pointers (production, and a
 * baking canary or shadow) is never older than `ttlMs`: they are re-read in the background once the entry
 * is half that old, and a request waits for the read only past `ttlMs`. A new version is loaded from S3 and
 * checked against its recorded sha256 before it replaces the old one, so a request sees either the old
 * model or the new one, never half of one. Concurrent requests share one load.
 */
import { ArtifactFormatError, ChecksumMismatchError, type LoadedModel, loadModel } from '#core/model.ts';
import { type MissingPolicy, parseSpec, SpecError } from '#core/spec.ts';
import { ModelUnavailableError, NotFoundError } from '../shared/errors.ts';
import type { Registry } from '../shared/registry.ts';
import { getObjectHashed, objectEtag } from '../shared/storage.ts';

export interface ServingModel {
  model: string;
  version: number;
  loaded: LoadedModel;
  /** Where the artifact is, and its ETag when it was read: a changed ETag means re-verify. */
  artifact: { key: string; etag?: string };
}

/** What serves a model right now: production, and the candidate baking next to it, if any. */
export interface Serving {
  production: ServingModel;
  /** The spec's `serving.missing`: what a request with a missing feature gets. */
  missing: MissingPolicy;
  candidate?: { serving: ServingModel; mode: 'canary' | 'shadow'; weight: number };
}

interface Entry {
  version: number;
  serving: Serving;
  checkedAt: number;
}

/** Production's artifact was refused: every request answers 503 with the reason until the pointer moves. */
interface Refusal {
  version: number;
  error: ModelUnavailableError;
  checkedAt: number;
}

/**
 * The spec's missing-value policy. Specs are checked when registered; one that no longer parses (an older
 * format) serves strictly, since rejecting never invents a value.
 */
function missingPolicy(spec: unknown): MissingPolicy {
  try {
    const parsed = parseSpec(spec);
    return parsed.task === 'forecast' ? 'reject' : parsed.serving.missing;
  } catch (error) {
    if (error instanceof SpecError) return 'reject';
    throw error;
  }
}

export class ModelCache {
  private readonly entries = new Map<string, Entry>();
  private readonly refusals = new Map<string, Refusal>();
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

  /**
   * The production model of `model` and its baking candidate, reloaded when a pointer moved.
   *
   * The pointer check stays off the hot path: an entry younger than half the TTL is served as is; one
   * between half and a whole TTL old is served while one refresh runs in the background (a container busy
   * enough to ask twice per TTL never waits for the registry); only an older one (an idle container) waits
   * for the refresh. So a promotion or a rollback is served within one TTL (plus the refresh's own few
   * milliseconds), as `MODEL_CACHE_TTL_SECONDS` promises, never two.
   * @throws NotFoundError when nothing serves.
   * @throws ModelUnavailableError (503) when production's artifact is refused (sha256 or format), naming
   *   the version and the reason; warm containers re-verify when the artifact's ETag changes, so every
   *   container refuses alike.
   */
  async serving(model: string): Promise<Serving> {
    const refusal = this.refusals.get(model);
    if (refusal && this.now() - refusal.checkedAt < this.ttlMs) throw refusal.error;
    const entry = this.entries.get(model);
    const age = entry ? this.now() - entry.checkedAt : Number.POSITIVE_INFINITY;
    if (entry && age < this.ttlMs / 2) return entry.serving;
    const pending = this.refreshing(model, entry);
    if (entry && age < this.ttlMs) {
      // The failure shows on the next request that waits for a refresh.
      pending.catch(() => undefined);
      return entry.serving;
    }
    return (await pending).serving;
  }

  /** The refresh of `model` in flight, or a new one: concurrent requests share it. */
  private refreshing(model: string, entry: Entry | undefined): Promise<Entry> {
    let pending = this.inflight.get(model);
    if (!pending) {
      pending = this.refresh(model, entry).finally(() => this.inflight.delete(model));
      this.inflight.set(model, pending);
    }
    return pending;
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
    // The entry is as old as its pointer read, not as the load that may follow it.
    const readAt = this.now();
    const [{ production, canary }, spec] = await Promise.all([
      this.registry.getPointers(model),
      this.registry.getSpec(model),
    ]);
    if (!production) {
      this.entries.delete(model);
      if (spec === undefined) throw new NotFoundError(`no model named "${model}"`);
      throw new NotFoundError(`model "${model}" has no production version yet`);
    }
    let productionModel: ServingModel;
    let candidateModel: ServingModel | undefined;
    try {
      [productionModel, candidateModel] = await Promise.all([
        previous &&
        previous.version === production.version &&
        (await this.unchanged(previous.serving.production))
          ? previous.serving.production
          : this.version(model, production.version),
        canary ? this.version(model, canary.version) : undefined,
      ]);
    } catch (error) {
      if (!(error instanceof ChecksumMismatchError || error instanceof ArtifactFormatError)) throw error;
      // A refused artifact fails loudly and alike in every container, until the pointer moves.
      this.entries.delete(model);
      const refused = new ModelUnavailableError(
        `model "${model}" version ${production.version} is not served: its artifact was refused (${error.message})`,
      );
      this.refusals.set(model, { version: production.version, error: refused, checkedAt: this.now() });
      throw refused;
    }
    this.refusals.delete(model);
    // Versions that stopped serving are not kept in memory (they come back from S3 if needed again).
    for (const key of this.versions.keys()) {
      const [name, version] = key.split('#');
      if (name === model && Number(version) !== production.version && Number(version) !== canary?.version) {
        this.versions.delete(key);
      }
    }
    const serving: Serving = { production: productionModel, missing: missingPolicy(spec) };
    if (canary && candidateModel) {
      serving.candidate = {
        serving: candidateModel,
        mode: canary.mode ?? 'canary',
        weight: canary.weight ?? 0,
      };
    }
    const entry = { version: production.version, serving, checkedAt: readAt };
    this.entries.set(model, entry);
    return entry;
  }

  /**
   * Whether a loaded version's artifact is still the bytes that were verified (one HEAD per refresh, off
   * the hot path). When it changed, the version is dropped from memory and loaded (and verified) again.
   */
  private async unchanged(serving: ServingModel): Promise<boolean> {
    const etag = await objectEtag(this.bucket, serving.artifact.key);
    if (etag !== undefined && etag === serving.artifact.etag) return true;
    this.versions.delete(`${serving.model}#${serving.version}`);
    return false;
  }

  private async load(model: string, version: number): Promise<ServingModel> {
    const record = await this.registry.getVersion(model, version);
    if (!record) throw new NotFoundError(`model "${model}" has no version ${version}`);
    const key = record.artifact.key;
    // The ETag of the very bytes verified: when the object changes, the next refresh's HEAD sees another.
    // Their sha256 is computed as they arrive, so the check costs nothing after the last byte.
    const { bytes, etag, sha256 } = await getObjectHashed(this.bucket, key);
    return {
      model,
      version,
      loaded: loadModel(bytes, record.artifact.sha256, sha256),
      artifact: { key, etag },
    };
  }
}
