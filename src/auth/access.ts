/**
 * Access control for every front (docs/access.md): who is calling (key or JWT), whether they may
 * use the model, and the rate limits. Built on a config getter, so a reload's new keys apply to the
 * next request while the limit counters carry over.
 */

import type { Redis } from "ioredis";
import type { GatewayConfig } from "../config/schema.js";
import {
  PermissionDeniedError,
  RateLimitedError,
  type RateLimitState,
  UnauthenticatedError,
} from "../errors.js";
import { connectRedis } from "../redis/connect.js";
import { matchesAny } from "./globs.js";
import { JwtVerifier, TokenRejectedError } from "./jwt.js";
import { KeyStore } from "./keys.js";
import type { Principal } from "./principal.js";
import { LimitFamily, type LimitStore } from "./rate-limit.js";
import type { AuthConfig } from "./schema.js";

/** The credentials a request carries (either header may be absent). */
export interface Credentials {
  /** The `authorization` header or metadata value. */
  authorization?: string | undefined;
  /** The `x-api-key` header or metadata value. */
  apiKey?: string | undefined;
}

/** The caller when auth is off: one shared tenant "", allowed everything. */
export const ANONYMOUS: Principal = { tenant: "", admin: true, models: undefined, via: "key" };

/** Minimal logger (pino's signature). */
export interface AccessLogger {
  warn(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

interface Snapshot {
  keys: KeyStore;
  jwt: JwtVerifier | undefined;
}

const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/;

/** Authentication, model permission and rate limits on the current config. */
export class AccessControl {
  readonly #config: () => GatewayConfig;
  readonly #logger: AccessLogger | undefined;
  readonly #snapshots = new WeakMap<AuthConfig, Snapshot>();
  readonly #store: LimitStore;
  #redis: Redis | undefined;
  readonly #perKey: LimitFamily;
  readonly #perModel: LimitFamily;
  readonly #failures: LimitFamily;

  constructor(config: () => GatewayConfig, logger?: AccessLogger) {
    this.#config = config;
    this.#logger = logger;
    const redis = config().redis;
    // Connected only once a limit is used, so a gateway without limits opens no connection.
    this.#store = {
      redis: () => {
        if (redis === undefined) return undefined;
        if (this.#redis === undefined) {
          this.#redis = connectRedis(redis.url, 200);
          // Without a listener ioredis prints every failed reconnect; the insurance limiter covers.
          this.#redis.on("error", () => {});
        }
        return this.#redis;
      },
      keyPrefix: `${redis?.keyPrefix ?? "infergate:"}rl:`,
    };
    // With limits configured, connect now: the first requests then already count in Redis.
    if (config().auth !== undefined || config().rateLimits !== undefined) this.#store.redis();
    this.#perKey = new LimitFamily("key", this.#store);
    this.#perModel = new LimitFamily("model", this.#store);
    this.#failures = new LimitFamily("fail", this.#store, { fixedWindow: true });
  }

  /** True when `auth` is configured. */
  get enabled(): boolean {
    return this.#config().auth !== undefined;
  }

  /** True when `path` is open without a key (auth off, or listed in `auth.public`). */
  isPublic(path: string): boolean {
    const auth = this.#config().auth;
    if (auth === undefined) return true;
    return auth.public.some((p) =>
      p.endsWith("*") ? path.startsWith(p.slice(0, -1)) : p === path,
    );
  }

  /**
   * The caller behind `credentials`, after the per-key rate limit. Throws UnauthenticatedError,
   * or RateLimitedError when the key is over its limit or `address` failed too often.
   */
  async authenticate(
    credentials: Credentials,
    address: string,
  ): Promise<{ principal: Principal; limit: RateLimitState | undefined }> {
    const auth = this.#config().auth;
    if (auth === undefined) return { principal: ANONYMOUS, limit: undefined };
    // A blocked address is refused before its key is checked, so guessing learns nothing.
    const blocked = await this.#failures.exhausted(address, auth.failedAttempts);
    if (blocked !== undefined) {
      throw new RateLimitedError("too many failed authentications", blocked);
    }
    const token = presented(credentials);
    const found = token === undefined ? undefined : await this.#identify(auth, token);
    if (found === undefined) {
      await this.#failures.take(address, auth.failedAttempts, "failed authentications");
      throw new UnauthenticatedError(
        token === undefined ? "missing credentials" : "invalid credentials",
      );
    }
    const limit =
      found.rateLimit === undefined
        ? undefined
        : await this.#perKey.take(found.principal.tenant, found.rateLimit, "this key");
    return { principal: found.principal, limit };
  }

  /** Throws PermissionDeniedError unless `principal` may use `model`. */
  checkModel(principal: Principal, model: string): void {
    if (!matchesAny(principal.models, model)) {
      throw new PermissionDeniedError(`this key may not use model "${model}"`);
    }
  }

  /** Takes one request from `model`'s limit (`rateLimits.models`); RateLimitedError when spent. */
  async limitModel(model: string): Promise<RateLimitState | undefined> {
    const limit = this.#config().rateLimits?.models[model];
    if (limit === undefined) return undefined;
    return this.#perModel.take(model, limit, `model "${model}"`);
  }

  /** Disconnects from Redis. */
  async close(): Promise<void> {
    await this.#redis?.quit().catch(() => undefined);
  }

  async #identify(
    auth: AuthConfig,
    token: string,
  ): Promise<
    { principal: Principal; rateLimit: AuthConfig["keys"][number]["rateLimit"] } | undefined
  > {
    const snapshot = this.#snapshot(auth);
    if (snapshot.jwt !== undefined && JWT_SHAPE.test(token)) {
      try {
        const principal = await snapshot.jwt.verify(token);
        return { principal, rateLimit: auth.jwt?.rateLimit };
      } catch (err) {
        if (!(err instanceof TokenRejectedError)) throw err;
        this.#logger?.debug?.({ reason: err.message }, "token rejected");
        return undefined;
      }
    }
    const key = snapshot.keys.find(token);
    if (key === undefined) return undefined;
    const principal: Principal = {
      tenant: key.id,
      admin: key.admin,
      models: key.models,
      via: "key",
    };
    return { principal, rateLimit: key.rateLimit };
  }

  #snapshot(auth: AuthConfig): Snapshot {
    let found = this.#snapshots.get(auth);
    if (found === undefined) {
      found = {
        keys: new KeyStore(auth.keys),
        jwt: auth.jwt === undefined ? undefined : new JwtVerifier(auth.jwt),
      };
      this.#snapshots.set(auth, found);
    }
    return found;
  }
}

/** The key or token of `Authorization: Bearer …`, else of `x-api-key`. */
function presented(credentials: Credentials): string | undefined {
  const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(credentials.authorization ?? "");
  const value = bearer?.[1] ?? credentials.apiKey?.trim();
  return value === undefined || value === "" || value.length > 8192 ? undefined : value;
}
