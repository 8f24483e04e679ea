/**
 * The gateway service of one config snapshot: resolution, metadata, input checks, the policy
 * pipeline down to one adapter, and request metrics. A reload builds a new service; the old one
 * finishes the requests it already holds.
 */
import type { BackendAdapter, ModelMetadata, TargetRef } from "../backends/types.js";
import type { GatewayConfig, ModelConfig } from "../config/schema.js";
import { InternalError, ModelNotFoundError, toGatewayError } from "../errors.js";
import { noteLiveRequest } from "../jobs/live-activity.js";
import type { Metrics } from "../metrics/registry.js";
import { runWithDeadline } from "../pipeline/deadline.js";
import type { RolloutController } from "../routing/rollout.js";
import type { ShadowRunner } from "../routing/shadow.js";
import type { SplitEntry } from "../routing/split.js";
import {
  checkTraffic,
  compareVersions,
  defaultVersion,
  resolveVersion,
} from "../routing/versions.js";
import { noteRequest } from "../triton/statistics.js";
import { MetadataCatalog } from "./catalog.js";
import { runChain } from "./chain.js";
import { checkRequest } from "./check-inputs.js";
import { InFlight } from "./in-flight.js";
import { probeReady } from "./readiness.js";
import { ResolvedRoute, toTargetRef } from "./route.js";
import { type Slot, slotId, slotLabel, type TargetState } from "./targets.js";
import type {
  BreakerInfo,
  HeaderLookup,
  InferenceService,
  InferRequest,
  InferResponse,
  ModelRoutes,
  RequestContext,
  Route,
  RoutesTable,
  RouteTarget,
  ServerInfo,
} from "./types.js";

/** What a service needs: the parsed config and one adapter per configured backend. */
export interface ServiceOptions {
  config: GatewayConfig;
  adapters: ReadonlyMap<string, BackendAdapter>;
  /** Per-slot resilience state and policy chains (TargetRegistry.sync). */
  states: ReadonlyMap<string, TargetState>;
  metrics: Metrics;
  info: ServerInfo;
  /** Readiness probes give up after this long (ms). */
  probeTimeoutMs?: number;
  /**
   * A model's progressive rollout, if it has one: its weights are consulted on every unversioned
   * request (over the config's `traffic`), and every finished request of the model is recorded.
   */
  rolloutFor?: (model: string) => RolloutController | undefined;
  /**
   * The last readiness answer for a target state's key (false: its backend says the version is
   * not ready, so the split gives it nothing); undefined when unknown.
   */
  readyOf?: (key: string) => boolean | undefined;
  /** Runs shadow copies (models with `shadow`); shared across snapshots. */
  shadow?: ShadowRunner;
}

const NEVER_ABORTED = new AbortController().signal;

/** The InferenceService of one config snapshot. */
export class GatewayService implements InferenceService {
  readonly info: ServerInfo;
  readonly config: GatewayConfig;
  /** Requests in flight on this snapshot; a reload waits for them before closing old adapters. */
  readonly inFlight = new InFlight();
  private readonly adapters: ReadonlyMap<string, BackendAdapter>;
  private readonly metrics: Metrics;
  /**
   * Labelled metric children, bound once: prom-client validates and hashes labels on every
   * labelled call otherwise. Bounded by models × versions × backends × error codes.
   */
  private readonly requestCounters = new Map<string, { inc(): void }>();
  private readonly durations = new Map<string, { observe(value: number): void }>();
  /** What each target and version reports of its tensors (bounded by the config). */
  private readonly catalog: MetadataCatalog;
  private readonly states: ReadonlyMap<string, TargetState>;
  private readonly probeTimeoutMs: number;
  private readonly rolloutFor: ((model: string) => RolloutController | undefined) | undefined;
  private readonly readyOf: ((key: string) => boolean | undefined) | undefined;
  private readonly shadow: ShadowRunner | undefined;
  /** Splits set through the admin API; they live on this snapshot, so a reload drops them. */
  private readonly trafficOverrides = new Map<string, readonly SplitEntry[]>();
  /** Per model: is a version's primary target taking traffic (breaker not open)? */
  private readonly eligibility = new Map<string, (version: string) => boolean>();

