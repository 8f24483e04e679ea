/**
 * Rate limits through rate-limiter-flexible: per key (tenant), per model over every tenant, and
 * failed authentications per client address. With `redis` the counters live there, so replicas
 * share one budget; while Redis is unreachable each process falls back to its own in-memory
 * counters (an insurance limiter) instead of failing requests.
 *
 * Each limit is `requestsPerSecond` per one-second window; a `burst` above it adds that many more
 * requests per minute (a BurstyRateLimiter), so a quiet client may spike and a busy one still
 * averages close to the rate (docs/access.md "Rate limits").
 */
import type { Redis } from "ioredis";
import {
  BurstyRateLimiter,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from "rate-limiter-flexible";
import { RateLimitedError, type RateLimitState } from "../errors.js";
import type { RateLimitConfig } from "./schema.js";

const BURST_WINDOW_SECONDS = 60;

type Limiter = RateLimiterMemory | RateLimiterRedis | BurstyRateLimiter;

/** Where limit counters are kept. */
export interface LimitStore {
  /** The Redis client, connected on first use; undefined = count in memory. */
  redis: () => Redis | undefined;
  /** Prefix of every Redis key (the config's `redis.keyPrefix` plus `rl:`). */
  keyPrefix: string;
}

/** One family of limits (per key, per model, per address), one limiter per distinct setting. */
export class LimitFamily {
  readonly #name: string;
  readonly #store: LimitStore;
  readonly #limiters = new Map<string, { limiter: Limiter; limit: number }>();

  readonly #fixedWindow: boolean;

  /**
   * `fixedWindow`: one window of `burst` requests per `burst / requestsPerSecond` seconds instead
   * of the bursty pair, so {@link exhausted} can read the budget without spending it.
   */
  constructor(name: string, store: LimitStore, options: { fixedWindow?: boolean } = {}) {
    this.#name = name;
    this.#store = store;
    this.#fixedWindow = options.fixedWindow ?? false;
  }

  /**
   * Takes one request from `id`'s budget under `config`; the state after it. Throws
   * RateLimitedError (with the state) when the budget is spent.
   */
  async take(id: string, config: RateLimitConfig, what: string): Promise<RateLimitState> {
    const { limiter, limit } = this.#limiter(config);
    try {
      const res = await limiter.consume(id, 1);
      return stateOf(res, limit);
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        const state = stateOf(err, limit);
        throw new RateLimitedError(`rate limit of ${what} exceeded`, {
          ...state,
          resetSeconds: Math.max(1, state.resetSeconds),
        });
      }
      throw err;
    }
  }

  /** True when `id` has no budget left (without taking any). */
  async exhausted(id: string, config: RateLimitConfig): Promise<RateLimitState | undefined> {
    const { limiter, limit } = this.#limiter(config);
    const base = limiter instanceof BurstyRateLimiter ? undefined : limiter;
    const res = base === undefined ? null : await base.get(id).catch(() => null);
    if (res === null || res.remainingPoints > 0) return undefined;
    const state = stateOf(res, limit);
    return { ...state, resetSeconds: Math.max(1, state.resetSeconds) };
  }

  #limiter(config: RateLimitConfig): { limiter: Limiter; limit: number } {
    const burst = Math.max(config.burst ?? config.requestsPerSecond, config.requestsPerSecond);
    const setting = `${config.requestsPerSecond}/${burst}`;
    let found = this.#limiters.get(setting);
    if (found === undefined && this.#fixedWindow) {
      const window = Math.max(1, Math.ceil(burst / config.requestsPerSecond));
      found = { limiter: this.#make(`${setting}:w:`, burst, window), limit: burst };
      this.#limiters.set(setting, found);
    }
    if (found === undefined) {
      const main = this.#make(`${setting}:`, config.requestsPerSecond, 1);
      const extra = burst - config.requestsPerSecond;
      const limiter =
        extra > 0
          ? new BurstyRateLimiter(main, this.#make(`${setting}:b:`, extra, BURST_WINDOW_SECONDS))
          : main;
      found = { limiter, limit: burst };
      this.#limiters.set(setting, found);
    }
    return found;
  }

  #make(suffix: string, points: number, duration: number): RateLimiterMemory | RateLimiterRedis {
    const keyPrefix = `${this.#store.keyPrefix}${this.#name}:${suffix}`;
    const memory = new RateLimiterMemory({ points, duration, keyPrefix });
    const redis = this.#store.redis();
    if (redis === undefined) return memory;
    return new RateLimiterRedis({
      storeClient: redis,
      points,
      duration,
      keyPrefix,
      insuranceLimiter: memory,
    });
  }
}

function stateOf(res: RateLimiterRes, limit: number): RateLimitState {
  return {
    limit,
    remaining: Math.max(0, Math.min(limit, Math.floor(res.remainingPoints))),
    resetSeconds: Math.max(0, Math.ceil(res.msBeforeNext / 1000)),
  };
}

/** The `RateLimit-*` header values of a state (integers; reset in seconds). */
export function rateLimitHeaders(state: RateLimitState): [string, string][] {
  return [
    ["ratelimit-limit", String(state.limit)],
    ["ratelimit-remaining", String(state.remaining)],
    ["ratelimit-reset", String(state.resetSeconds)],
  ];
}
