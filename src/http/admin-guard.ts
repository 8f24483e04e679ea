/**
 * Rules for admin writes (docs/security.md "Admin writes"). A web page the operator has open can
 * send a `text/plain` or form POST to a loopback address without any CORS preflight, so a
 * loopback-only admin listener is not enough on its own: a POST to `/admin/*` must say
 * `Content-Type: application/json` (which browsers only send cross-origin after a preflight we
 * never grant), and a request a browser marks as coming from another origin is refused.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "./deps.js";
import { isLoopbackHost } from "./exposure.js";

/** Options of {@link adminWriteGuard}. */
export interface AdminGuardOptions {
  /** Host names besides loopback the admin listener is reached by (its non-loopback bind). */
  hosts?: readonly string[];
}

/** Refuses admin POSTs that are cross-origin (403) or not JSON (415). */
export function adminWriteGuard(options: AdminGuardOptions = {}): MiddlewareHandler<AppEnv> {
  const hosts = new Set((options.hosts ?? []).map((h) => h.toLowerCase()));
  return async function adminWriteGuard(c, next) {
    if (c.req.method !== "POST") return next();
    const refused = refuseCrossOrigin(c, hosts);
    if (refused !== undefined) return refused;
    const type = c.req.header("content-type")?.split(";")[0]?.trim().toLowerCase();
    if (type !== "application/json") {
      return c.json(
        {
          error: {
            code: "INVALID_REQUEST",
            message: "admin writes need Content-Type: application/json",
          },
        },
        415,
      );
    }
    return next();
  };
}

/** The 403 answer to a cross-origin request, or undefined when it may go on. */
export function refuseCrossOrigin(
  c: Context<AppEnv>,
  hosts: ReadonlySet<string>,
): Response | undefined {
  const refusal = crossOrigin(
    c.req.header("origin"),
    c.req.header("sec-fetch-site"),
    c.req.header("host"),
    hosts,
  );
  if (refusal === undefined) return undefined;
  return c.json({ error: { code: "PERMISSION_DENIED", message: refusal } }, 403);
}

/** Why a request is cross-origin, or undefined when it is not (or no browser sent it). */
function crossOrigin(
  origin: string | undefined,
  fetchSite: string | undefined,
  host: string | undefined,
  hosts: ReadonlySet<string>,
): string | undefined {
  if (fetchSite?.toLowerCase() === "cross-site") return "cross-site admin request refused";
  // No Origin: not a browser's cross-origin request (curl, the CLI, scripts).
  if (origin === undefined) return undefined;
  if (host === undefined) return "admin request with an Origin needs a Host";
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return `admin request from origin ${origin} refused`;
  }
  // Same origin as the listener the request reached, under a name only this machine (or the
  // configured admin host) resolves to: a DNS-rebound page has its own name in both headers.
  const sameOrigin = url.host.toLowerCase() === host.toLowerCase();
  const local = isLoopbackHost(url.hostname) || hosts.has(url.hostname.toLowerCase());
  return sameOrigin && local && url.protocol === "http:"
    ? undefined
    : `admin request from origin ${origin} refused`;
}