  constructor(options: ServiceOptions) {
    this.config = options.config;
    this.adapters = options.adapters;
    this.metrics = options.metrics;
    this.info = options.info;
    this.probeTimeoutMs = options.probeTimeoutMs ?? 1000;
    this.states = options.states;
    this.rolloutFor = options.rolloutFor;
    this.readyOf = options.readyOf;
    this.shadow = options.shadow;
    this.catalog = new MetadataCatalog(options.adapters);
  }

  resolve(
    model: string,
    version: string | undefined,
    header: HeaderLookup,
    affinityKey?: string,
  ): ResolvedRoute<GatewayService> {
    const modelConfig = this.modelConfig(model);
    const chosen = resolveVersion(model, modelConfig, version, header, {
      split: this.splitOf(model, modelConfig)?.weights,
      eligible: this.eligibleOf(model),
      affinityKey,
    });
    // The slot's state holds the resolved target (every version slot has one per snapshot): no
    // per-request copy or key building.
    const state = this.states.get(slotId(model, { kind: "version", version: chosen }));
    if (state === undefined) {
      throw new InternalError(`version ${chosen} of model "${model}" resolved but has no target`);
    }
    return new ResolvedRoute(this, model, chosen, modelConfig, state.target);
  }

  /** The split in force: a run-time override, else the rollout's, else the config's. */
  private splitOf(
    model: string,
    modelConfig: ModelConfig,
  ): { source: "config" | "runtime" | "rollout"; weights: readonly SplitEntry[] } | undefined {
    const override = this.trafficOverrides.get(model);
    if (override !== undefined) return { source: "runtime", weights: override };
    const rollout = this.rolloutFor?.(model)?.weights();
    if (rollout !== undefined) return { source: "rollout", weights: rollout };
    if (modelConfig.traffic !== undefined)
      return { source: "config", weights: modelConfig.traffic };
    return undefined;
  }

  private eligibleOf(model: string): (version: string) => boolean {
    let eligible = this.eligibility.get(model);
    if (eligible === undefined) {
      eligible = (version) => {
        const state = this.states.get(slotId(model, { kind: "version", version }));
        if (state === undefined) return true;
        return state.breaker?.state !== "open" && this.readyOf?.(state.key) !== false;
      };
      this.eligibility.set(model, eligible);
    }
    return eligible;
  }

  routes(): RoutesTable {
    const models: Record<string, ModelRoutes> = {};
    for (const [name, modelConfig] of Object.entries(this.config.models)) {
      models[name] = this.modelRoutes(name, modelConfig);
    }
    return { models };
  }

