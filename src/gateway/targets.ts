/**
 * Per-target resilience state — circuit breaker, retry budget, concurrency limiter — and the
 * policy chain built from it. A target here is one slot of one gateway model: a version's target
 * or the i-th fallback. State is kept across config reloads while the slot's target, its backend
 * config and its policy config are unchanged, so a reload neither resets an open breaker nor
 * forgets a retry budget (LiteLLM's cooldowns lose their timers on exactly this).
 */
import { checkAnswer } from "../backends/answer-check.js";
import type { BackendAdapter, TargetRef } from "../backends/types.js";
import type { ResponseCache } from "../cache/response-cache.js";
import { effectivePolicy, mergedPolicy } from "../config/effective.js";
import type { GatewayConfig, ModelConfig } from "../config/schema.js";
import { BackendUnavailableError } from "../errors.js";
import type { Metrics } from "../metrics/registry.js";
import { spanPolicy } from "../observability/trace-front.js";
import { Batcher } from "../pipeline/batcher.js";
import { type BreakerState, TargetBreaker } from "../pipeline/breaker.js";
import { ConcurrencyLimiter } from "../pipeline/limiter.js";
import { observe } from "../pipeline/observe.js";
import { retry } from "../pipeline/retry.js";
import { RetryBudget } from "../pipeline/retry-budget.js";
import { compose, type InferFn, type Policy } from "../pipeline/types.js";
import { targetKey, toTargetRef } from "./route.js";

/** Which slot of a model a target fills. */
export type Slot = { kind: "version"; version: string } | { kind: "fallback"; index: number };

/** One target's live state and its policy chain down to the adapter. */
export interface TargetState {
  readonly key: string;
  readonly model: string;
  readonly slot: Slot;
  readonly target: TargetRef;
  readonly breaker: TargetBreaker | undefined;
  readonly limiter: ConcurrencyLimiter;
  readonly batcher: Batcher | undefined;
  /** True when answers of this target are cached. */
  readonly cached: boolean;
  /** cache -> batcher -> limiter -> retry -> breaker -> observe -> adapter. */
  readonly pipeline: InferFn;
}

/** A slot's label for metrics and admin output: the version id, or `fallback[i]`. */
export function slotLabel(slot: Slot): string {
  return slot.kind === "version" ? slot.version : `fallback[${slot.index}]`;
}

const BREAKER_STATE_VALUE: Record<BreakerState, number> = { closed: 0, open: 1, halfOpen: 2 };

/** Builds and keeps TargetStates across config snapshots. */
export class TargetRegistry {
  private states = new Map<string, TargetState>();

  constructor(private readonly metrics: Metrics) {}

  /** The response cache new states use; states are rebuilt when it changes (see sync). */
  private cache: { instance: ResponseCache; generation: number } | undefined;

  /**
   * The states for `config`: unchanged slots keep their state, new ones are created. Returns the
   * states no longer used, for the caller to close once requests on the old snapshot are done.
   */
  sync(
    config: GatewayConfig,
    adapters: ReadonlyMap<string, BackendAdapter>,
    cache: { instance: ResponseCache; generation: number },
  ): { states: ReadonlyMap<string, TargetState>; retired: TargetState[] } {
    this.cache = cache;
    const next = new Map<string, TargetState>();
    for (const [model, modelConfig] of Object.entries(config.models)) {
      const slots: Array<[Slot, TargetRef]> = [
        ...Object.entries(modelConfig.versions).map(([version, t]): [Slot, TargetRef] => [
          { kind: "version", version },
          toTargetRef(model, t),
        ]),
        ...(modelConfig.fallback ?? []).map((t, index): [Slot, TargetRef] => [
          { kind: "fallback", index },
          toTargetRef(model, t),
        ]),
      ];
      for (const [slot, target] of slots) {
        const key = stateKey(config, model, modelConfig, slot, target, cache.generation);
        const state =
          this.states.get(key) ??
          this.create(config, model, modelConfig, slot, target, key, adapters);
        next.set(slotId(model, slot), state);
      }
    }
    const kept = new Set(next.values());
    const retired = [...this.states.values()].filter((s) => !kept.has(s));
    this.states = new Map([...next.values()].map((s) => [s.key, s]));
    return { states: next, retired };
  }

