/**
 * Per-target state and the policy chain built from it (the list of policies/index.ts). A target
 * here is one slot of one gateway model: a version's target or the i-th fallback. State is kept
 * across config reloads while the slot's target, its backend config and every policy's settings
 * are unchanged, so a reload neither resets an open breaker nor forgets a retry budget (LiteLLM's
 * cooldowns lose their timers on exactly this).
 */
import type { BackendAdapter, TargetRef } from "../backends/types.js";
import type { ResponseCache } from "../cache/response-cache.js";
import type { GatewayConfig, ModelConfig } from "../config/schema.js";
import { BackendUnavailableError } from "../errors.js";
import type { Metrics } from "../metrics/registry.js";
import { spanPolicy } from "../observability/trace-front.js";
import type { TargetBreaker } from "../pipeline/breaker.js";
import { compose, type InferFn } from "../pipeline/types.js";
import { batchingPolicy } from "./policies/batching.js";
import { POLICIES } from "./policies/index.js";
import type { BuiltPolicy, SlotEnv } from "./policies/spec.js";
import { toTargetRef } from "./route.js";
import { type Slot, slotId, slotLabel } from "./slot.js";

/** One target's live state and its policy chain down to the adapter. */
export interface TargetState {
  /** The state fingerprint: equal fingerprints across reloads keep the same state. */
  readonly fingerprint: string;
  readonly model: string;
  readonly slot: Slot;
  readonly target: TargetRef;
  readonly breaker: TargetBreaker | undefined;
  /** True when answers of this target are cached. */
  readonly cached: boolean;
  /** True when calls of this target go through the dynamic batcher. */
  readonly batched: boolean;
  /** The chain of policies/index.ts down to the adapter. */
  readonly pipeline: InferFn;
  /** Releases what the policies hold (timers, queues). */
  readonly close: () => void;
}

/** Builds and keeps TargetStates across config snapshots. */
export class TargetRegistry {
  private states = new Map<string, TargetState>();

  constructor(private readonly metrics: Metrics) {}

  /**
   * The states for `config`, by slot id: unchanged slots keep their state, new ones are created.
   * Returns the states no longer used, for the caller to close once requests on the old snapshot
   * are done.
   */
  sync(
    config: GatewayConfig,
    adapters: ReadonlyMap<string, BackendAdapter>,
    cache: { instance: ResponseCache; generation: number },
  ): { states: ReadonlyMap<string, TargetState>; retired: TargetState[] } {
    const next = new Map<string, TargetState>();
    for (const [model, modelConfig] of Object.entries(config.models)) {
      for (const [slot, target] of slotsOf(model, modelConfig)) {
        const env: SlotEnv = {
          config,
          modelConfig,
          model,
          slot,
          target,
          labels: { model, version: slotLabel(slot), backend: target.backend },
          metrics: this.metrics,
          cache,
          adapters,
        };
        const settings = POLICIES.map((p) => p.settings(env));
        // The backend config is part of the fingerprint: the chain ends in that backend's adapter.
        const fingerprint = JSON.stringify([
          model,
          slot,
          target,
          config.backends[target.backend] ?? null,
          settings.map((s) => s ?? null),
        ]);
        next.set(
          slotId(model, slot),
          this.states.get(fingerprint) ?? create(env, fingerprint, settings),
        );
      }
    }
    const kept = new Set(next.values());
    const retired = [...this.states.values()].filter((s) => !kept.has(s));
    this.states = new Map([...next.values()].map((s) => [s.fingerprint, s]));
    return { states: next, retired };
  }
}

function slotsOf(model: string, modelConfig: ModelConfig): Array<[Slot, TargetRef]> {
  return [
    ...Object.entries(modelConfig.versions).map(([version, t]): [Slot, TargetRef] => [
      { kind: "version", version },
      toTargetRef(model, t),
    ]),
    ...(modelConfig.fallback ?? []).map((t, index): [Slot, TargetRef] => [
      { kind: "fallback", index },
      toTargetRef(model, t),
    ]),
  ];
}

function create(env: SlotEnv, fingerprint: string, settings: readonly unknown[]): TargetState {
  const built: BuiltPolicy[] = [];
  POLICIES.forEach((spec, i) => {
    if (settings[i] !== undefined) built.push(spec.create(settings[i], env));
  });
  const { adapters, target } = env;
  const backend = target.backend;
  // The target or fallback runs in a span of its own (docs/access.md "Tracing").
  const span = spanPolicy(env.slot.kind === "fallback" ? "fallback" : "target", {
    "infergate.backend": backend,
  });
  const pipeline = compose(
    span,
    ...built.map((b) => b.policy),
  )((request) => {
    const adapter = adapters.get(backend);
    if (adapter === undefined)
      throw new BackendUnavailableError(`backend "${backend}" is not running`);
    return adapter.infer(request.target, request.call);
  });
  return {
    fingerprint,
    model: env.model,
    slot: env.slot,
    target,
    breaker: built.find((b) => b.breaker !== undefined)?.breaker,
    cached: built.some((b) => b.cached === true),
    batched: settings[POLICIES.indexOf(batchingPolicy)] !== undefined,
    pipeline,
    close: () => {
      for (const b of built) b.close?.();
    },
  };
}

/** Closes what a retired state holds (breaker timers, batch queues). */
export function closeState(state: TargetState): void {
  state.close();
}
