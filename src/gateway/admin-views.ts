/**
 * What the admin routes show of one snapshot, as plain functions of its parts: the routing table
 * (GET /admin/routes) and the breakers (GET /admin/breakers).
 */
import type { TargetRef } from "../backends/types.js";
import type { GatewayConfig, ModelConfig } from "../config/schema.js";
import type { RolloutController } from "../routing/rollout/controller.js";
import { compareVersions, defaultVersion } from "../routing/versions.js";
import type { SplitInForce } from "./resolver.js";
import { toTargetRef } from "./route.js";
import { type Slot, slotId, slotLabel } from "./slot.js";
import type { TargetState } from "./targets.js";
import type { BreakerInfo, ModelRoutes, RoutesTable, RouteTarget } from "./types.js";

/** The parts of a snapshot the views read. */
export interface SnapshotView {
  readonly config: GatewayConfig;
  readonly states: ReadonlyMap<string, TargetState>;
  splitOf(model: string, modelConfig: ModelConfig): SplitInForce | undefined;
  readonly rolloutFor?: ((model: string) => RolloutController | undefined) | undefined;
  readonly readyOf?: ((fingerprint: string) => boolean | undefined) | undefined;
}

/** Every model's routes. */
export function routesTable(view: SnapshotView): RoutesTable {
  const models: Record<string, ModelRoutes> = {};
  for (const [name, modelConfig] of Object.entries(view.config.models)) {
    models[name] = modelRoutes(view, name, modelConfig);
  }
  return { models };
}

/** One model's routes: versions, labels, default, split, fallbacks and rollout. */
export function modelRoutes(
  view: SnapshotView,
  name: string,
  modelConfig: ModelConfig,
): ModelRoutes {
  const routeTarget = (slot: Slot, configured: TargetRef): RouteTarget => {
    const state = view.states.get(slotId(name, slot));
    const target = state?.target ?? configured;
    const out: RouteTarget = { backend: target.backend, model: target.model };
    if (target.version !== undefined) out.version = target.version;
    if (state?.breaker !== undefined) out.breaker = state.breaker.state;
    const ready = state === undefined ? undefined : view.readyOf?.(state.fingerprint);
    if (ready !== undefined) out.ready = ready;
    return out;
  };
  const versions: Record<string, RouteTarget> = {};
  for (const id of Object.keys(modelConfig.versions).sort(compareVersions)) {
    const target = modelConfig.versions[id];
    if (target !== undefined)
      versions[id] = routeTarget({ kind: "version", version: id }, toTargetRef(name, target));
  }
  const entry: ModelRoutes = {
    versions,
    labels: { ...modelConfig.labels },
    default: defaultVersion(modelConfig),
    fallback: (modelConfig.fallback ?? []).map((t, index) =>
      routeTarget({ kind: "fallback", index }, toTargetRef(name, t)),
    ),
  };
  if (modelConfig.sticky !== undefined) entry.sticky = { header: modelConfig.sticky.header };
  const rollout = view.rolloutFor?.(name);
  if (rollout !== undefined) entry.rollout = rollout.snapshot();
  const traffic = view.splitOf(name, modelConfig);
  if (traffic !== undefined)
    entry.traffic = {
      source: traffic.source,
      weights: traffic.weights.map((e) => ({ version: e.version, weight: e.weight })),
    };
  return entry;
}

/** Every target's breaker (targets without one are left out). */
export function breakerList(states: Iterable<TargetState>): BreakerInfo[] {
  return [...states].flatMap((s) =>
    s.breaker === undefined
      ? []
      : [
          {
            model: s.model,
            slot: slotLabel(s.slot),
            backend: s.target.backend,
            ...s.breaker.snapshot(),
          },
        ],
  );
}