  /** One model's entry of {@link routes}; throws ModelNotFoundError. */
  modelRoutes(name: string, modelConfig = this.modelConfig(name)): ModelRoutes {
    const routeTarget = (slot: Slot, fallbackTarget: TargetRef): RouteTarget => {
      const state = this.states.get(slotId(name, slot));
      const target = state?.target ?? fallbackTarget;
      const out: RouteTarget = { backend: target.backend, model: target.model };
      if (target.version !== undefined) out.version = target.version;
      if (state?.breaker !== undefined) out.breaker = state.breaker.state;
      const ready = state === undefined ? undefined : this.readyOf?.(state.key);
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
    const rollout = this.rolloutFor?.(name);
    if (rollout !== undefined) entry.rollout = rollout.snapshot();
    const traffic = this.splitOf(name, modelConfig);
    if (traffic !== undefined)
      entry.traffic = {
        source: traffic.source,
        weights: traffic.weights.map((e) => ({ version: e.version, weight: e.weight })),
      };
    return entry;
  }

  setTraffic(model: string, entries: readonly SplitEntry[]): void {
    const modelConfig = this.modelConfig(model);
    this.trafficOverrides.set(model, checkTraffic(model, modelConfig, entries));
  }

  private modelConfig(model: string): ModelConfig {
    const modelConfig = Object.hasOwn(this.config.models, model)
      ? this.config.models[model]
      : undefined;
    if (modelConfig === undefined) throw new ModelNotFoundError(model);
    return modelConfig;
  }

  /** The version's metadata: its primary's, else the first fallback's that can say. */
  metadata(route: Route): Promise<ModelMetadata> {
    const r = this.own(route);
    return this.catalog.publish(r, this.chain(r), Date.now() + this.timeoutMs(r));
  }

  async ready(route: Route): Promise<boolean> {
    return this.probe(this.own(route).target);
  }

  async infer(
    route: Route,
    request: InferRequest,
    context: RequestContext,
  ): Promise<InferResponse> {
    const r = this.own(route);
    if ((context.priority ?? "live") === "live") noteLiveRequest();
    const started = process.hrtime.bigint();
    const release = this.inFlight.enter();
    // A progressive rollout judges versions by server-side failures only; bad input is the client's.
    let serverFailure = false;
    try {
      const due = Math.min(
        Date.now() + this.timeoutMs(r),
        context.clientDeadline ?? Number.POSITIVE_INFINITY,
      );
      const call = {
        ...(request.id === undefined ? {} : { id: request.id }),
        inputs: request.inputs,
        ...(request.outputs === undefined ? {} : { outputs: request.outputs }),
        deadline: due,
        signal: context.signal ?? NEVER_ABORTED,
        noCache: /\bno-cache\b/i.test(context.header("cache-control") ?? ""),
        ...(context.priority === undefined ? {} : { priority: context.priority }),
        ...(request.parameters === undefined ? {} : { parameters: request.parameters }),
        ...(request.tensorParameters === undefined
          ? {}
          : { tensorParameters: request.tensorParameters }),
      };
      // One deadline for the whole request: retries and fallbacks included. Each target checks
      // the request against its own metadata first, so a primary that cannot even say what it
      // takes is skipped like one that fails the call.
      const answer = await runWithDeadline(call, (c) =>
        runChain(this.chain(r), c, async (state, index, last) => {
          const meta = await this.catalog.forTarget(r, state, index, c.deadline, last);
          checkRequest(meta, request.inputs, request.outputs);
        }),
      );
      const backend = answer.state.target.backend;
      this.countRequest(r.model, r.version, backend, "OK");
      if (answer.index > 0)
        this.metrics.fallbacks.inc({ model: r.model, version: r.version, backend });
      this.maybeShadow(r, request, answer.result.outputs, started);
      const cache = answer.result.cache ?? (answer.state.cached ? "miss" : "off");
      noteRequest(r.model, r.version, started, {
        cache,
        batched: answer.state.batcher !== undefined,
        firstShape: request.inputs[0]?.shape,
      });
      return {
        ...(request.id === undefined ? {} : { id: request.id }),
        model: r.model,
        version: r.version,
        outputs: answer.result.outputs,
        backend,
        fallback: answer.index > 0,
        cache,
      };
    } catch (err) {
      const code = toGatewayError(err).code;
      serverFailure = code !== "INVALID_REQUEST";
      this.countRequest(r.model, r.version, r.backend, code);
      noteRequest(r.model, r.version, started, undefined);
      throw err;
    } finally {
      release();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.durationOf(r.model, r.version).observe(seconds);
      this.rolloutFor?.(r.model)?.record(r.version, !serverFailure, seconds * 1000);
    }
  }

  hold(): () => void {
    return this.inFlight.enter();
  }

  /**
   * Copies the request to the model's shadow version in the background (SPEC-silent choice: only
   * requests the primary answered are copied, so the two can be compared). The client never waits.
   */
  private maybeShadow(
    primary: ResolvedRoute<GatewayService>,
    request: InferRequest,
    outputs: InferResponse["outputs"],
    started: bigint,
  ): void {
    const shadow = primary.modelConfig.shadow;
    if (this.shadow === undefined || shadow === undefined || shadow.version === primary.version)
      return;
    if (!this.shadow.sample(shadow.percent)) return;
    const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
    this.shadow.submit(
      { model: primary.model, primary: primary.version, shadow: shadow.version },
      { outputs, latencyMs },
      (signal) => this.runShadow(primary.model, shadow.version, request, signal),
    );
  }

  /** The shadow version's answer, through its own chain, deadline and snapshot hold. */
  private async runShadow(
    model: string,
    version: string,
    request: InferRequest,
    signal: AbortSignal,
  ): Promise<{ outputs: InferResponse["outputs"] }> {
    const release = this.inFlight.enter();
    try {
      const route = this.resolve(model, version, () => undefined);
      const call = {
        inputs: request.inputs,
        ...(request.outputs === undefined ? {} : { outputs: request.outputs }),
        deadline: Date.now() + this.timeoutMs(route),
        signal,
      };
      const answer = await runWithDeadline(call, (c) => runChain(this.chain(route), c));
      return { outputs: answer.result.outputs };
    } finally {
      release();
    }
  }

  models(): string[] {
    return Object.keys(this.config.models);
  }

  async readiness(): Promise<{ ready: boolean; reasons: string[] }> {
    const checks = Object.keys(this.config.models).map(async (name) => {
      const states = this.statesOf(name);
      const results = await Promise.all(
        states.map((s) => (s.breaker?.state === "open" ? false : this.probe(s.target))),
      );
      return results.some(Boolean) ? undefined : `model "${name}": no reachable target`;
    });
    const unreachable = (await Promise.all(checks)).filter((r): r is string => r !== undefined);
    // Open breakers are named even when a fallback keeps the model ready.
    const open = this.breakers()
      .filter((b) => b.state === "open")
      .map((b) => `breaker open: model "${b.model}" ${b.slot} -> backend "${b.backend}"`);
    return { ready: unreachable.length === 0, reasons: [...unreachable, ...open] };
  }

  private countRequest(model: string, version: string, backend: string, code: string): void {
    const key = `${model}\u0000${version}\u0000${backend}\u0000${code}`;
    let counter = this.requestCounters.get(key);
    if (counter === undefined) {
      counter = this.metrics.requests.labels({ model, version, backend, code });
      this.requestCounters.set(key, counter);
    }
    counter.inc();
  }

  private durationOf(model: string, version: string): { observe(value: number): void } {
    const key = `${model}\u0000${version}`;
    let histogram = this.durations.get(key);
    if (histogram === undefined) {
      histogram = this.metrics.requestDuration.labels({ model, version });
      this.durations.set(key, histogram);
    }
    return histogram;
  }

  /** This snapshot's target states (the runtime closes retired ones). */
  targetStates(): TargetState[] {
    return [...this.states.values()];
  }

  breakers(): BreakerInfo[] {
    return [...this.states.values()].flatMap((s) =>
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

  /** The route's target first, then the model's fallbacks in order. */
  private chain(route: ResolvedRoute<GatewayService>): TargetState[] {
    const primary = this.state(route.model, { kind: "version", version: route.version });
    const fallbacks = (route.modelConfig.fallback ?? []).map((_, index) =>
      this.state(route.model, { kind: "fallback", index }),
    );
    return [primary, ...fallbacks];
  }

  private statesOf(model: string): TargetState[] {
    return [...this.states.values()].filter((s) => s.model === model);
  }

  private state(model: string, slot: Slot): TargetState {
    const state = this.states.get(slotId(model, slot));
    if (state === undefined)
      throw new InternalError(`no target state for ${model} ${slotLabel(slot)}`);
    return state;
  }

  private own(route: Route): ResolvedRoute<GatewayService> {
    if (route instanceof ResolvedRoute && route.owner instanceof GatewayService) {
      return route as ResolvedRoute<GatewayService>;
    }
    throw new InternalError("route was not made by a gateway service");
  }

  private timeoutMs(route: ResolvedRoute<GatewayService>): number {
    return route.modelConfig.timeoutMs ?? this.config.defaults.timeoutMs;
  }

  private async probe(target: TargetRef): Promise<boolean> {
    const adapter = this.adapters.get(target.backend);
    if (adapter === undefined) return false;
    return probeReady(adapter, target, this.probeTimeoutMs);
  }
}
