/**
 * The inference service as a caller sees it: `resolve` refuses models outside the caller's list
 * (403, before the model is looked up, so a forbidden caller cannot probe which models exist) and
 * `infer` takes one request from the model's rate limit. The caller is the request scope the front
 * binds when it takes the service (`deps.service(scope)`); a guarded service taken without one
 * refuses resolve and infer as INTERNAL rather than let them through unchecked. Work the gateway
 * starts itself (async jobs running later, batches, rollouts) uses the unguarded service.
 */
import { InternalError } from "../errors.js";
import type { InferenceApi } from "../gateway/types.js";
import type { AccessControl } from "./access.js";
import type { RequestScope } from "./principal.js";

/** `service` with the checks of the caller in `scope`; one light view per request. */
export function guardService<S extends InferenceApi>(
  service: S,
  access: AccessControl,
  scope: RequestScope | undefined,
): S {
  const resolve: InferenceApi["resolve"] = (model, version, header, affinityKey) => {
    const own = required(scope);
    if (own.principal !== undefined) access.checkModel(own.principal, model);
    const route = service.resolve(model, version, header, affinityKey);
    own.model = route.model;
    own.version = route.version;
    return route;
  };
  const infer: InferenceApi["infer"] = async (route, request, context) => {
    const own = required(context.scope ?? scope);
    if (own.principal !== undefined) await access.limitModel(route.model);
    own.requestId = context.requestId;
    // The pipeline reads the tenant (cache keys) from the context's scope.
    const run = context.scope === own ? context : { ...context, scope: own };
    const response = await service.infer(route, request, run);
    own.version = response.version;
    own.backend = response.backend;
    own.cache = response.cache;
    own.fallback = response.fallback;
    return response;
  };
  // The real service keeps private fields, so every other member is called on it, not on the proxy.
  const view = new Proxy(service, {
    get(target, prop) {
      if (prop === "resolve") return resolve;
      if (prop === "infer") return infer;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  // The proxy has the service's own type: only resolve and infer differ.
  return view as S;
}

function required(scope: RequestScope | undefined): RequestScope {
  if (scope === undefined) {
    throw new InternalError(new Error("a front took the guarded service without a request scope"));
  }
  return scope;
}

/** A service getter whose services carry the checks of the request scope they are taken for. */
export function guardedGetter<S extends InferenceApi>(
  getter: () => S,
  access: AccessControl,
): (scope?: RequestScope) => S {
  return (scope) => guardService(getter(), access, scope);
}
