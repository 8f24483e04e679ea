/**
 * Request id middleware: echoes a sane client `x-request-id`, else generates one, and puts it on
 * every response. Predictions, errors, the probes and `/metrics` write it into their own headers
 * (withEdgeHeaders, which says so with `requestIdSent`); any other answer gets it here, after the
 * handler. Not with `c.header()` before the handler: that makes Hono build a web `Headers` for
 * every request, and a prediction's response then goes through it too (profiling showed the
 * Headers' allocation and sorting on the hot path); those handlers answer with plain header
 * objects that @hono/node-server hands straight to `writeHead`.
 */
import type { Context, MiddlewareHandler } from "hono";
import { rateLimitHeaders } from "../auth/rate-limit.js";
import { pickRequestId } from "../gateway/request-id.js";
import type { AppEnv } from "./deps.js";

/** Options of {@link requestId}. */
export interface RequestIdOptions {
  /** Longest id echoed; longer ones are replaced (ids end up in logs and headers). */
  limitLength?: number;
  /** Id generator for requests without a usable id. */
  generator?: () => string;
}

const REQUEST_ID_HEADER = "x-request-id";
/** Sets `c.get("requestId")` and the `x-request-id` response header. */
export function requestId(options: RequestIdOptions = {}): MiddlewareHandler<AppEnv> {
  const limitLength = options.limitLength ?? 255;
  const generator = options.generator ?? (() => crypto.randomUUID());
  return async function requestId(c, next) {
    const id = pickRequestId(c.req.header(REQUEST_ID_HEADER), limitLength, generator);
    c.set("requestId", id);
    await next();
    if (c.get("requestIdSent") !== true) c.header(REQUEST_ID_HEADER, id);
  };
}

/**
 * Adds what the edge middleware would otherwise add after the handler — the request's id and the
 * caller's own `RateLimit-*` headers — to `headers` (a plain object the handler answers with), and
 * marks them sent so the middleware leaves the answer alone. Setting a header on an answer already
 * built makes @hono/node-server turn its light response into a web Response with a body stream:
 * that cost about 190 us per request (a probe went from about 4,000 to 10,000-14,000 req/s).
 */
export function withEdgeHeaders(
  c: Context<AppEnv>,
  headers: Record<string, string>,
): Record<string, string> {
  const id = c.get("requestId");
  if (id !== undefined) {
    headers[REQUEST_ID_HEADER] = id;
    c.set("requestIdSent", true);
  }
  const limit = c.get("keyLimit");
  if (limit !== undefined) {
    for (const [name, value] of rateLimitHeaders(limit)) headers[name] = value;
    c.set("keyLimitSent", true);
  }
  return headers;
}
