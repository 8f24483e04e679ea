/**
 * Request id middleware: echoes a sane client `x-request-id`, else generates one, and puts it on
 * every response. Predictions and errors write it into their own headers (and say so with
 * `requestIdSent`); any other answer gets it here, after the handler. Not with `c.header()` before
 * the handler: that makes Hono build a web `Headers` for every request, and a prediction's
 * response then goes through it too (profiling showed the Headers' allocation and sorting on the
 * hot path); predictions instead answer with plain header objects that @hono/node-server hands
 * straight to `writeHead`.
 */
import type { MiddlewareHandler } from "hono";
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
