/**
 * The gateway service of one config snapshot: what the fronts call. It holds the snapshot's parts —
 * the resolver (resolver.ts), the metadata catalog (catalog.ts), the per-version records
 * (version-record.ts) and the admin views (admin-views.ts) — and runs the request steps of
 * {@link GatewayService.infer}. A reload builds a new service; the old one finishes the requests
 * it already holds.
 */
import type { BackendAdapter, ModelMetadata, TargetRef } from "../backends/types.js";
import type { GatewayConfig } from "../config/schema.js";
import { InternalError, toGatewayError } from "../errors.js";
import type { Metrics } from "../metrics/registry.js";
import { runWithDeadline } from "../pipeline/deadline.js";
import type { RolloutController } from "../routing/rollout/controller.js";
import type { ShadowRunner } from "../routing/shadow.js";
import type { SplitEntry } from "../routing/split.js";
import { answerParameters } from "../triton/parameters.js";
import { breakerList, modelRoutes, routesTable, type SnapshotView } from "./admin-views.js";
import { MetadataCatalog } from "./catalog.js";
import { runWithFallback } from "./fallback.js";
import { InFlight } from "./in-flight.js";
import { probeReady } from "./readiness.js";
import { RequestMetrics } from "./request-metrics.js";
import {
  cacheOf,
  REQUEST_STEPS,
  type RequestRun,
  runSteps,
  type StepContext,
} from "./request-steps.js";
import { Resolver } from "./resolver.js";
import { ResolvedRoute } from "./route.js";
import type { TargetState } from "./targets.js";
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
  ServerInfo,
} from "./types.js";
import { buildVersionRecords } from "./version-record.js";

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
   * The last readiness answer for a target state's fingerprint (false: its backend says the version is
   * not ready, so the split gives it nothing); undefined when unknown.
   */
  readyOf?: (fingerprint: string) => boolean | undefined;
  /** Runs shadow copies (models with `shadow`); shared across snapshots. */
  shadow?: ShadowRunner;
}

type OwnRoute = ResolvedRoute<GatewayService>;

/** The InferenceService of one config snapshot. */
export class GatewayService implements InferenceService {
  readonly info: ServerInfo;
  readonly config: GatewayConfig;
  /** Requests in flight on this snapshot; a reload waits for them before closing old adapters. */
  readonly inFlight = new InFlight();
  private readonly adapters: ReadonlyMap<string, BackendAdapter>;
  private readonly states: ReadonlyMap<string, TargetState>;
  private readonly resolver: Resolver;
  /** What each target and version reports of its tensors (bounded by the config). */
  private readonly catalog: MetadataCatalog;
  private readonly requests: RequestMetrics;
  private readonly view: SnapshotView;
  private readonly probeTimeoutMs: number;
  private readonly rolloutFor: ((model: string) => RolloutController | undefined) | undefined;
  private readonly shadow: ShadowRunner | undefined;
  /** What the request steps use of this snapshot. */
  private readonly steps: StepContext;

  constructor(options: ServiceOptions) {
    this.config = options.config;
    this.adapters = options.adapters;
    // The name is the config's (server.name), so a reload renames the server.
    this.info = { ...options.info, name: options.config.server.name };
    this.probeTimeoutMs = options.probeTimeoutMs ?? 1000;
    this.states = options.states;
    this.rolloutFor = options.rolloutFor;
    this.shadow = options.shadow;
    this.catalog = new MetadataCatalog(options.adapters);
    this.requests = new RequestMetrics(options.metrics);
    const records = buildVersionRecords(options.config, options.states);
    this.resolver = new Resolver(options.config, records, options);
    this.steps = {
      catalog: this.catalog,
      requests: this.requests,
      rolloutFor: options.rolloutFor,
      timeoutMs: (route) => this.timeoutMs(route),
      shadow: (run, outputs) => this.maybeShadow(run, outputs),
    };
    this.view = {
      config: options.config,
      states: options.states,
      splitOf: (model, modelConfig) => this.resolver.splitOf(model, modelConfig),
      rolloutFor: options.rolloutFor,
      readyOf: options.readyOf,
    };
  }

