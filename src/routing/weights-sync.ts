/**
 * Run-time traffic weights shared by every gateway on one Redis (docs/traffic.md "Run-time
 * weights"). Without `redis` a split set through the admin API stays in the process that got it.
 * With it, the split is stored in Redis first and announced (weights-store.ts); each replica
 * applies what Redis holds on every announcement, when its subscription (re)connects, every
 * `resyncMs` as a backstop, and once at start, so a new replica begins with the fleet's split.
 *
 * Which weights apply follows the one-process reload rule: a split holds while the model's
 * `traffic` block is the one it was set against. A replica whose file has another block ignores
 * it, and a reload that changes the block (or no longer accepts the split) deletes it from Redis,
 * so every replica drops it, and reverting the file later does not bring it back.
 */
import type { GatewayConfig } from "../config/schema.js";
import { BackendUnavailableError, ModelNotFoundError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { SplitEntry } from "./split.js";
import { checkTraffic } from "./versions.js";
import { type StoredWeights, trafficBase, WeightsStore } from "./weights-store.js";

/** What the sync changes: the current config snapshot's service. */
export interface WeightsTarget {
  readonly config: GatewayConfig;
  setTraffic(model: string, entries: readonly SplitEntry[]): void;
  clearTraffic(model: string): void;
  routes(): { models: Record<string, { traffic?: { source: string } | undefined }> };
}

/** Options of a WeightsSync. */
export interface WeightsSyncOptions {
  /** The service new requests use (a getter: a reload swaps it). */
  current: () => WeightsTarget;
  logger: Pick<Logger, "info" | "warn" | "debug">;
  /** Backstop re-read of every stored split; default 10 s. */
  resyncMs?: number;
  /** Per Redis command; default 500 ms. */
  commandTimeoutMs?: number;
}

/** Announced models waiting to be read before a full re-read is cheaper (and bounded). */
const MAX_DIRTY = 256;

/** Keeps the current service's run-time splits equal to the ones stored in Redis. */
export class WeightsSync {
  readonly #o: WeightsSyncOptions;
  #store: { settings: string; instance: WeightsStore } | undefined;
  /** Per model, the stored record this replica applies (exact text, for a compare-and-delete). */
  readonly #applied = new Map<string, string>();
  readonly #dirty = new Set<string>();
  #full = false;
  #chain: Promise<void> = Promise.resolve();
  #queued: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #firstRead: Promise<void> = Promise.resolve();
  /** Resolves `#firstRead` after the first full read that worked. */
  #fullReadDone: () => void = () => undefined;

  constructor(options: WeightsSyncOptions) {
    this.#o = options;
  }

  /** True when splits are shared (the config has `redis`). */
  get shared(): boolean {
    return this.#store !== undefined;
  }

  /** Connects to (or leaves) the Redis of `config`; a changed `redis` block reconnects. */
  sync(config: GatewayConfig): void {
    const settings = config.redis === undefined ? undefined : JSON.stringify(config.redis);
    if (settings === this.#store?.settings) return;
    this.#store?.instance.close();
    this.#store = undefined;
    clearInterval(this.#timer);
    // Another Redis keeps the record of what applies here, so its first read drops what it lacks.
    if (config.redis === undefined || settings === undefined) {
      this.#applied.clear();
      return;
    }
    const instance = new WeightsStore({
      url: config.redis.url,
      keyPrefix: config.redis.keyPrefix,
      logger: this.#o.logger,
      ...(this.#o.commandTimeoutMs === undefined
        ? {}
        : { commandTimeoutMs: this.#o.commandTimeoutMs }),
    });
    this.#store = { settings, instance };
    this.#firstRead = new Promise((resolve) => {
      this.#fullReadDone = resolve;
    });
    instance.listen(
      (model) => void this.#mark(model),
      () => void this.#mark(undefined),
    );
    this.#timer = setInterval(() => void this.#mark(undefined), this.#o.resyncMs ?? 10_000);
    this.#timer.unref();
  }

  /** Waits for the first read of the stored splits, at most `timeoutMs` (Redis may be down). */
  async ready(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([this.#firstRead, timeout]);
    clearTimeout(timer);
  }

  /**
   * Sets `model`'s split on every replica: checked like the file's `traffic`, stored in Redis,
   * then applied here. Without Redis it is applied to this process only. Throws
   * ModelNotFoundError, TrafficInvalidError, or BackendUnavailableError (503) when Redis cannot
   * take it, in which case nothing changed anywhere.
   */
  async set(model: string, entries: readonly SplitEntry[]): Promise<void> {
    const service = this.#o.current();
    const store = this.#store?.instance;
    if (store === undefined) {
      service.setTraffic(model, entries);
      return;
    }
    const modelConfig = Object.hasOwn(service.config.models, model)
      ? service.config.models[model]
      : undefined;
    if (modelConfig === undefined) throw new ModelNotFoundError(model);
    const weights = checkTraffic(model, modelConfig, entries);
    try {
      if (!store.connected) throw new Error("redis is not connected");
      const raw = await store.write(model, { weights, base: trafficBase(modelConfig.traffic) });
      service.setTraffic(model, weights);
      this.#applied.set(model, raw);
    } catch (err) {
      throw new BackendUnavailableError(
        "redis unavailable: run-time traffic weights are shared through it and were not changed",
        { cause: err, retryAfterSeconds: 1 },
      );
    }
    // Read back: a split another replica stored meanwhile is the one in Redis, so the one here.
    await this.#mark(model);
  }

  /**
   * After a reload swapped in `next`: splits the reload dropped (see carry-weights.ts) are
   * deleted from Redis, unless somebody stored another one meanwhile; then everything is re-read
   * against the new config.
   */
  reloaded(next: WeightsTarget): void {
    this.sync(next.config);
    const store = this.#store?.instance;
    if (store === undefined) return;
    const models = next.routes().models;
    for (const [model, raw] of [...this.#applied]) {
      if (models[model]?.traffic?.source === "runtime") continue;
      this.#applied.delete(model);
      void store.clear(model, raw).then(
        (deleted) => {
          if (deleted) this.#o.logger.info({ model }, "reload: shared run-time weights cleared");
        },
        (err: unknown) => this.#debug("clearing shared run-time weights failed", err),
      );
    }
    void this.#mark(undefined);
  }

  /** Stops reading and closes the Redis connections; the weights in force stay. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#store?.instance.close();
    this.#store = undefined;
    await this.#chain;
  }

  /** Queues a read of `model` (undefined: of everything); reads run one at a time, in order. */
  #mark(model: string | undefined): Promise<void> {
    if (model === undefined || this.#dirty.size >= MAX_DIRTY) this.#full = true;
    else this.#dirty.add(model);
    // A read not started yet will see this model too: join it.
    if (this.#queued !== undefined) return this.#queued;
    const next = this.#chain.then(() => {
      this.#queued = undefined;
      return this.#read();
    });
    this.#queued = next;
    this.#chain = next;
    return next;
  }

  /** One round of reads; never rejects (the next announcement or resync tries again). */
  async #read(): Promise<void> {
    const full = this.#full;
    const models = [...this.#dirty];
    this.#full = false;
    this.#dirty.clear();
    const store = this.#store?.instance;
    if (store === undefined) return;
    try {
      if (full) {
        const stored = await store.readAll();
        for (const model of new Set([...stored.keys(), ...this.#applied.keys()])) {
          this.#apply(model, stored.get(model));
        }
        this.#fullReadDone();
      } else {
        for (const model of models) this.#apply(model, await store.read(model));
      }
    } catch (err) {
      this.#debug("reading shared run-time weights failed", err);
    }
  }

  /** Makes the current service's split of `model` what Redis holds (when it applies here). */
  #apply(model: string, stored: StoredWeights | undefined): void {
    const service = this.#o.current();
    const modelConfig = Object.hasOwn(service.config.models, model)
      ? service.config.models[model]
      : undefined;
    if (modelConfig === undefined) return;
    const had = this.#applied.get(model);
    if (stored !== undefined && stored.base === trafficBase(modelConfig.traffic)) {
      try {
        service.setTraffic(model, stored.weights);
        this.#applied.set(model, stored.raw);
        if (had !== stored.raw) {
          this.#o.logger.info(
            { model, weights: stored.weights },
            "shared run-time traffic weights applied",
          );
        }
        return;
      } catch (err) {
        this.#debug("shared run-time traffic weights not valid here; ignored", err);
      }
    }
    if (had === undefined) return;
    service.clearTraffic(model);
    this.#applied.delete(model);
    this.#o.logger.info({ model }, "shared run-time traffic weights removed");
  }

  #debug(msg: string, err: unknown): void {
    this.#o.logger.debug({ err: err instanceof Error ? err.message : String(err) }, msg);
  }
}
