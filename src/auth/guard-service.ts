/**
 * The inference service as a caller sees it: `resolve` refuses models outside the caller's list
 * (403, before the model is looked up, so a forbidden caller cannot probe which models exist) and
 * `infer` takes one request from the model's rate limit. Outside a front's request (async jobs
 * running later, rollouts) there is no caller and nothing is checked.
 */
import type { InferenceService } from "../gateway/types.js";
import type { AccessControl } from "./access.js";
import { currentPrincipal, currentScope } from "./principal.js";

const guarded = new WeakMap<InferenceService, InferenceService>();

/** `service` with the caller's checks; one wrapper per service snapshot. */
export function guardService(service: InferenceService, access: AccessControl): InferenceService {
  let found = guarded.get(service);
  if (found === undefined) {
    const resolve: InferenceService["resolve"] = (model, version, header) => {
      const principal = currentPrincipal();
      if (principal !== undefined) access.checkModel(principal, model);
      const route = service.resolve(model, version, header);
      const scope = currentScope();
      if (scope !== undefined) {
        scope.model = route.model;
        scope.version = route.version;
      }
      return route;
    };
    const infer: InferenceService["infer"] = async (route, request, context) => {
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
  return found;
}

/** A service getter whose services carry the caller's checks. */
export function guardedGetter(
  getter: () => InferenceService,
  access: AccessControl,
): () => InferenceService {
  return () => guardService(getter(), access);
}
