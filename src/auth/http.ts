/**
 * The HTTP front's access check (docs/access.md): every path but the public ones needs a key or
 * token; `/admin/*` and `/ui` need an admin one. The caller is then known to everything the
 * request runs (model checks, cache keys, job ownership, the access log).
 */
import type { Context, MiddlewareHandler } from "hono";
import { PermissionDeniedError, RateLimitedError, type RateLimitState } from "../errors.js";
import type { AppEnv } from "../http/deps.js";
import { errorResponse } from "../http/errors.js";
import { scopeOf } from "../http/scope.js";
import { type AccessControl, ANONYMOUS } from "./access.js";
import { rateLimitHeaders } from "./rate-limit.js";

/** True for the admin routes and the admin page. */
export function isAdminPath(path: string): boolean {
  return (
    path === "/admin" || path.startsWith("/admin/") || path === "/ui" || path.startsWith("/ui/")
  );
}

/** The middleware; mount it before every route. */
export function accessControl(access: AccessControl): MiddlewareHandler<AppEnv> {
  return async function checkAccess(c, next) {
    const path = c.req.path;
    if (!access.enabled || (!isAdminPath(path) && access.isPublic(path))) {
      scopeOf(c).principal = ANONYMOUS;
      await next();
      return withLimitHeaders(c);
    }
    try {
      const found = await access.authenticate(
        { authorization: c.req.header("authorization"), apiKey: c.req.header("x-api-key") },
        c.env?.incoming?.socket.remoteAddress ?? "unknown",
      );
      if (isAdminPath(path) && !found.principal.admin) {
        throw new PermissionDeniedError("admin routes need an admin key");
      }
      // Handlers that build their own answers put these headers in (withEdgeHeaders).
      c.set("keyLimit", found.limit);
      scopeOf(c).principal = found.principal;
      await next();
    } catch (err) {
      if (!(err instanceof RateLimitedError)) throw err;
      c.res = errorResponse(c, err);
      return;
    }
    return withLimitHeaders(c);
  };
}

/**
 * Adds the key's own `RateLimit-*` headers to an answer that lacks them (errors carry those of the
 * limit they hit, see errorResponse; handlers that build their answers use withEdgeHeaders).
 */
function withLimitHeaders(c: Context<AppEnv>): void {
  const keyLimit = c.get("keyLimit");
  if (keyLimit !== undefined && c.get("keyLimitSent") !== true) c.res = limited(c.res, keyLimit);
}

function limited(res: Response, state: RateLimitState): Response {
  const out = new Response(res.body, res);
  for (const [name, value] of rateLimitHeaders(state)) out.headers.set(name, value);
  return out;
}
