/**
 * The shared cache tier: answers in Redis, so gateway processes share hits. Redis is an
 * optimisation, never a dependency: while it is down, slow or still connecting, lookups and
 * stores are bypassed at once (no offline queue, one attempt, a short command timeout) and
 * requests go on to the backend; ioredis reconnects by itself with backoff.
 */
import type { Redis } from "ioredis";
import { connectRedis } from "../redis/connect.js";
import { ValueMac } from "./value-mac.js";

/** A pino-style logger's warn. */
export interface WarnLogger {
  warn(obj: object, msg?: string): void;
}

export interface RedisTierOptions {
  url: string;
  /** Prepended to every key. */
  keyPrefix: string;
  /** How long one command may take before its lookup or store is bypassed. Default 50 ms. */
  commandTimeoutMs?: number;
  /** After a failed command, how long to bypass Redis before trying it again. Default 1 s. */
  suspendMs?: number;
  /** Most stores in flight; stores beyond it are skipped. Default 1024. */
  maxPendingStores?: number;
  logger?: WarnLogger;
  /** Monotonic milliseconds. Default performance.now. */
  now?: () => number;
  /** Key of the HMAC over every value (value-mac.ts); a value failing it is a miss. */
  hmacKey: Buffer;
}

/** Most keys remembered as already reported for a failed HMAC (then the memory starts over). */
const MAX_REPORTED_KEYS = 1024;

/**
 * One Redis lookup: a hit with its remaining TTL (undefined: the key has none), a miss, or
 * bypassed (Redis unavailable).
 */
export type RedisLookup =
  | { result: "hit"; value: Buffer; ttlMs: number | undefined }
  | { result: "miss" }
  | { result: "bypass" };

/** The Redis tier of the response cache. */
export class RedisTier {
  private readonly client: Redis;
  private readonly prefix: string;
  private readonly suspendMs: number;
  private readonly maxPendingStores: number;
  private readonly logger: WarnLogger | undefined;
  private readonly now: () => number;
  private readonly pending = new Set<Promise<void>>();
  /** True from the first failure of an outage until Redis works again: one warning per outage. */
  private outage = false;
  private suspendedUntil = Number.NEGATIVE_INFINITY;
  private closing = false;
  private readonly mac: ValueMac;
  /** Keys whose value failed the HMAC and were logged: each is logged once (bounded). */
  private readonly reported = new Set<string>();
  private rejectedCount = 0;

  constructor(options: RedisTierOptions) {
    this.prefix = options.keyPrefix;
    this.suspendMs = options.suspendMs ?? 1000;
    this.maxPendingStores = options.maxPendingStores ?? 1024;
    this.logger = options.logger;
    this.now = options.now ?? (() => performance.now());
    this.mac = new ValueMac(options.hmacKey);
    this.client = connectRedis(options.url, options.commandTimeoutMs ?? 50);
    // Without an 'error' listener ioredis prints every failed reconnect attempt to the console.
    this.client.on("error", (err: unknown) => this.fail(err));
    this.client.on("close", () => this.fail(new Error("connection closed")));
    this.client.on("ready", () => this.recover());
  }

  /** True when commands are being sent to Redis (connected and not suspended). */
  get available(): boolean {
    return this.client.status === "ready" && this.now() >= this.suspendedUntil;
  }

  /** Looks `key` up; never rejects. */
  async get(key: string): Promise<RedisLookup> {
    if (!this.available) return { result: "bypass" };
    const full = this.prefix + key;
    try {
      // Sent back to back, so both ride one round trip.
      const [value, pttl] = await Promise.all([
        this.client.getBuffer(full),
        this.client.pttl(full),
      ]);
      this.recover();
      // PTTL -2 or 0: expired between the two commands; -1: stored without a TTL by someone else.
      if (value === null || pttl === -2 || pttl === 0) return { result: "miss" };
      const opened = this.mac.open(full, value);
      if (opened === undefined) {
        this.reject(full);
        return { result: "miss" };
      }
      return { result: "hit", value: opened, ttlMs: pttl > 0 ? pttl : undefined };
    } catch (err) {
      this.fail(err, true);
      return { result: "bypass" };
    }
  }

  /** Stores `value` under `key` for `ttlMs` in the background; never rejects. */
  set(key: string, value: Buffer, ttlMs: number): void {
    if (!this.available || this.pending.size >= this.maxPendingStores) return;
    const full = this.prefix + key;
    const store = this.client.set(full, this.mac.seal(full, value), "PX", ttlMs).then(
      () => this.recover(),
      (err: unknown) => this.fail(err, true),
    );
    this.pending.add(store);
    void store.finally(() => this.pending.delete(store));
  }

  /** Values read from Redis that failed the HMAC check (each was a miss). */
  get rejected(): number {
    return this.rejectedCount;
  }

  /** Resolves when every store started so far has finished (each is bounded by the timeout). */
  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  /** Waits for pending stores, then disconnects and stops reconnecting. */
  async close(): Promise<void> {
    this.closing = true;
    await this.settled();
    this.client.disconnect();
  }

  private fail(err: unknown, suspend = false): void {
    if (this.closing) return;
    if (suspend) this.suspendedUntil = this.now() + this.suspendMs;
    if (this.outage) return;
    this.outage = true;
    this.logger?.warn(
      { err: err instanceof Error ? err.message : String(err) },
      "redis cache unavailable: bypassing it until it is back",
    );
  }

  /** Counts a value that failed the HMAC and warns once per key (a bounded memory of keys). */
  private reject(fullKey: string): void {
    this.rejectedCount++;
    if (this.reported.has(fullKey)) return;
    if (this.reported.size >= MAX_REPORTED_KEYS) this.reported.clear();
    this.reported.add(fullKey);
    this.logger?.warn(
      { key: fullKey },
      "redis cache: a value failed its HMAC check (written by someone without the key, or by " +
        "a gateway with another redis.cacheHmacKey): treated as a miss",
    );
  }

  private recover(): void {
    this.outage = false;
    this.suspendedUntil = Number.NEGATIVE_INFINITY;
  }
}
