/**
 * The one place where a thrown value becomes an HTTP response. The unified API and the ops routes
 * answer `{"error":{"code","message"}}`; the KServe v2 routes answer `{"error":"msg"}` with the same
 * status. Anything that is not a GatewayError is a bug: logged, answered as a bare INTERNAL.
 */
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { GatewayError, InvalidRequestError, retryAfterValue, toGatewayError } from "../errors.js";
import type { AppEnv, HttpLogger } from "./deps.js";

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
  // Set by the request-id middleware; absent only when that middleware itself failed.
  const requestId = c.get("requestId");
  if (requestId !== undefined) {
    headers.set("x-request-id", requestId);
    c.set("requestIdSent", true);
  }
  return new Response(JSON.stringify(body), { status, headers });
}

/** The response for a GatewayError in the format of the route family the request hit. */
export function errorResponse(c: Context<AppEnv>, error: GatewayError): Response {
  const headers = new Headers();
  const retryAfter = retryAfterValue(error);
  if (retryAfter !== undefined) headers.set("retry-after", retryAfter);
  const body = isV2Path(c.req.path)
    ? { error: error.message }
    : {
        error: {
          code: error.code,
          message: error.message,
          ...(error.details === undefined ? {} : { details: error.details }),
        },
      };
  return jsonResponse(c, error.status, body, headers);
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
    return errorResponse(c, error);
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
