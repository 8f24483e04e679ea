/**
 * The response cache (docs/resilience.md "Caching"): a policy at the outside of each target's chain that answers
 * repeated requests from an in-process LRU bounded in bytes and, when configured, a Redis tier
 * shared by every gateway process.
 *
 * Lookup goes memory, then Redis (a Redis hit is copied into memory). A miss calls the rest of
 * the chain once per key however many identical requests arrive together (single flight), and
 * only a successful answer is stored, in both tiers, for the target's TTL. Values are the binary
 * form of codec.ts; keys are the SHA-256 of key.ts, which is trusted not to collide (see there).
 * A hit is decoded afresh for each request; callers that shared one flight share its answer's
 * tensors, which (like every answer in the chain) are read-only.
 */
import { LRUCache } from "lru-cache";
import { abortError } from "../abort.js";
import type { BackendResult } from "../backends/types.js";
import type { InferFn, Policy, TargetCall } from "../pipeline/types.js";
import { type CachedAnswer, decodeAnswer, encodeAnswer } from "./codec.js";
import { cacheKey, tenantScope } from "./key.js";
import { RedisTier, type WarnLogger } from "./redis-tier.js";
import { SingleFlight } from "./single-flight.js";
import { HMAC_KEY_ENV, resolveHmacKey } from "./value-mac.js";

/** Cache tiers, for `onLookup`. */
export type CacheTier = "memory" | "redis";
/**
 * A lookup's outcome. `bypass` on memory: the request asked for no-cache (it then never reaches
 * Redis). `bypass` on redis: Redis was down, slow or still connecting, and the request went on.
 */
export type LookupResult = "hit" | "miss" | "bypass";

export interface ResponseCacheOptions {
  /** Bound of the in-process tier, keys plus values, in bytes; least recently used go first. */
  maxBytes: number;
  /** The shared tier; absent = in-process only. `commandTimeoutMs` defaults to 50. */
  redis?: {
    url: string;
    keyPrefix: string;
    commandTimeoutMs?: number;
    /** HMAC key of the values; absent = INFERGATE_CACHE_HMAC_KEY, else derived (value-mac.ts). */
    cacheHmacKey?: string | undefined;
  };
  /** Environment read for INFERGATE_CACHE_HMAC_KEY. Default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Called once per tier a lookup reaches (infergate_cache_requests_total). */
  onLookup?: (tier: CacheTier, result: LookupResult) => void;
  /** Called with the in-process tier's size in bytes whenever it changes (infergate_cache_bytes). */
  onBytes?: (bytes: number) => void;
  logger?: WarnLogger;
  /**
   * Monotonic milliseconds for TTLs, default performance.now; tests pass a fake clock. Must stay
   * above 0: lru-cache reads an entry start of 0 as "no TTL".
   */
  now?: () => number;
}

/** What a flight yields: the answer and where it came from. */
interface Filled {
  result: BackendResult;
  cache: "hit" | "miss";
}

/** The response cache shared by every target of a gateway. */
export class ResponseCache {
  private readonly memory: LRUCache<string, Buffer>;
  private readonly redis: RedisTier | undefined;
  private readonly flights = new SingleFlight<Filled>();
  private readonly onLookup: ResponseCacheOptions["onLookup"];
  private readonly onBytes: ResponseCacheOptions["onBytes"];
  private readonly logger: WarnLogger | undefined;
  private reportedBytes = -1;
  /** An undecodable value usually means a gateway of another version shares Redis: say it once. */
  private warnedUndecodable = false;

