/**
 * Holds the live config snapshot and swaps it atomically on reload. Requests in flight keep the
 * service (and adapters) they started with; new requests take the new one. Adapters whose backend
 * config did not change are carried over, so a reload does not drop connections or ONNX sessions.
 */
import { type AdapterHooks, createAdapter } from "../backends/factory.js";
import type { BackendAdapter } from "../backends/types.js";
import { ResponseCache } from "../cache/response-cache.js";
import { loadConfigFile } from "../config/load.js";
import type { GatewayConfig } from "../config/schema.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics/registry.js";
import { RolloutRegistry } from "../routing/rollout/registry.js";
import {
  DEFAULT_SHADOW_MAX_IN_FLIGHT,
  DEFAULT_SHADOW_MAX_QUEUE,
  ShadowRunner,
} from "../routing/shadow.js";
import type { SplitEntry } from "../routing/split.js";
import { WeightsSync } from "../routing/weights-sync.js";
import { carryRuntimeWeights } from "./carry-weights.js";
import { ReadinessMonitor, type ReadinessProbe } from "./readiness.js";
import { GatewayService } from "./service.js";
import { closeState, TargetRegistry, type TargetState } from "./targets.js";
import type { ReloadResult, ServerInfo } from "./types.js";

/** A config that failed to load, with every error in the `path: message` form of docs/config.md "Loading, validation and reload". */
export class ConfigInvalidError extends Error {
  override name = "ConfigInvalidError";
  constructor(readonly errors: string[]) {
    super(`invalid config:\n${errors.join("\n")}`);
  }
}

interface LiveAdapter {
  key: string;
  adapter: BackendAdapter;
}

/** Options for starting a runtime. */
export interface RuntimeOptions {
  configPath: string;
  metrics: Metrics;
  logger: Logger;
  info: ServerInfo;
  env?: Record<string, string | undefined>;
}

/** The gateway's live state: the current service and the adapters behind it. */
export class Runtime {
  private reloading: Promise<unknown> = Promise.resolve();
  private queued: Promise<ReloadResult> | undefined;
  private closed = false;

  private service: GatewayService;
  private readonly rollouts: RolloutRegistry;
  /** Readiness of the versions a split may choose between (see readiness.ts). */
  private readonly readiness: ReadinessMonitor;
  /** Shadow copies of every snapshot share one bounded runner. */
  private readonly shadow: ShadowRunner;
  /** Run-time traffic weights, shared through Redis when configured (weights-sync.ts). */
  private readonly weights: WeightsSync;
  private cache: { instance: ResponseCache; generation: number; settings: string };

  private constructor(
    private readonly options: RuntimeOptions,
    private readonly targets: TargetRegistry,
    config: GatewayConfig,
    private adapters: Map<string, LiveAdapter>,
  ) {
    this.cache = { ...this.newCache(config), generation: 0 };
    this.rollouts = new RolloutRegistry(options.metrics, options.logger);
    this.readiness = new ReadinessMonitor({
      onChange: (key, ready) =>
        options.logger.warn(
          { target: key, ready },
          ready ? "split version ready again" : "split version not ready: it gets no split traffic",
        ),
    });
    this.shadow = new ShadowRunner({
      maxInFlight: DEFAULT_SHADOW_MAX_IN_FLIGHT,
      maxQueue: DEFAULT_SHADOW_MAX_QUEUE,
      metrics: options.metrics,
      onError: (err, labels) => options.logger.debug({ err, ...labels }, "shadow request failed"),
    });
    this.service = this.serviceFor(config, adapters).service;
    this.weights = new WeightsSync({ current: () => this.service, logger: options.logger });
    this.weights.sync(config);
  }

  /** Loads the config and starts every backend; throws ConfigInvalidError for a bad file. */
  static async start(options: RuntimeOptions): Promise<Runtime> {
    const config = await Runtime.load(options);
    const adapters = await buildAdapters(config, new Map(), adapterHooks(options.metrics));
    const runtime = new Runtime(options, new TargetRegistry(options.metrics), config, adapters);
    // A new replica starts with the fleet's shared weights, unless Redis is down.
    await runtime.weights.ready(1000);
    return runtime;
  }

