/**
 * The response cache's key: SHA-256 over a canonical, length-framed encoding of everything that
 * decides an answer.
 *
 * Collisions: the cache keeps only this digest, not the request it came from, so two requests
 * with the same digest would share an answer. That is a deliberate decision: finding any SHA-256
 * collision costs about 2^128 work (none is known), far below the odds of a memory or disk error,
 * and storing and comparing whole requests would double the cache's memory and Redis traffic.
 * What the encoding itself guarantees is that two different requests never produce the same
 * hashed bytes: every variable-length field is preceded by its length, so no two requests collide
 * by concatenation (inputs "ab"+"c" and "a"+"bc" hash different bytes).
 */
import { createHash, type Hash } from "node:crypto";
import { DATATYPES, type NamedTensor, tensorToRaw } from "../tensor/index.js";

/** Versions the encoding: a change to it must never reuse keys written by the old one. */
const DOMAIN = "infergate/response-cache/key/v1";

/** Code-unit order, the same in every locale (localeCompare is not). */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The cache key of one request to one target: 64 lowercase hex digits.
 *
 * `namespace` identifies model, resolved version and target; `outputs` are the requested output
 * names (undefined = all, which differs from any explicit list); inputs count with their name,
 * datatype, shape and little-endian bytes. Requested outputs and inputs are sorted by name first,
 * so their order in the request does not matter.
 */
export function cacheKey(
  namespace: string,
  outputs: readonly string[] | undefined,
  inputs: readonly NamedTensor[],
): string {
  const hash = createHash("sha256");
  writeString(hash, DOMAIN);
  writeString(hash, namespace);
  if (outputs === undefined) {
    writeNumber(hash, 0);
  } else {
    writeNumber(hash, 1);
    writeNumber(hash, outputs.length);
    for (const name of [...outputs].sort(byName)) writeString(hash, name);
  }
  writeNumber(hash, inputs.length);
  // Array.prototype.sort is stable, so inputs sharing a name keep their request order.
  for (const input of [...inputs].sort((a, b) => byName(a.name, b.name))) {
    writeString(hash, input.name);
    writeNumber(hash, DATATYPES.indexOf(input.datatype));
    writeNumber(hash, input.shape.length);
    for (const dim of input.shape) writeNumber(hash, dim);
    const raw = tensorToRaw(input);
    writeNumber(hash, raw.byteLength);
    hash.update(raw);
  }
  return hash.digest("hex");
}

/**
 * The namespace of one tenant's entries: the tenant "" (no auth, or a shared cache) keeps the
 * namespace as it is, so turning auth on never reuses another tenant's keys and turning it off
 * keeps the existing ones.
 */
export function tenantScope(namespace: string, tenant: string): string {
  return tenant === "" ? namespace : JSON.stringify(["tenant", tenant, namespace]);
}

/** A number as 8 little-endian bytes: fixed width, and exact for every integer below 2^53. */
function writeNumber(hash: Hash, value: number): void {
  const bytes = Buffer.allocUnsafe(8);
  bytes.writeDoubleLE(value, 0);
  hash.update(bytes);
}

/**
 * A string as its UTF-16 code units, length first. Not UTF-8: that turns every lone surrogate
 * into U+FFFD, so names differing only in one would hash alike.
 */
function writeString(hash: Hash, value: string): void {
  const bytes = Buffer.from(value, "utf16le");
  writeNumber(hash, bytes.byteLength);
  hash.update(bytes);
}
