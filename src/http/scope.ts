/**
 * The HTTP front's request scope (src/auth/principal.ts): one per request, kept on the Hono
 * context. The access log, the access check, the handlers and the service all read this object.
 */
import type { Context } from "hono";
import { type RequestScope, tenantOf } from "../auth/principal.js";
import type { AppEnv } from "./deps.js";

/** The request's scope, made on first use (by the outermost middleware that needs it). */
export function scopeOf(c: Context<AppEnv>): RequestScope {
  let scope = c.get("scope");
  if (scope === undefined) {
    scope = {};
    c.set("scope", scope);
  }
  return scope;
}

/** The request's tenant: "" without auth (docs/access.md "Tenants"). */
export function requestTenant(c: Context<AppEnv>): string {
  return tenantOf(c.get("scope"));
}