  /** Sets a model's run-time split (on every replica when shared); see WeightsSync.set. */
  setTraffic(model: string, entries: readonly SplitEntry[]): Promise<void> {
    return this.weights.set(model, entries);
  }

  /** The service new requests should use. */
  current(): GatewayService {
    return this.service;
  }

  /** Reloads the config file; a bad file changes nothing. Reloads run one at a time. */
  reload(): Promise<ReloadResult> {
    // Requests that arrive while a reload waits its turn join it: it reads the file after them.
    if (this.queued !== undefined) return this.queued;
    const next = this.reloading.then(() => {
      this.queued = undefined;
      return this.reloadNow();
    });
    this.queued = next;
    this.reloading = next.catch(() => undefined);
    return next;
  }

  /** Waits (up to `timeoutMs`) for requests in flight, then closes every adapter. */
  async close(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.reloading;
    await this.weights.close();
    await this.service.inFlight.idle(timeoutMs);
    for (const state of this.service.targetStates()) closeState(state);
    await this.rollouts.close();
    this.readiness.close();
    await this.shadow.close(Math.min(timeoutMs, 5000));
    await this.cache.instance.close();
    await closeAll(
      [...this.adapters.values()].map((a) => a.adapter),
      this.options.logger,
    );
  }

  private async reloadNow(): Promise<ReloadResult> {
    const { logger, metrics } = this.options;
    let config: GatewayConfig;
    let adapters: Map<string, LiveAdapter>;
    try {
      config = await Runtime.load(this.options);
      adapters = await buildAdapters(config, this.adapters, adapterHooks(metrics));
    } catch (err) {
      const errors =
        err instanceof ConfigInvalidError
          ? err.errors
          : [String(err instanceof Error ? err.message : err)];
      metrics.configReloads.inc({ result: "failure" });
      logger.warn({ errors }, "config reload rejected; the old config keeps serving");
      return { ok: false, errors };
    }
    warnOnListenerChange(this.service.config, config, logger);
    const old = this.service;
    const oldCache = this.swapCacheIfChanged(config);
    const retired = [...this.adapters.entries()]
      .filter(([name, live]) => adapters.get(name)?.adapter !== live.adapter)
      .map(([, live]) => live.adapter);
    const next = this.serviceFor(config, adapters);
    carryRuntimeWeights(old, next.service, logger);
    this.service = next.service;
    this.weights.reloaded(next.service);
    this.adapters = adapters;
    metrics.configReloads.inc({ result: "success" });
    logger.info({ models: Object.keys(config.models) }, "config reloaded");
    // Old requests finish on the old adapters and target states before those close.
    void old.inFlight.idle(old.config.server.drainTimeoutMs).then(() => {
      for (const state of next.retiredStates) closeState(state);
      void oldCache?.close();
      return closeAll(retired, logger);
    });
    return { ok: true };
  }

  private static async load(options: RuntimeOptions): Promise<GatewayConfig> {
    const result = await loadConfigFile(
      options.configPath,
      options.env === undefined ? {} : { env: options.env },
    );
    if (!result.ok) throw new ConfigInvalidError(result.errors);
    return result.config;
  }

  /** The cache for `config`'s settings; kept across reloads unless those change. */
  private newCache(config: GatewayConfig): { instance: ResponseCache; settings: string } {
    const { metrics, logger } = this.options;
    const settings = JSON.stringify([config.server.cacheMaxBytes, config.redis ?? null]);
    const instance = new ResponseCache({
      maxBytes: config.server.cacheMaxBytes,
      ...(config.redis === undefined ? {} : { redis: config.redis }),
      onLookup: (tier, result) => metrics.cacheRequests.inc({ tier, result }),
      onBytes: (bytes) => metrics.cacheBytes.set(bytes),
      logger,
    });
    return { instance, settings };
  }

