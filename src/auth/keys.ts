/**
 * API keys: the config keeps only each key's SHA-256, so a leaked config file leaks no key. A
 * presented key is hashed and compared with every configured hash in constant time, so the
 * answer's timing says nothing about how close a guess was.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { AuthKeyConfig } from "./schema.js";

/** The configured keys, ready for lookup. */
export class KeyStore {
  readonly #keys: { hash: Buffer; config: AuthKeyConfig }[];

  constructor(keys: readonly AuthKeyConfig[]) {
    this.#keys = keys.map((config) => ({ hash: Buffer.from(config.hash, "hex"), config }));
  }

  /** The configured key whose hash matches `presented`, or undefined. */
  find(presented: string): AuthKeyConfig | undefined {
    const digest = createHash("sha256").update(presented, "utf8").digest();
    let found: AuthKeyConfig | undefined;
    // Every entry is compared, matched or not, so the time does not depend on the position.
    for (const key of this.#keys) {
      if (timingSafeEqual(digest, key.hash) && found === undefined) found = key.config;
    }
    return found;
  }
}

/** The sha256 hex of a key, the form the config's `hash` takes. */
export function hashKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}
