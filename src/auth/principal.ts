/**
 * Who made the current request, carried through the request's async work so the layers below the
 * fronts (model checks, cache keys, job ownership, access log) see it without new parameters.
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

const storage = new AsyncLocalStorage<Principal>();

/** Runs `fn` with `principal` as the caller of everything it starts. */
export function runAs<T>(principal: Principal, fn: () => T): T {
  return storage.run(principal, fn);
}

/** The caller of the current request; undefined without auth or outside a request. */
export function currentPrincipal(): Principal | undefined {
  return storage.getStore();
}

/** The current tenant; "" without auth (every caller shares one tenant then). */
export function currentTenant(): string {
  return storage.getStore()?.tenant ?? "";
}