  private create(
    config: GatewayConfig,
    model: string,
    modelConfig: ModelConfig,
    slot: Slot,
    target: TargetRef,
    key: string,
    adapters: ReadonlyMap<string, BackendAdapter>,
  ): TargetState {
    const labels = { model, version: slotLabel(slot), backend: target.backend };
    const breakerConfig = effectivePolicy(config, modelConfig, "breaker");
    const breaker =
      breakerConfig === undefined
        ? undefined
        : new TargetBreaker({
            name: `${model}/${labels.version} -> ${target.backend}`,
            config: breakerConfig,
            onStateChange: (state) =>
              this.metrics.breakerState.set(labels, BREAKER_STATE_VALUE[state]),
          });
    if (breaker !== undefined) this.metrics.breakerState.set(labels, 0);
    const limiter = new ConcurrencyLimiter({
      config: mergedPolicy(config, modelConfig, "concurrency"),
      onShed: () => this.metrics.shed.inc({ backend: target.backend }),
      onQueueDepth: (depth) => this.metrics.queueDepth.set(labels, depth),
    });
    const retryConfig = effectivePolicy(config, modelConfig, "retry");
    // Spans for the target or fallback, the cache and the batch queue (docs/access.md "Tracing").
    const policies: Policy[] = [
      spanPolicy(slot.kind === "fallback" ? "fallback" : "target", {
        "infergate.backend": target.backend,
      }),
    ];
    const cacheConfig = modelConfig.cache ?? config.defaults.cache;
    if (cacheConfig !== undefined && this.cache !== undefined) {
      // The namespace pins model, version slot, target and backend config: a new version, target
      // or backend never serves another's answers.
      const namespace = JSON.stringify([
        model,
        slot,
        targetKey(target),
        config.backends[target.backend] ?? null,
      ]);
      policies.push(
        spanPolicy("cache"),
        this.cache.instance.policy({
          namespace,
          ttlSeconds: cacheConfig.ttlSeconds,
          shared: cacheConfig.shared,
        }),
      );
    }
    const batchingConfig = effectivePolicy(config, modelConfig, "batching");
    const batcher =
      batchingConfig === undefined
        ? undefined
        : new Batcher({
            config: batchingConfig,
            onBatch: (rows) => this.metrics.batchSize.observe({ backend: target.backend }, rows),
            onQueueDepth: (depth) => this.metrics.batchQueueDepth.set(labels, depth),
            onQueueWait: (ms) =>
              this.metrics.batchQueueWait.observe({ backend: target.backend }, ms / 1000),
          });
    if (batcher !== undefined) policies.push(spanPolicy("batch queue"), batcher.policy);
    policies.push(limiter.policy);
    if (retryConfig !== undefined && retryConfig.attempts > 0) {
      const budget = new RetryBudget(retryConfig);
      policies.push(
        retry({
          config: retryConfig,
          budget,
          onRetry: (result) => this.metrics.retries.inc({ backend: target.backend, result }),
        }),
      );
    }
    if (breaker !== undefined) policies.push(breaker.policy);
    policies.push(observe(this.metrics));
    const backend = target.backend;
    const rules = {
      known: target.outputs?.map((o) => o.name),
      maxOutputBytes: config.server.limits.maxOutputBytes,
    };
    const pipeline = compose(...policies)((request) => {
      const adapter = adapters.get(backend);
      if (adapter === undefined)
        throw new BackendUnavailableError(`backend "${backend}" is not running`);
      const { call } = request;
      return adapter
        .infer(request.target, call)
        .then((r) => checkAnswer(backend, r, { ...rules, requested: call.outputs }));
    });
    return {
      key,
      model,
      slot,
      target,
      breaker,
      limiter,
      batcher,
      cached: cacheConfig !== undefined,
      pipeline,
    };
  }
}

/** The map key of a model's slot in a snapshot's states. */
export function slotId(model: string, slot: Slot): string {
  return `${model}\u0000${slot.kind === "version" ? `v:${slot.version}` : `f:${slot.index}`}`;
}

/** Closes what a retired state holds (breaker timers). */
export function closeState(state: TargetState): void {
  state.breaker?.close();
  state.batcher?.close();
}

function stateKey(
  config: GatewayConfig,
  model: string,
  modelConfig: ModelConfig,
  slot: Slot,
  target: TargetRef,
  cacheGeneration: number,
): string {
  return JSON.stringify([
    model,
    slot,
    target,
    cacheGeneration,
    modelConfig.cache ?? config.defaults.cache ?? null,
    effectivePolicy(config, modelConfig, "batching") ?? null,
    config.backends[target.backend] ?? null,
    effectivePolicy(config, modelConfig, "breaker") ?? null,
    effectivePolicy(config, modelConfig, "retry") ?? null,
    mergedPolicy(config, modelConfig, "concurrency"),
    config.server.limits.maxOutputBytes,
  ]);
}
