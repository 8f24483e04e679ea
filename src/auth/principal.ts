/**
 * Who made a request, and what it resolved to: one RequestScope per request, made by the front
 * that received it and passed explicitly (HTTP: the Hono context's `scope`; gRPC: the call's, see
 * callScope; the service: the guarded view the front takes with `deps.service(scope)`, and
 * RequestContext.scope). The layers below the fronts (model checks, cache keys, job ownership, the
 * access log) read it from there. It is not
 * an AsyncLocalStorage: on Node 20 that costs a hook on every promise of every request.
 */

/** An authenticated caller. */
export interface Principal {
  /** The tenant: the key's `id` or the JWT's tenant claim. */
  tenant: string;
  /** May use `/admin/*` and `/ui`. */
  admin: boolean;
  /** Model globs; undefined = every model. */
  models: readonly string[] | undefined;
  /** `key` or `jwt`, for the access log. */
  via: "key" | "jwt";
}

/** One request's caller and what it resolved to, filled in as the request runs. */
export interface RequestScope {
  principal?: Principal;
  /** The model and version the request resolved to (the last one, for a request resolving two). */
  model?: string;
  version?: string;
  /** Filled in by the service's answer: the request id it ran under and how it was answered. */
  requestId?: string;
  backend?: string;
  cache?: string;
  fallback?: boolean;
}

/** Scopes of gRPC calls, keyed by the call object every wrapper and the handler share. */
const callScopes = new WeakMap<object, RequestScope>();

/** The request scope of a gRPC call (made on first use by the outermost wrapper). */
export function callScope(call: object): RequestScope {
  let scope = callScopes.get(call);
  if (scope === undefined) {
    scope = {};
    callScopes.set(call, scope);
  }
  return scope;
}

/** Who made the request, for audit lines: the tenant, or "anonymous" without auth. */
export function callerOf(scope: RequestScope | undefined): string {
  return scope?.principal?.tenant || "anonymous";
}

/** The request's tenant; "" without auth (every caller shares one tenant then). */
export function tenantOf(scope: RequestScope | undefined): string {
  return scope?.principal?.tenant ?? "";
}
