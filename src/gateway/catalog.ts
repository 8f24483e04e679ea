/**
 * The metadata catalog of one config snapshot: what each target reports of its tensors (declared
 * tensors applied), and what each gateway version publishes under the gateway's model name.
 *
 * A version publishes its primary target's metadata. When the primary cannot say (down, timing
 * out, breaker open), the first fallback that can stands in, so a primary that was never reached
 * falls back like one that fails mid-call (docs/resilience.md "Fallback"). Each request asks the
 * primary first (a failure is remembered for a second), so the primary takes over as soon as it
 * answers.
 */
import type { BackendAdapter, ModelMetadata, TargetRef } from "../backends/types.js";
import { MAX_TIMER_MS } from "../config/schema.js";
import {
  BackendTimeoutError,
  BackendUnavailableError,
  type GatewayError,
  toGatewayError,
} from "../errors.js";
import { isClientFault } from "../fault.js";
import { compareVersions } from "../routing/versions.js";
import { targetId } from "./route.js";

/** How long a failed metadata fetch is remembered, so a down backend is not asked per request. */
export const METADATA_RETRY_MS = 1000;

/** What the catalog needs to know of the version it publishes for (a ResolvedRoute fits). */
export interface VersionRef {
  readonly model: string;
  readonly version: string;
  /** The model's config; its version ids are published in the metadata. */
  readonly modelConfig: { readonly versions: Readonly<Record<string, unknown>> };
}

/** What the catalog reads of a chain's target state. */
export interface CatalogTarget {
  readonly target: TargetRef;
  readonly breaker?: { readonly state: string } | undefined;
}

/** Metadata per target and per published version, for one snapshot. */
export class MetadataCatalog {
  private readonly fetches = new Map<string, Promise<ModelMetadata>>();
  private readonly failures = new Map<string, { error: GatewayError; until: number }>();
  private readonly published = new Map<string, ModelMetadata>();

  constructor(
    private readonly adapters: ReadonlyMap<string, BackendAdapter>,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The version's published metadata from the first target of `chain` that can give it; throws
   * the last target's error when none can (BACKEND_TIMEOUT once `due` passes).
   */
  async publish(
    version: VersionRef,
    chain: readonly CatalogTarget[],
    due: number,
  ): Promise<ModelMetadata> {
    let last: GatewayError | undefined;
    for (const [index, state] of chain.entries()) {
      try {
        return await this.forTarget(version, state, index, due, index === chain.length - 1);
      } catch (err) {
        last = toGatewayError(err);
        if (isClientFault(last)) throw last;
      }
    }
    throw last ?? new BackendUnavailableError(`no target for model "${version.model}"`);
  }

  /**
   * The metadata a request must fit before `state` (the chain's `index`-th target) runs it,
   * published under the gateway's name. A target that is not the last one waits at most half
   * the time left, so a hanging primary leaves its fallbacks time to answer.
   */
  async forTarget(
    version: VersionRef,
    state: CatalogTarget,
    index: number,
    due: number,
    last: boolean,
  ): Promise<ModelMetadata> {
    const key = `${version.model}\u0000${version.version}\u0000${index}`;
    const known = this.published.get(key);
    if (known !== undefined) return known;
    if (!last && state.breaker?.state === "open") {
      throw new BackendUnavailableError(
        `breaker open for "${state.target.model}" on backend "${state.target.backend}"`,
      );
    }
    const now = this.now();
    const wait = last ? due - now : Math.floor((due - now) / 2);
    const reported = await this.target(state.target, now + wait);
    const meta: ModelMetadata = {
      name: version.model,
      versions: Object.keys(version.modelConfig.versions).sort(compareVersions),
      platform: reported.platform,
      inputs: reported.inputs,
      outputs: reported.outputs,
    };
    this.published.set(key, meta);
    return meta;
  }

  /**
   * A target's metadata with declared tensors applied. Concurrent callers share one fetch; a
   * failure is remembered for METADATA_RETRY_MS. The caller waits at most until `due`
   * (BACKEND_TIMEOUT); the fetch itself goes on for later callers.
   */
  target(target: TargetRef, due: number): Promise<ModelMetadata> {
    const key = targetId(target);
    const failed = this.failures.get(key);
    if (failed !== undefined) {
      if (failed.until > this.now()) return Promise.reject(failed.error);
      this.failures.delete(key);
    }
    let pending = this.fetches.get(key);
    if (pending === undefined) {
      pending = this.load(target);
      this.fetches.set(key, pending);
      pending.catch((err: unknown) => {
        this.fetches.delete(key);
        this.failures.set(key, {
          error: toGatewayError(err),
          until: this.now() + METADATA_RETRY_MS,
        });
      });
    }
    return untilDeadline(
      pending,
      due,
      `metadata of "${target.model}" on backend "${target.backend}"`,
    );
  }

  private async load(target: TargetRef): Promise<ModelMetadata> {
    const declaredBoth = target.inputs !== undefined && target.outputs !== undefined;
    const adapter = this.adapters.get(target.backend);
    if (!declaredBoth && adapter === undefined) {
      throw new BackendUnavailableError(`backend "${target.backend}" is not running`);
    }
    const reported =
      declaredBoth || adapter === undefined
        ? { name: target.model, versions: [], platform: "declared", inputs: [], outputs: [] }
        : await adapter.metadata(target);
    return {
      ...reported,
      inputs: target.inputs ?? reported.inputs,
      outputs: target.outputs ?? reported.outputs,
    };
  }
}

/** `promise`, or BACKEND_TIMEOUT once `due` (ms since epoch) passes first. */
async function untilDeadline<T>(promise: Promise<T>, due: number, what: string): Promise<T> {
  const remaining = Math.min(due - Date.now(), MAX_TIMER_MS);
  if (remaining <= 0) throw new BackendTimeoutError(`deadline passed before ${what} was known`);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new BackendTimeoutError(`deadline passed while fetching ${what}`)),
      remaining,
    );
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
