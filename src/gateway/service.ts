/**
 * The gateway service of one config snapshot: resolution, metadata, input checks, the policy
 * pipeline down to one adapter, and request metrics. A reload builds a new service; the old one
 * finishes the requests it already holds.
 */
import type { BackendAdapter, ModelMetadata, TargetRef } from "../backends/types.js";
import type { GatewayConfig } from "../config/schema.js";
import { MAX_TIMER_MS } from "../config/schema.js";
import {
  BackendTimeoutError,
  BackendUnavailableError,
  InternalError,
  ModelNotFoundError,
  toGatewayError,
} from "../errors.js";
import type { Metrics } from "../metrics/registry.js";
import { deadline } from "../pipeline/deadline.js";
import { observe } from "../pipeline/observe.js";
import { compose, type InferFn } from "../pipeline/types.js";
import { compareVersions, resolveVersion } from "../routing/versions.js";
import { checkRequest } from "./check-inputs.js";
import { InFlight } from "./in-flight.js";
import { ResolvedRoute, targetKey, toTargetRef } from "./route.js";
import type {
  HeaderLookup,
  InferenceService,
  InferRequest,
  InferResponse,
  RequestContext,
  Route,
  ServerInfo,
} from "./types.js";

/** What a service needs: the parsed config and one adapter per configured backend. */
export interface ServiceOptions {
  config: GatewayConfig;
  adapters: ReadonlyMap<string, BackendAdapter>;
  metrics: Metrics;
  info: ServerInfo;
  /** Readiness probes give up after this long (ms). */
  probeTimeoutMs?: number;
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
  private readonly metadataCache = new Map<string, Promise<ModelMetadata>>();
  /** Settled metadata, so the hot path needs no timer once a target's metadata is known. */
  private readonly knownMetadata = new Map<string, ModelMetadata>();
  private readonly pipeline: InferFn;
  private readonly probeTimeoutMs: number;

  constructor(options: ServiceOptions) {
    this.config = options.config;
    this.adapters = options.adapters;
    this.metrics = options.metrics;
    this.info = options.info;
    this.probeTimeoutMs = options.probeTimeoutMs ?? 1000;
    this.pipeline = compose(
      deadline(),
      observe(this.metrics),
    )((request) => this.adapter(request.target.backend).infer(request.target, request.call));
  }

  resolve(
    model: string,
    version: string | undefined,
    header: HeaderLookup,
  ): ResolvedRoute<GatewayService> {
    const modelConfig = Object.hasOwn(this.config.models, model)
      ? this.config.models[model]
      : undefined;
    if (modelConfig === undefined) throw new ModelNotFoundError(model);
    const chosen = resolveVersion(model, modelConfig, version, header);
    const target = modelConfig.versions[chosen];
    if (target === undefined)
      throw new InternalError(`version ${chosen} resolved but has no target`);
    return new ResolvedRoute(this, model, chosen, modelConfig, toTargetRef(model, target));
  }

  async metadata(route: Route): Promise<ModelMetadata> {
    const r = this.own(route);
    const backendMeta = await this.targetMetadata(r.target, Date.now() + this.timeoutMs(r));
    return {
      name: r.model,
      versions: Object.keys(r.modelConfig.versions).sort(compareVersions),
      platform: backendMeta.platform,
      inputs: backendMeta.inputs,
      outputs: backendMeta.outputs,
    };
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
    const started = process.hrtime.bigint();
    const labels = { model: r.model, version: r.version };
    const release = this.inFlight.enter();
    try {
      const due = Math.min(
        Date.now() + this.timeoutMs(r),
        context.clientDeadline ?? Number.POSITIVE_INFINITY,
      );
      const meta = await this.targetMetadata(r.target, due);
      checkRequest({ ...meta, name: r.model }, request.inputs, request.outputs);
      const result = await this.pipeline({
        target: r.target,
        call: {
          ...(request.id === undefined ? {} : { id: request.id }),
          inputs: request.inputs,
          ...(request.outputs === undefined ? {} : { outputs: request.outputs }),
          deadline: due,
          signal: context.signal ?? NEVER_ABORTED,
        },
      });
      this.metrics.requests.inc({ ...labels, backend: r.backend, code: "OK" });
      return {
        ...(request.id === undefined ? {} : { id: request.id }),
        model: r.model,
        version: r.version,
        outputs: result.outputs,
        backend: r.backend,
        fallback: false,
        cache: "off",
      };
    } catch (err) {
      this.metrics.requests.inc({ ...labels, backend: r.backend, code: toGatewayError(err).code });
      throw err;
    } finally {
      release();
      this.metrics.requestDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  hold(): () => void {
    return this.inFlight.enter();
  }

  models(): string[] {
    return Object.keys(this.config.models);
  }

  async readiness(): Promise<{ ready: boolean; reasons: string[] }> {
    const checks = Object.entries(this.config.models).map(async ([name, model]) => {
      const targets = Object.values(model.versions).map((t) => toTargetRef(name, t));
      const results = await Promise.all(targets.map((t) => this.probe(t)));
      return results.some(Boolean) ? undefined : `model "${name}": no reachable target`;
    });
    const reasons = (await Promise.all(checks)).filter((r): r is string => r !== undefined);
    return { ready: reasons.length === 0, reasons };
  }

  /** The adapter behind a backend name; a missing one is a config bug caught at load. */
  private adapter(name: string): BackendAdapter {
    const adapter = this.adapters.get(name);
    if (adapter === undefined)
      throw new BackendUnavailableError(`backend "${name}" is not running`);
    return adapter;
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

  /**
   * Backend metadata with declared tensors applied; cached per target, failures not cached. The
   * caller waits at most until `due` (BACKEND_TIMEOUT); the fetch itself goes on for later callers.
   */
  private targetMetadata(target: TargetRef, due: number): Promise<ModelMetadata> {
    const key = targetKey(target);
    const known = this.knownMetadata.get(key);
    if (known !== undefined) return Promise.resolve(known);
    let cached = this.metadataCache.get(key);
    if (cached === undefined) {
      cached = this.loadMetadata(target);
      this.metadataCache.set(key, cached);
      cached.then(
        (meta) => this.knownMetadata.set(key, meta),
        () => this.metadataCache.delete(key),
      );
    }
    return untilDeadline(
      cached,
      due,
      `metadata of "${target.model}" on backend "${target.backend}"`,
    );
  }

  private async loadMetadata(target: TargetRef): Promise<ModelMetadata> {
    const declaredBoth = target.inputs !== undefined && target.outputs !== undefined;
    const reported = declaredBoth
      ? { name: target.model, versions: [], platform: "declared", inputs: [], outputs: [] }
      : await this.adapter(target.backend).metadata(target);
    return {
      ...reported,
      inputs: target.inputs ?? reported.inputs,
      outputs: target.outputs ?? reported.outputs,
    };
  }

  private async probe(target: TargetRef): Promise<boolean> {
    const adapter = this.adapters.get(target.backend);
    if (adapter === undefined) return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.probeTimeoutMs);
    });
    try {
      return await Promise.race([adapter.ready(target).catch(() => false), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** `promise`, or BACKEND_TIMEOUT once `due` (ms since epoch) passes first. */
async function untilDeadline<T>(promise: Promise<T>, due: number, what: string): Promise<T> {
  const remaining = Math.min(due - Date.now(), MAX_TIMER_MS);
  if (remaining <= 0) throw new BackendTimeoutError(`deadline passed before ${what} was known`);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new BackendTimeoutError(`deadline passed while fetching ${what}`)),
      remaining,
    );
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
