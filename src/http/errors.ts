/**
 * Where a thrown value becomes an HTTP response. Each front owns its error body: the unified API
 * and the ops routes answer `{"error":{"code","message","details"?}}` (unifiedErrorBody); the
 * KServe v2 routes `{"error":"msg"}` with the same status (v2ErrorBody), each set as its sub-app's
 * `onError`. Only what fails before a front's routes run (app middleware, unknown paths) is given
 * a body by path. Anything that is not a GatewayError is a bug: logged, answered as a bare INTERNAL.
 */
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { rateLimitHeaders } from "../auth/rate-limit.js";
import {
  GatewayError,
  InvalidRequestError,
  RateLimitedError,
  retryAfterValue,
  toGatewayError,
} from "../errors.js";
import type { AppEnv, HttpLogger } from "./deps.js";
import { withEdgeHeaders } from "./request-id.js";

/** True for paths of the KServe v2 front, which has its own error body. */
export function isV2Path(path: string): boolean {
  return path === "/v2" || path.startsWith("/v2/");
}

function jsonResponse(
  c: Context<AppEnv>,
  status: number,
  body: unknown,
  extra?: Headers,
): Response {
  const headers = extra ?? new Headers();
  headers.set("content-type", "application/json");
  // The request id (absent only when its middleware itself failed) and the caller's RateLimit-*,
  // unless the error carries its own (a model's limit, not the key's).
  for (const [name, value] of Object.entries(withEdgeHeaders(c, {}))) {
    if (!headers.has(name)) headers.set(name, value);
  }
  return new Response(JSON.stringify(body), { status, headers });
}

/** A front's error body for a GatewayError. */
export type ErrorBody = (error: GatewayError) => unknown;

/** The unified API's and ops routes' error body (docs/api.md "Errors"). */
export const unifiedErrorBody: ErrorBody = (error) => ({
  error: {
    code: error.code,
    message: error.message,
    ...(error.details === undefined ? {} : { details: error.details }),
  },
});

/** The KServe v2 REST front's error body: the message alone, as KServe clients expect. */
export const v2ErrorBody: ErrorBody = (error) => ({ error: error.message });

/** The body for an error raised before any front's routes ran: by the path's route family. */
function bodyForPath(path: string): ErrorBody {
  return isV2Path(path) ? v2ErrorBody : unifiedErrorBody;
}

/** The response for a GatewayError: its status, Retry-After and the front's body. */
export function errorResponse(
  c: Context<AppEnv>,
  error: GatewayError,
  body: ErrorBody = bodyForPath(c.req.path),
): Response {
  const headers = new Headers();
  const retryAfter = retryAfterValue(error);
  if (retryAfter !== undefined) headers.set("retry-after", retryAfter);
  if (error instanceof RateLimitedError) {
    for (const [name, value] of rateLimitHeaders(error.rateLimit)) headers.set(name, value);
  }
  return jsonResponse(c, error.status, body(error), headers);
}

// Hono's own HTTPExceptions (e.g. from a built-in middleware) map to the nearest documented code.
function fromHttpException(err: HTTPException): GatewayError {
  if (err.status === 413) return new GatewayError("PAYLOAD_TOO_LARGE", "request body too large");
  if (err.status >= 400 && err.status < 500) return new InvalidRequestError(err.message);
  return toGatewayError(err);
}

/** Options of {@link errorHandler}. */
export interface ErrorHandlerOptions {
  logger: HttpLogger;
  /** The front's error body; without it, chosen by path (errors before any front's routes). */
  body?: ErrorBody;
}

/** `app.onError` handler: typed errors keep their code; everything else is INTERNAL and logged. */
export function errorHandler(options: ErrorHandlerOptions): ErrorHandler<AppEnv> {
  return function onError(err, c) {
    const error = err instanceof HTTPException ? fromHttpException(err) : toGatewayError(err);
    if (error.code === "INTERNAL") {
      options.logger.error(
        {
          err: error.cause ?? err,
          method: c.req.method,
          path: c.req.path,
          requestId: c.get("requestId"),
        },
        "request failed with an internal error",
      );
    }
    return errorResponse(c, error, options.body);
  };
}

/** `app.notFound` handler: 404 in the route family's format. */
export function notFoundHandler(): NotFoundHandler<AppEnv> {
  return function notFound(c) {
    const message = `no route for ${c.req.method} ${c.req.path}`;
    const body = isV2Path(c.req.path)
      ? { error: message }
      : { error: { code: "NOT_FOUND", message } };
    return jsonResponse(c, 404, body);
  };
}
