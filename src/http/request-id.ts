/**
 * Request id middleware: echoes a sane client `x-request-id`, else generates one, and sets it on the
 * response before the handler runs so error responses carry it too.
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
    c.header(REQUEST_ID_HEADER, id);
    await next();
  };
}