  constructor(options: ResponseCacheOptions) {
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes <= 0) {
      throw new RangeError(`maxBytes must be a positive integer, got ${options.maxBytes}`);
    }
    const now = options.now ?? (() => performance.now());
    this.memory = new LRUCache<string, Buffer>({
      maxSize: options.maxBytes,
      sizeCalculation: (value, key) => value.byteLength + key.length,
      // Read the clock at every staleness check instead of caching it behind a timer.
      ttlResolution: 0,
      perf: { now },
    });
    this.onLookup = options.onLookup;
    this.onBytes = options.onBytes;
    this.logger = options.logger;
    this.redis =
      options.redis === undefined ? undefined : this.redisTier(options.redis, options, now);
  }

  /** The Redis tier, its values authenticated with the configured (or derived) HMAC key. */
  private redisTier(
    redis: NonNullable<ResponseCacheOptions["redis"]>,
    options: ResponseCacheOptions,
    now: () => number,
  ): RedisTier {
    const { key, source } = resolveHmacKey(redis, options.env);
    if (source === "derived") {
      options.logger?.warn(
        {},
        `redis cache: no redis.cacheHmacKey or ${HMAC_KEY_ENV}; values are authenticated with a ` +
          "key derived from the Redis URL and keyPrefix, which is not secret",
      );
    }
    const { cacheHmacKey: _secret, ...connection } = redis;
    return new RedisTier({ ...connection, hmacKey: key, now, logger: options.logger });
  }

  /** Values read from Redis that failed their HMAC check (each was a miss). */
  get rejectedRedisValues(): number {
    return this.redis?.rejected ?? 0;
  }

  /** Bytes the in-process tier holds now (keys plus values). */
  get bytes(): number {
    return this.memory.calculatedSize;
  }

  /** Keys being computed now (single flight); 0 when nothing is in flight. */
  get inFlight(): number {
    return this.flights.size;
  }

  /**
   * The cache policy for one target. `namespace` identifies model, resolved gateway version and
   * target; `ttlSeconds` bounds how long an answer is served from either tier.
   */
  policy(options: { namespace: string; ttlSeconds: number; shared?: boolean | undefined }): Policy {
    const { namespace, ttlSeconds } = options;
    if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
      throw new RangeError(`ttlSeconds must be positive, got ${ttlSeconds}`);
    }
    const ttlMs = Math.max(1, Math.round(ttlSeconds * 1000));
    return (next) => async (request) => {
      const { call } = request;
      // Parameters may change the answer (a sequence's state does): such calls are never cached.
      if (call.parameters !== undefined || call.tensorParameters !== undefined)
        return next(request);
      // Per tenant unless shared (docs/access.md "Tenants"); without auth the tenant is "".
      const scope = options.shared === true ? namespace : tenantScope(namespace, call.tenant ?? "");
      const key = cacheKey(scope, call.outputs, call.inputs);
      if (call.noCache) {
        this.onLookup?.("memory", "bypass");
        const result = await next(request);
        this.store(key, result, ttlMs);
        return { ...result, cache: "miss" };
      }
      const cached = this.fromMemory(key);
      this.onLookup?.("memory", cached === undefined ? "miss" : "hit");
      if (cached !== undefined) return { ...cached, cache: "hit" };
      const { value } = await this.flights.run(
        key,
        call.signal,
        (signal) =>
          this.fill(key, { target: request.target, call: { ...call, signal } }, next, ttlMs),
        (signal) => abortError(request.target.backend, signal),
      );
      return { ...value.result, cache: value.cache };
    };
  }

  /** Resolves when every Redis store started so far has finished. */
  async settled(): Promise<void> {
    await this.redis?.settled();
  }

  /** Finishes pending Redis stores and disconnects from Redis. The in-process tier stays usable. */
  async close(): Promise<void> {
    await this.redis?.close();
  }

  /** Redis, then the rest of the chain; runs once per key at a time. */
  private async fill(
    key: string,
    request: TargetCall,
    next: InferFn,
    ttlMs: number,
  ): Promise<Filled> {
    if (this.redis !== undefined) {
      const found = await this.redis.get(key);
      let result = found.result;
      if (found.result === "hit") {
        const answer = this.decode(found.value);
        if (answer === undefined) {
          result = "miss";
        } else {
          this.onLookup?.("redis", "hit");
          // The copy never outlives the Redis entry it came from.
          this.memory.set(key, found.value, { ttl: Math.min(found.ttlMs ?? ttlMs, ttlMs) });
          this.reportBytes();
          return { result: answer, cache: "hit" };
        }
      }
      this.onLookup?.("redis", result);
    }
    const result = await next(request);
    this.store(key, result, ttlMs);
    return { result, cache: "miss" };
  }

  private fromMemory(key: string): CachedAnswer | undefined {
    const value = this.memory.get(key);
    let answer: CachedAnswer | undefined;
    if (value !== undefined) {
      answer = this.decode(value);
      if (answer === undefined) this.memory.delete(key);
    }
    // A get may have dropped an expired entry.
    this.reportBytes();
    return answer;
  }

  private store(key: string, result: BackendResult, ttlMs: number): void {
    // Answer parameters are not kept: a hit would answer without them, so such answers stay out.
    if (result.parameters !== undefined || result.outputParameters !== undefined) return;
    let value: Buffer;
    try {
      value = encodeAnswer({ outputs: result.outputs, modelVersion: result.modelVersion });
    } catch (err) {
      this.logger?.warn({ err }, "response cache: answer not storable, not cached");
      return;
    }
    this.memory.set(key, value, { ttl: ttlMs });
    this.reportBytes();
    this.redis?.set(key, value, ttlMs);
  }

  /** A stored value as an answer; undefined (a miss) when it is damaged or of another format. */
  private decode(value: Buffer): CachedAnswer | undefined {
    try {
      return decodeAnswer(value);
    } catch (err) {
      if (!this.warnedUndecodable) {
        this.warnedUndecodable = true;
        this.logger?.warn(
          { err },
          "response cache: undecodable cached values are treated as misses",
        );
      }
      return undefined;
    }
  }

  private reportBytes(): void {
    const bytes = this.memory.calculatedSize;
    if (bytes === this.reportedBytes) return;
    this.reportedBytes = bytes;
    this.onBytes?.(bytes);
  }
}
