/**
 * Who made the current request, carried through the request's async work so the layers below the
 * fronts (model checks, cache keys, job ownership, the access log) see it without new parameters.
 * The request's scope also collects what the access log reports (the resolved route).
 */
import { AsyncLocalStorage } from "node:async_hooks";

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

const storage = new AsyncLocalStorage<RequestScope>();

/** Runs `fn` in a fresh request scope (the outermost layer of a front does this). */
export function inScope<T>(scope: RequestScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** The current request's scope; undefined outside a request. */
export function currentScope(): RequestScope | undefined {
  return storage.getStore();
}

/** Runs `fn` with `principal` as the caller: in the current scope, else in a new one. */
export function runAs<T>(principal: Principal, fn: () => T): T {
  const scope = storage.getStore();
  if (scope !== undefined && scope.principal === undefined) {
    scope.principal = principal;
    return fn();
  }
  return storage.run({ principal }, fn);
}

/** The caller of the current request; undefined without auth or outside a request. */
export function currentPrincipal(): Principal | undefined {
  return storage.getStore()?.principal;
}

/** Who made the current request, for audit lines: the tenant, or "anonymous" without auth. */
export function currentCaller(): string {
  return storage.getStore()?.principal?.tenant || "anonymous";
}

/** The current tenant; "" without auth (every caller shares one tenant then). */
export function currentTenant(): string {
  return storage.getStore()?.principal?.tenant ?? "";
}
