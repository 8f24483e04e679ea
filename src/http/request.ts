/**
 * Request helpers shared by the unified and the KServe v2 routes: reading the body, the per-request
 * context handed to the service, and the prediction response headers.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import type { Context } from "hono";
import { GatewayError, InvalidRequestError } from "../errors.js";
import type { InferResponse, RequestContext } from "../gateway/types.js";
import { CHUNK_ELEMENTS } from "../tensor/json-chunks.js";
import { scanJson } from "../tensor/json-scan.js";
import { parseJsonSlow } from "../tensor/json-text.js";
import { DEFAULT_LIMITS, type DecodeLimits } from "../tensor/limits.js";
import type { Tensor } from "../tensor/types.js";
import { readLimitedBody } from "./body-limit.js";
import {
  decodeRequestBody,
  encodeResponseBody,
  MIN_COMPRESS_BYTES,
  preferredEncoding,
} from "./content-encoding.js";
import type { AppEnv } from "./deps.js";
import { withEdgeHeaders } from "./request-id.js";
import { scopeOf } from "./scope.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const TIMEOUT_HEADER = "x-infergate-timeout-ms";
// A week: anything longer is a typo, and Date arithmetic stays exact.
const MAX_TIMEOUT_MS = 7 * 24 * 3600 * 1000;

/**
 * The request body as bytes, its `Content-Encoding` undone; bounded by the body limit before and
 * after inflating.
 */
export async function readBodyBytes(c: Context<AppEnv>): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await readLimitedBody(c);
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    // A client that hangs up mid-upload is not a gateway bug: no INTERNAL, no error-level log.
    throw new InvalidRequestError(
      "the request body could not be read (client closed the connection?)",
      {
        cause: err,
      },
    );
  }
  const maxBytes = c.get("bodyLimit") ?? Number.POSITIVE_INFINITY;
  return decodeRequestBody(bytes, c.req.header("content-encoding"), maxBytes);
}

/**
 * A 200 answer of `body` with `headers` (from {@link predictionHeaders}), compressed when the
 * client's `Accept-Encoding` asks for gzip or deflate and the body is big enough to gain from it (as
 * Triton answers tritonclient's `response_compression_algorithm`).
 *
 * The headers stay a plain object, never a web `Headers`: under @hono/node-server such a response
 * is written with one `writeHead`, without building and sorting a `Headers` per request.
 */
export async function predictionBody(
  c: Context<AppEnv>,
  body: Uint8Array<ArrayBuffer> | string,
  headers: Record<string, string>,
): Promise<Response> {
  const encoding = preferredEncoding(c.req.header("accept-encoding"));
  if (encoding === undefined) return new Response(body, { status: 200, headers });
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  if (bytes.byteLength < MIN_COMPRESS_BYTES) return new Response(bytes, { status: 200, headers });
  const compressed = await encodeResponseBody(bytes, encoding);
  return new Response(compressed, {
    status: 200,
    headers: { ...headers, "content-encoding": encoding },
  });
}

/**
 * Parses a JSON body within `limits` (see docs/tensors.md "Limits"): a byte pre-scan refuses a
 * body nested too deep or holding too many values before anything is parsed; then JSON.parse, or
 * the exact parser when the body holds an integer literal too long for a double or a `NaN` /
 * `Infinity` token (those keep their exact values). Malformed JSON is INVALID_REQUEST.
 */
export function parseJson(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_LIMITS): unknown {
  const { exact } = scanJson(bytes, limits);
  const text = decoder.decode(bytes);
  try {
    return exact ? parseJsonSlow(text, limits.maxJsonDepth).value : JSON.parse(text);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new InvalidRequestError(`malformed JSON body: ${detail}`);
  }
}

/**
 * Bodies at least this big take a turn of the event loop after each costly step (parse, tensor
 * decoding), so that a large request lets the others waiting run in between its steps.
 */
const LARGE_BODY_BYTES = 256 * 1024;

/** Lets other requests run once after a costly step on a body of `bytes` (large bodies only). */
export async function yieldAfter(bytes: number): Promise<void> {
  if (bytes >= LARGE_BODY_BYTES) await nextTurn();
}

/** Lets other requests run once after decoding inputs of many elements (large requests only). */
export async function yieldAfterInputs(inputs: readonly Tensor[]): Promise<void> {
  let elements = 0;
  for (const input of inputs) elements += input.data.length;
  if (elements >= CHUNK_ELEMENTS) await nextTurn();
}

/** The body parsed as JSON within `limits` (see {@link parseJson}). */
export async function readJsonBody(
  c: Context<AppEnv>,
  limits: DecodeLimits = DEFAULT_LIMITS,
): Promise<unknown> {
  const bytes = await readBodyBytes(c);
  const json = parseJson(bytes, limits);
  await yieldAfter(bytes.byteLength);
  return json;
}

/**
 * The service's view of this request: request id, header lookup, client abort signal and the
 * optional `x-infergate-timeout-ms` deadline.
 */
export function requestContext(c: Context<AppEnv>): RequestContext {
  const controller = clientController(c);
  const context: RequestContext = {
    requestId: c.get("requestId"),
    header: (name) => c.req.header(name),
    signal: controller?.signal ?? c.req.raw.signal,
    scope: scopeOf(c),
  };
  if (controller !== undefined) context.controller = controller;
  const timeout = c.req.header(TIMEOUT_HEADER);
  if (timeout !== undefined) {
    const ms = /^\s*\d+\s*$/.test(timeout) ? Number(timeout) : Number.NaN;
    if (!(ms > 0 && ms <= MAX_TIMEOUT_MS)) {
      throw new InvalidRequestError(
        `${TIMEOUT_HEADER} must be a whole number of milliseconds between 1 and ${MAX_TIMEOUT_MS}`,
      );
    }
    context.clientDeadline = Date.now() + ms;
  }
  return context;
}

/**
 * The headers of a successful prediction: `content-type`, the `x-infergate-*` headers, `vary`
 * (the body depends on `Accept-Encoding`) and the request id, which the request-id middleware
 * then leaves alone.
 */
export function predictionHeaders(
  c: Context<AppEnv>,
  response: InferResponse,
  contentType: string,
): Record<string, string> {
  const headers: Record<string, string> = {
    "content-type": contentType,
    "x-infergate-version": response.version,
    "x-infergate-backend": response.backend,
    "x-infergate-cache": response.cache,
    vary: "accept-encoding",
  };
  if (response.fallback) headers["x-infergate-fallback"] = "true";
  return withEdgeHeaders(c, headers);
}

/**
 * Aborts when the client goes away before its answer is sent. Under Node it listens on the
 * response directly (no web Request is built); in `app.request()` tests there is none, and the
 * Request's signal serves.
 */
function clientController(c: Context<AppEnv>): AbortController | undefined {
  const outgoing = c.env?.outgoing;
  if (outgoing === undefined) return undefined;
  const controller = new AbortController();
  outgoing.once("close", () => {
    if (!outgoing.writableFinished) controller.abort();
  });
  return controller;
}
