/**
 * What the Triton extensions read of the gateway beyond the fronts' InferenceApi: the config
 * snapshot of a service and the model config of a route, when they come from the gateway itself.
 */
import type { TargetRef } from "../backends/types.js";
import type { GatewayConfig, ModelConfig } from "../config/schema.js";
import { ResolvedRoute } from "../gateway/route.js";
import { GatewayService } from "../gateway/service.js";
import type { InferenceApi, Route } from "../gateway/types.js";

/** The service's config snapshot, or undefined for a service that is not the gateway's. */
export function configOf(service: InferenceApi): GatewayConfig | undefined {
  return service instanceof GatewayService ? service.config : undefined;
}

/** The route's model config, or undefined for a route the gateway did not resolve. */
export function modelConfigOf(route: Route): ModelConfig | undefined {
  return route instanceof ResolvedRoute ? route.modelConfig : undefined;
}

/** The route's primary target, or undefined for a route the gateway did not resolve. */
export function targetOf(route: Route): TargetRef | undefined {
  return route instanceof ResolvedRoute ? route.target : undefined;
}

/** A header lookup that finds nothing (internal resolutions take no client headers). */
export const NO_HEADERS = (): undefined => undefined;
