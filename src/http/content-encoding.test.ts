import {
  brotliCompressSync,
  deflateRawSync,
  deflateSync,
  gunzipSync,
  gzipSync,
  inflateSync,
} from "node:zlib";
import { describe, expect, it } from "vitest";
import { InvalidRequestError, PayloadTooLargeError } from "../errors.js";
import { decodeRequestBody, encodeResponseBody, preferredEncoding } from "./content-encoding.js";

const text = JSON.stringify({
  inputs: [{ name: "x", shape: [1000], datatype: "FP32", data: Array(1000).fill(0.5) }],
});
const plain = new TextEncoder().encode(text);
const decode = (bytes: Uint8Array, encoding: string | undefined, max = 1 << 20) =>
  decodeRequestBody(bytes, encoding, max).then((b) => new TextDecoder().decode(b));

describe("decodeRequestBody", () => {
  it("passes a body without Content-Encoding, or with identity, through", async () => {
    expect(await decodeRequestBody(plain, undefined, 10)).toBe(plain);
    expect(await decode(plain, "identity")).toBe(text);
  });

  it("inflates gzip, zlib deflate, raw deflate and brotli (case-insensitive)", async () => {
    expect(await decode(gzipSync(plain), "gzip")).toBe(text);
    expect(await decode(gzipSync(plain), "X-GZIP")).toBe(text);
    expect(await decode(deflateSync(plain), "deflate")).toBe(text);
    expect(await decode(deflateRawSync(plain), "Deflate")).toBe(text);
    expect(await decode(brotliCompressSync(plain), "br")).toBe(text);
  });

  it("undoes stacked codings last first", async () => {
    expect(await decode(gzipSync(deflateSync(plain)), "deflate, gzip")).toBe(text);
    await expect(decode(plain, "gzip, gzip, gzip")).rejects.toBeInstanceOf(InvalidRequestError);
  });

  it("refuses a body that inflates past the limit (a zip bomb) with PAYLOAD_TOO_LARGE", async () => {
    const bomb = gzipSync(new Uint8Array(50 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(100 * 1024);
    const err = await decodeRequestBody(bomb, "gzip", 1024 * 1024).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    // Exactly at the limit is fine.
    expect((await decodeRequestBody(gzipSync(plain), "gzip", plain.length)).length).toBe(
      plain.length,
    );
  });

  it("answers corrupt data and unknown codings with INVALID_REQUEST", async () => {
    const corrupt = await decodeRequestBody(plain, "gzip", 1 << 20).catch((e: unknown) => e);
    expect(corrupt).toBeInstanceOf(InvalidRequestError);
    expect((corrupt as Error).message).toMatch(/not valid gzip data/);
    const truncated = gzipSync(plain).subarray(0, 30);
    await expect(decodeRequestBody(truncated, "gzip", 1 << 20)).rejects.toBeInstanceOf(
      InvalidRequestError,
    );
    await expect(decodeRequestBody(plain, "deflate", 1 << 20)).rejects.toBeInstanceOf(
      InvalidRequestError,
    );
    const unknown = await decodeRequestBody(plain, "compress", 1 << 20).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(InvalidRequestError);
    expect((unknown as Error).message).toMatch(/unsupported Content-Encoding "compress"/);
  });
});

describe("preferredEncoding", () => {
  it.each([
    [undefined, undefined],
    ["", undefined],
    ["identity", undefined],
    ["br", undefined],
    ["gzip", "gzip"],
    ["deflate", "deflate"],
    ["gzip, deflate, br", "gzip"],
    ["gzip;q=0.5, deflate", "deflate"],
    ["deflate;q=0.9, gzip;q=0.9", "gzip"],
    ["gzip;q=0", undefined],
    ["*", "gzip"],
    ["*;q=0.1, gzip;q=0", "deflate"],
    ["GZIP ; Q=1", "gzip"],
  ])("Accept-Encoding %j -> %j", (header, expected) => {
    expect(preferredEncoding(header)).toBe(expected);
  });
});

describe("encodeResponseBody", () => {
  it("produces gzip and zlib-wrapped deflate that standard inflaters read", async () => {
    expect(gunzipSync(await encodeResponseBody(plain, "gzip")).toString()).toBe(text);
    expect(inflateSync(await encodeResponseBody(plain, "deflate")).toString()).toBe(text);
  });
});
