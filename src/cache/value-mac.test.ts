import { describe, expect, it } from "vitest";
import { HMAC_KEY_ENV, resolveHmacKey, TAG_BYTES, ValueMac } from "./value-mac.js";

const redis = { url: "redis://127.0.0.1:6379", keyPrefix: "infergate:" };

describe("ValueMac", () => {
  const mac = new ValueMac(Buffer.from("0123456789abcdef"));
  const value = Buffer.from("answer bytes");

  it("opens what it sealed for the same key", () => {
    const sealed = mac.seal("k1", value);
    expect(sealed.length).toBe(value.length + TAG_BYTES);
    expect(mac.open("k1", sealed)?.toString()).toBe("answer bytes");
  });

  it("refuses a changed byte, another key, another HMAC key and a short value", () => {
    const sealed = mac.seal("k1", value);
    const flipped = Buffer.from(sealed);
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(mac.open("k1", flipped)).toBeUndefined();
    expect(mac.open("k2", sealed)).toBeUndefined();
    expect(new ValueMac(Buffer.from("another key 0123")).open("k1", sealed)).toBeUndefined();
    expect(mac.open("k1", Buffer.alloc(TAG_BYTES - 1))).toBeUndefined();
    expect(mac.open("k1", value)).toBeUndefined();
  });

  it("binds the key's length: moving bytes between key and value breaks the tag", () => {
    const tag = mac.seal("ab", Buffer.from("c")).subarray(-TAG_BYTES);
    // Same bytes "abc" overall, split differently between key and value.
    expect(mac.open("a", Buffer.concat([Buffer.from("bc"), tag]))).toBeUndefined();
    expect(mac.open("ab", Buffer.concat([Buffer.from("c"), tag]))?.toString()).toBe("c");
  });
});

describe("resolveHmacKey", () => {
  it("prefers the config, then the environment, then a key derived from URL and prefix", () => {
    const env = { [HMAC_KEY_ENV]: "from-the-environment" };
    expect(resolveHmacKey({ ...redis, cacheHmacKey: "from-the-config-1" }, env)).toEqual({
      key: Buffer.from("from-the-config-1"),
      source: "config",
    });
    expect(resolveHmacKey(redis, env)).toEqual({
      key: Buffer.from("from-the-environment"),
      source: "env",
    });
    const derived = resolveHmacKey(redis, {});
    expect(derived.source).toBe("derived");
    expect(resolveHmacKey(redis, { [HMAC_KEY_ENV]: "" }).key).toEqual(derived.key);
    expect(resolveHmacKey({ ...redis }, {}).key).toEqual(derived.key);
    expect(resolveHmacKey({ ...redis, keyPrefix: "other:" }, {}).key).not.toEqual(derived.key);
    expect(resolveHmacKey({ ...redis, url: "redis://10.0.0.1:6379" }, {}).key).not.toEqual(
      derived.key,
    );
  });
});
