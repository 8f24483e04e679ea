/**
 * Body size limit read per request (a config reload may change it). Wraps Hono's bodyLimit, which
 * rejects on `Content-Length` before reading and counts chunked bodies as they stream in, stopping
 * at the limit, so an oversized body is never held in memory whole.
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { PayloadTooLargeError } from "../errors.js";
import type { AppEnv } from "./deps.js";

/** Options of {@link payloadLimit}. */
export interface PayloadLimitOptions {
  /** The current limit in bytes. */
  maxBytes: () => number;
}

/** Throws PayloadTooLargeError (413) for a body over the current limit. */
export function payloadLimit(options: PayloadLimitOptions): MiddlewareHandler<AppEnv> {
  return async function payloadLimit(c, next) {
    const maxSize = options.maxBytes();
    const limit = bodyLimit({
      maxSize,
      onError: () => {
        throw new PayloadTooLargeError(maxSize);
      },
    });
    return limit(c, next);
  };
}