  resolve(
    model: string,
    version: string | undefined,
    header: HeaderLookup,
    affinityKey?: string,
  ): OwnRoute {
    return this.resolver.resolve(this, model, version, header, affinityKey);
  }

  routes(): RoutesTable {
    return routesTable(this.view);
  }

  /** One model's entry of {@link routes}; throws ModelNotFoundError. */
  modelRoutes(name: string): ModelRoutes {
    return modelRoutes(this.view, name, this.resolver.modelConfig(name));
  }

  setTraffic(model: string, entries: readonly SplitEntry[]): void {
    this.resolver.setTraffic(model, entries);
  }

  /** Drops a run-time split (another replica's reload cleared the shared one). */
  clearTraffic(model: string): void {
    this.resolver.clearTraffic(model);
  }

  breakers(): BreakerInfo[] {
    return breakerList(this.states.values());
  }

  /** The version's metadata: its primary's, else the first fallback's that can say. */
  metadata(route: Route): Promise<ModelMetadata> {
    const r = this.own(route);
    return this.catalog.publish(r, r.record.chain, Date.now() + this.timeoutMs(r));
  }

  async ready(route: Route): Promise<boolean> {
    return this.probe(this.own(route).target);
  }

  /**
   * One request through {@link REQUEST_STEPS} (request-steps.ts): note live traffic, record for a
   * rollout, count, copy to the shadow version, one deadline, each target's input check, the
   * fallback list. The caller holds the snapshot (`hold`) around the call, so it is pinned once.
   */
  async infer(
    route: Route,
    request: InferRequest,
    context: RequestContext,
  ): Promise<InferResponse> {
    const r = this.own(route);
    const run: RequestRun = { route: r, request, context, started: process.hrtime.bigint() };
    const answer = await runSteps(REQUEST_STEPS, this.steps, run);
    return {
      ...(request.id === undefined ? {} : { id: request.id }),
      model: r.model,
      version: r.version,
      outputs: answer.result.outputs,
      backend: answer.state.target.backend,
      fallback: answer.index > 0,
      cache: cacheOf(answer),
      ...answerParameters(answer.result),
    };
  }

  refused(route: Route, err: unknown): void {
    this.requests.count(route.model, route.version, route.backend, toGatewayError(err).code);
  }

  hold(): () => void {
    return this.inFlight.enter();
  }

  /**
   * Copies the request to the model's shadow version in the background (docs/traffic.md "Shadow
   * traffic": only requests the primary answered are copied, so the two can be compared). The
   * client never waits.
   */
  private maybeShadow(run: RequestRun, outputs: InferResponse["outputs"]): void {
    const { route: primary, request, started } = run;
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

  /** The shadow version's answer, through its own fallback list, deadline and snapshot hold. */
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
      const answer = await runWithDeadline(call, (c) => runWithFallback(route.record.chain, c));
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
      const states = [...this.states.values()].filter((s) => s.model === name);
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

  /** This snapshot's target states (the runtime closes retired ones). */
  targetStates(): TargetState[] {
    return [...this.states.values()];
  }

  private own(route: Route): OwnRoute {
    if (route instanceof ResolvedRoute && route.owner instanceof GatewayService) {
      return route as OwnRoute;
    }
    throw new InternalError("route was not made by a gateway service");
  }

  private timeoutMs(route: ResolvedRoute): number {
    return route.modelConfig.timeoutMs ?? this.config.defaults.timeoutMs;
  }

  private async probe(target: TargetRef): Promise<boolean> {
    const adapter = this.adapters.get(target.backend);
    if (adapter === undefined) return false;
    return probeReady(adapter, target, this.probeTimeoutMs);
  }
}
