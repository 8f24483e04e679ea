/**
 * Authenticates the response cache's Redis values: each value is stored with an HMAC-SHA256 tag
 * over its key and bytes, so a value written by anyone without the key (someone with access to
 * Redis, another application sharing it) or moved to another key is a miss, never an answer.
 * See docs/backends.md "Cache integrity" for the key's sources and default.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** Bytes of the tag appended to every value. */
export const TAG_BYTES = 32;

/** The environment variable read when the config sets no `redis.cacheHmacKey`. */
export const HMAC_KEY_ENV = "INFERGATE_CACHE_HMAC_KEY";

/** Where the HMAC key came from; `derived` is not secret (see resolveHmacKey). */
export type HmacKeySource = "config" | "env" | "derived";

/**
 * The HMAC key for a Redis cache: `redis.cacheHmacKey`, else the environment variable, else one
 * derived from the Redis URL and key prefix. The derived key lets gateways with the same config
 * share the cache with no setup, and still refuses values written under another URL or prefix or
 * by a plain `SET`, but anyone who reads the config can compute it: it is not a secret.
 */
export function resolveHmacKey(
  redis: { url: string; keyPrefix: string; cacheHmacKey?: string | undefined },
  env: Readonly<Record<string, string | undefined>> = process.env,
): { key: Buffer; source: HmacKeySource } {
  if (redis.cacheHmacKey !== undefined) {
    return { key: Buffer.from(redis.cacheHmacKey, "utf8"), source: "config" };
  }
  const fromEnv = env[HMAC_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== "") {
    return { key: Buffer.from(fromEnv, "utf8"), source: "env" };
  }
  const derived = createHash("sha256")
    .update("infergate response cache HMAC key v1\0")
    .update(redis.url)
    .update("\0")
    .update(redis.keyPrefix)
    .digest();
  return { key: derived, source: "derived" };
}

/** Signs and checks the values of one Redis tier. */
export class ValueMac {
  constructor(private readonly key: Buffer) {}

  /** `value` followed by its tag for `fullKey` (the Redis key, prefix included). */
  seal(fullKey: string, value: Buffer): Buffer {
    return Buffer.concat([value, this.tag(fullKey, value)]);
  }

  /** The value inside `stored` when its tag matches `fullKey` and its bytes; else undefined. */
  open(fullKey: string, stored: Buffer): Buffer | undefined {
    if (stored.length < TAG_BYTES) return undefined;
    const value = stored.subarray(0, stored.length - TAG_BYTES);
    const tag = stored.subarray(stored.length - TAG_BYTES);
    return timingSafeEqual(tag, this.tag(fullKey, value)) ? value : undefined;
  }

  private tag(fullKey: string, value: Buffer): Buffer {
    const keyBytes = Buffer.from(fullKey, "utf8");
    const length = Buffer.alloc(4);
    length.writeUInt32BE(keyBytes.length);
    // The key's length first, so no (key, value) pair reads as another with a shifted boundary.
    return createHmac("sha256", this.key).update(length).update(keyBytes).update(value).digest();
  }
}
