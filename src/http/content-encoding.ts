/**
 * HTTP body compression, as Triton's HTTP endpoint does it: tritonclient's
 * `request_compression_algorithm="gzip"|"deflate"` compresses the whole body (JSON header and
 * binary tensors; `Inference-Header-Content-Length` still counts the uncompressed JSON) and sends
 * `Content-Encoding`; `response_compression_algorithm` sends `Accept-Encoding` and the client
 * inflates by the response's `Content-Encoding`.
 *
 * Inflating runs on libuv's thread pool (the async zlib API), never on the event loop, and stops at
 * the body limit: a small compressed body cannot expand past `server.bodyLimitBytes`.
 */
import { promisify } from "node:util";
import * as zlib from "node:zlib";
import { InvalidRequestError, PayloadTooLargeError } from "../errors.js";

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);
const brotliDecompress = promisify(zlib.brotliDecompress);
const gzip = promisify(zlib.gzip);
const deflate = promisify(zlib.deflate);

/** Response encodings the gateway produces. */
export type ResponseEncoding = "gzip" | "deflate";

/** Responses smaller than this are sent as they are: compressing them saves nothing. */
export const MIN_COMPRESS_BYTES = 1024;

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

async function inflateOnce(
  coding: string,
  bytes: Uint8Array,
  options: zlib.ZlibOptions,
): Promise<Buffer> {
  switch (coding) {
    case "gzip":
    case "x-gzip":
      return gunzip(bytes, options);
    case "deflate":
      try {
        return await inflate(bytes, options);
      } catch (err) {
        // "deflate" means zlib-wrapped (RFC 9110), but some clients send a raw deflate stream.
        if (errorCode(err) !== "Z_DATA_ERROR") throw err;
        return inflateRaw(bytes, options);
      }
    case "br":
      return brotliDecompress(bytes, { maxOutputLength: options.maxOutputLength });
    default:
      throw new InvalidRequestError(
        `unsupported Content-Encoding "${coding}" (the gateway accepts gzip, deflate, br or identity)`,
      );
  }
}

/**
 * The body with its `Content-Encoding` undone (several codings are undone last first). A body
 * that does not inflate is INVALID_REQUEST; one that inflates past `maxBytes` is PAYLOAD_TOO_LARGE.
 */
export async function decodeRequestBody(
  bytes: Uint8Array,
  contentEncoding: string | undefined,
  maxBytes: number,
): Promise<Uint8Array> {
  if (contentEncoding === undefined) return bytes;
  const codings = contentEncoding
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
  // Two codings are already unusual; more is an attack or a bug, not a client to serve.
  if (codings.length > 2) {
    throw new InvalidRequestError(`Content-Encoding "${contentEncoding}" stacks too many codings`);
  }
  const options: zlib.ZlibOptions = Number.isFinite(maxBytes)
    ? { maxOutputLength: Math.max(1, Math.floor(maxBytes)) }
    : {};
  let body = bytes;
  for (const coding of codings.reverse()) {
    try {
      body = await inflateOnce(coding, body, options);
    } catch (err) {
      if (err instanceof InvalidRequestError) throw err;
      if (errorCode(err) === "ERR_BUFFER_TOO_LARGE") throw new PayloadTooLargeError(maxBytes);
      const reason = err instanceof Error ? err.message : String(err);
      throw new InvalidRequestError(`the body is not valid ${coding} data: ${reason}`, {
        cause: err,
      });
    }
  }
  return body;
}

/**
 * The encoding to answer in for an `Accept-Encoding` header: gzip or deflate, whichever has the
 * higher q-value (gzip on a tie or for `*`); undefined when the client accepts neither.
 */
export function preferredEncoding(
  acceptEncoding: string | undefined,
): ResponseEncoding | undefined {
  if (acceptEncoding === undefined) return undefined;
  const q: Record<string, number> = {};
  for (const part of acceptEncoding.split(",").slice(0, 32)) {
    const [name = "", ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    let value = 1;
    for (const param of params) {
      const match = /^q=([0-9.]+)$/.exec(param);
      if (match?.[1] !== undefined) value = Number(match[1]);
    }
    if (name !== "" && Number.isFinite(value)) q[name] = value;
  }
  const star = q["*"] ?? 0;
  const gzipQ = q.gzip ?? q["x-gzip"] ?? star;
  const deflateQ = q.deflate ?? star;
  if (gzipQ <= 0 && deflateQ <= 0) return undefined;
  return gzipQ >= deflateQ ? "gzip" : "deflate";
}

/** `body` compressed with `encoding` (zlib-wrapped for deflate, as HTTP means it). */
export async function encodeResponseBody(
  body: Uint8Array,
  encoding: ResponseEncoding,
): Promise<Uint8Array<ArrayBuffer>> {
  const out = encoding === "gzip" ? await gzip(body) : await deflate(body);
  // zlib may hand back a view of a shared pool; the response gets its own exact-size copy.
  return new Uint8Array(out);
}
