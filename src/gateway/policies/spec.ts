/**
 * The shape every per-target policy has in the declared chain (policies/index.ts): a name, how it
 * reads this slot's settings, and how it builds its state and wrapper from them. The chain is built
 * by mapping over the list, and a slot's state fingerprint is the list of settings it read, so a
 * reload rebuilds exactly the slots whose settings changed and keeps the rest.
 */
import type { BackendAdapter, TargetRef } from "../../backends/types.js";
import type { ResponseCache } from "../../cache/response-cache.js";
import type { GatewayConfig, ModelConfig } from "../../config/schema.js";
import type { Metrics } from "../../metrics/registry.js";
import type { TargetBreaker } from "../../pipeline/breaker.js";
import type { Policy } from "../../pipeline/types.js";
import type { Slot } from "../slot.js";

/** What a policy may read and use for one slot of one snapshot. */
export interface SlotEnv {
  readonly config: GatewayConfig;
  readonly modelConfig: ModelConfig;
  readonly model: string;
  readonly slot: Slot;
  readonly target: TargetRef;
  /** The slot's metric labels: model, slot label (as `version`) and backend. */
  readonly labels: { model: string; version: string; backend: string };
  readonly metrics: Metrics;
  /** The snapshot's response cache and its generation (a new cache rebuilds cached slots). */
  readonly cache: { instance: ResponseCache; generation: number } | undefined;
  readonly adapters: ReadonlyMap<string, BackendAdapter>;
}

/** A built policy: its wrapper, what it holds to close, and what the rest of the gateway reads. */
export interface BuiltPolicy {
  readonly policy: Policy;
  readonly close?: () => void;
  /** The slot's breaker, for eligibility, readiness and admin views. */
  readonly breaker?: TargetBreaker;
  /** True when the slot's answers are cached. */
  readonly cached?: boolean;
}

/** One entry of the chain. */
export interface PolicySpec<C> {
  readonly name: string;
  /**
   * This slot's settings, or undefined to leave the policy out. It must be plain JSON: it is part
   * of the slot's state fingerprint.
   */
  settings(env: SlotEnv): C | undefined;
  create(settings: C, env: SlotEnv): BuiltPolicy;
}

/** Declares a policy with its settings type checked against its create. */
export function definePolicy<C>(spec: PolicySpec<C>): PolicySpec<C> {
  return spec;
}
