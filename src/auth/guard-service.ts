/**
 * The inference service as a caller sees it: `resolve` refuses models outside the caller's list
 * (403, before the model is looked up, so a forbidden caller cannot probe which models exist) and
 * `infer` takes one request from the model's rate limit. Outside a front's request (async jobs
 * running later, rollouts) there is no caller and nothing is checked.
 */
import type { InferenceApi } from "../gateway/types.js";
import type { AccessControl } from "./access.js";
import { currentPrincipal, currentScope } from "./principal.js";

const guarded = new WeakMap<InferenceApi, InferenceApi>();

/** `service` with the caller's checks; one wrapper per service snapshot. */
export function guardService<S extends InferenceApi>(service: S, access: AccessControl): S {
  let found = guarded.get(service);
  if (found === undefined) {
    const resolve: InferenceApi["resolve"] = (model, version, header, affinityKey) => {
      const principal = currentPrincipal();
      if (principal !== undefined) access.checkModel(principal, model);
      const route = service.resolve(model, version, header, affinityKey);
      const scope = currentScope();
      if (scope !== undefined) {
        scope.model = route.model;
        scope.version = route.version;
      }
      return route;
    };
    const infer: InferenceApi["infer"] = async (route, request, context) => {
      if (currentPrincipal() !== undefined) await access.limitModel(route.model);
      const scope = currentScope();
      if (scope !== undefined) scope.requestId = context.requestId;
      const response = await service.infer(route, request, context);
      if (scope !== undefined) {
        scope.version = response.version;
        scope.backend = response.backend;
        scope.cache = response.cache;
        scope.fallback = response.fallback;
      }
      return response;
    };
    // The real service keeps private fields, so every other member is called on it, not on the proxy.
    found = new Proxy(service, {
      get(target, prop) {
        if (prop === "resolve") return resolve;
        if (prop === "infer") return infer;
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    guarded.set(service, found);
  }
  // The proxy has the service's own type: only resolve and infer differ.
  return found as S;
}

/** A service getter whose services carry the caller's checks. */
export function guardedGetter<S extends InferenceApi>(
  getter: () => S,
  access: AccessControl,
): () => S {
  return () => guardService(getter(), access);
}