  /** Starts a new cache when the cache settings changed; returns the old one to close later. */
  private swapCacheIfChanged(config: GatewayConfig): ResponseCache | undefined {
    const settings = JSON.stringify([config.server.cacheMaxBytes, config.redis ?? null]);
    if (settings === this.cache.settings) return undefined;
    const old = this.cache.instance;
    this.cache = { ...this.newCache(config), generation: this.cache.generation + 1 };
    return old;
  }

  /** A service for `config`, with target states carried over from the last one where unchanged. */
  private serviceFor(
    config: GatewayConfig,
    adapters: Map<string, LiveAdapter>,
  ): { service: GatewayService; retiredStates: TargetState[] } {
    const byName = new Map([...adapters].map(([name, live]) => [name, live.adapter]));
    const { states, retired } = this.targets.sync(config, byName, this.cache);
    this.rollouts.sync(config);
    this.readiness.sync(splitProbes(config, states, byName));
    const rollouts = this.rollouts;
    const readiness = this.readiness;
    const service = new GatewayService({
      config,
      adapters: byName,
      states,
      metrics: this.options.metrics,
      info: this.options.info,
      rolloutFor: (model) => rollouts.get(model),
      readyOf: (key) => readiness.ready(key),
      shadow: this.shadow,
    });
    return { service, retiredStates: retired };
  }
}

/** The version targets of every model with more than one version: what a split chooses between. */
function splitProbes(
  config: GatewayConfig,
  states: ReadonlyMap<string, TargetState>,
  adapters: ReadonlyMap<string, BackendAdapter>,
): ReadinessProbe[] {
  const probes: ReadinessProbe[] = [];
  for (const state of states.values()) {
    if (state.slot.kind !== "version") continue;
    if (Object.keys(config.models[state.model]?.versions ?? {}).length < 2) continue;
    const adapter = adapters.get(state.target.backend);
    if (adapter !== undefined)
      probes.push({ key: state.fingerprint, adapter, target: state.target });
  }
  return probes;
}

/** Reuses adapters whose backend config is unchanged; starts the rest. On failure closes what it started. */
async function buildAdapters(
  config: GatewayConfig,
  existing: ReadonlyMap<string, LiveAdapter>,
  hooks: AdapterHooks,
): Promise<Map<string, LiveAdapter>> {
  const built = new Map<string, LiveAdapter>();
  const started: BackendAdapter[] = [];
  try {
    for (const [name, backend] of Object.entries(config.backends)) {
      const key = JSON.stringify([backend, config.server.bodyLimitBytes]);
      const reuse = existing.get(name);
      if (reuse !== undefined && reuse.key === key) {
        built.set(name, reuse);
        continue;
      }
      const adapter = await createAdapter(name, backend, {
        ...hooks,
        bodyLimitBytes: config.server.bodyLimitBytes,
      });
      started.push(adapter);
      built.set(name, { key, adapter });
    }
  } catch (err) {
    await Promise.allSettled(started.map((a) => a.close()));
    throw err;
  }
  return built;
}

async function closeAll(adapters: readonly BackendAdapter[], logger: Logger): Promise<void> {
  const results = await Promise.allSettled(adapters.map((a) => a.close()));
  for (const r of results) {
    if (r.status === "rejected") logger.warn({ err: r.reason }, "closing a backend failed");
  }
}

function warnOnListenerChange(before: GatewayConfig, after: GatewayConfig, logger: Logger): void {
  const a = before.server;
  const b = after.server;
  if (a.host !== b.host || a.port !== b.port || a.grpcPort !== b.grpcPort) {
    logger.warn("server host and ports change only on restart; the listeners keep their addresses");
  }
  if (a.adminPort !== b.adminPort || a.adminHost !== b.adminHost) {
    // Loud: an operator moving /admin off the public port must know it has not moved yet.
    logger.warn(
      { before: { adminPort: a.adminPort, adminHost: a.adminHost } },
      "server.adminPort/adminHost change only on restart: /admin/* stays where it was until then",
    );
  }
}

function adapterHooks(metrics: Metrics): AdapterHooks {
  return { onEject: (backend, replica) => metrics.ejections.inc({ backend, replica }) };
}
