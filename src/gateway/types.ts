/**
 * The service every front (unified HTTP, KServe v2 REST, KServe v2 gRPC) calls. A front turns its
 * wire format into these canonical values and back; it never sees config, routing or backends.
 */
import type { RequestScope } from "../auth/principal.js";
import type { ModelMetadata, Priority } from "../backends/types.js";
import type { SplitEntry } from "../routing/split.js";
import type { NamedTensor } from "../tensor/types.js";
import type { TensorParameters } from "../triton/parameters.js";

/** Reads a request header by lower-case name (HTTP headers or gRPC metadata). */
export type HeaderLookup = (name: string) => string | undefined;

/**
 * A request resolved to one model version of one config snapshot. Opaque to fronts except for the
 * fields below; it pins the snapshot so a reload never changes a request in flight.
 */
export interface Route {
  /** The gateway's model name. */
  readonly model: string;
  /** The gateway's version id that was chosen. */
  readonly version: string;
  /** The config backend name of the primary target. */
  readonly backend: string;
}

/** A canonical inference request, after the front decoded its wire format. */
export interface InferRequest {
  id?: string;
  inputs: NamedTensor[];
  /** Requested output names; undefined = all. */
  outputs?: string[];
  parameters?: Record<string, unknown>;
  /** Per-input and per-output parameters for the backend (docs/triton.md "Parameters and sequences"). */
  tensorParameters?: TensorParameters;
}

/** Per-request context a front builds from its transport. */
export interface RequestContext {
  /** `x-request-id` echoed or generated. */
  requestId: string;
  /** Header lookup (stickiness, version pinning, Cache-Control). */
  header: HeaderLookup;
  /** A deadline the client asked for (ms since epoch); the gateway uses the earlier of it and the model's timeoutMs. */
  clientDeadline?: number;
  /** Aborted when the client goes away. */
  signal?: AbortSignal;
  /**
   * The controller behind `signal` when it belongs to this one request (a front's own): the
   * request's deadline then aborts it directly rather than linking a second controller to it.
   * Never a controller shared by several requests (a stream's, a batch's).
   */
  controller?: AbortController;
  /** Scheduling lane; absent = live. Async jobs run as "async" so live requests go first. */
  priority?: Priority;
  /**
   * The request's caller and what it resolved to (src/auth/principal.ts). A front's request always
   * has one; work the gateway starts itself (batches, rollouts) may have none.
   */
  scope?: RequestScope;
}

/** A canonical inference answer. */
export interface InferResponse {
  id?: string;
  model: string;
  version: string;
  outputs: NamedTensor[];
  /** The config backend name that computed the answer. */
  backend: string;
  /** True when a fallback target answered. */
  fallback: boolean;
  cache: "hit" | "miss" | "off";
  /** Parameters the backend set on its answer and on each output (docs/triton.md). */
  parameters?: Record<string, unknown>;
  outputParameters?: Record<string, Record<string, unknown>>;
}

/** The result of a config reload, as POST /admin/reload reports it. */
export type ReloadResult = { ok: true } | { ok: false; errors: string[] };

/** Server identity for KServe v2 server metadata. */
export interface ServerInfo {
  name: string;
  version: string;
  extensions: string[];
}

/** A circuit breaker as GET /admin/breakers shows it. */
export interface BreakerInfo {
  model: string;
  /** The version id, or `fallback[i]`. */
  slot: string;
  backend: string;
  state: "closed" | "open" | "halfOpen";
  successes: number;
  failures: number;
  rejects: number;
  openedAt?: string;
}

/** A target as GET /admin/routes shows it: `version` absent = the backend's latest/default. */
export interface RouteTarget {
  backend: string;
  model: string;
  version?: string;
  /** The target's circuit breaker state; absent when it has no breaker. */
  breaker?: "closed" | "open" | "halfOpen";
  /** The backend's last readiness answer for a version in a split; absent when not probed. */
  ready?: boolean;
}

/** One model's effective routing (GET /admin/routes). */
export interface ModelRoutes {
  /** Version id -> its target. */
  versions: Record<string, RouteTarget>;
  labels: Record<string, string>;
  /** Where unversioned requests go when there is no split. */
  default: string;
  sticky?: { header: string };
  /**
   * The split of unversioned requests in force, and where it comes from: the config file, a
   * run-time override (POST /admin/models/{m}/traffic), or a progressive rollout.
   */
  traffic?: { source: "config" | "runtime" | "rollout"; weights: SplitEntry[] };
  fallback: RouteTarget[];
  /** Progressive rollout state, when the model has one. */
  rollout?: unknown;
}

/** The effective routing table of every model. */
export interface RoutesTable {
  models: Record<string, ModelRoutes>;
}

/** What the inference fronts (unified, v2 REST, gRPC) call: resolve, describe and run requests. */
export interface InferenceApi {
  readonly info: ServerInfo;
  /**
   * Resolves a model and an optional version or label (else the `x-infergate-version` header, else
   * the default / traffic split). Throws ModelNotFoundError / VersionNotFoundError.
   */
  resolve(
    model: string,
    version: string | undefined,
    header: HeaderLookup,
    /** A sequence's id: the same id always reaches the same version of a split. */
    affinityKey?: string,
  ): Route;
  /** The route's model metadata under the gateway's model name and version ids. */
  metadata(route: Route): Promise<ModelMetadata>;
  /** True when the route's target (or a fallback) can answer. */
  ready(route: Route): Promise<boolean>;
  /**
   * Runs a request. Inputs are checked against the model metadata (names, datatypes, shapes);
   * errors are GatewayErrors. Call it under {@link hold}: the hold is what keeps the snapshot's
   * backends open until the answer is built.
   */
  infer(route: Route, request: InferRequest, context: RequestContext): Promise<InferResponse>;
  /**
   * Counts a request to `route` that the front refused before it could call {@link infer}: its
   * body or inputs did not decode. Such requests are in `infergate_requests_total` under the
   * error's code like any other refusal.
   */
  refused(route: Route, err: unknown): void;
  /**
   * Pins this config snapshot for one request until the returned function is called. A front
   * holds it from the moment it takes the service until its answer is built, so a reload never
   * closes a backend that a request already on this snapshot still needs.
   */
  hold(): () => void;
  /** The configured model names. */
  models(): string[];
  /** Ready once config is loaded and every model has at least one reachable target. */
  readiness(): Promise<{ ready: boolean; reasons: string[] }>;
}

/** What the admin routes call on top of {@link InferenceApi}: breakers and the routing table. */
export interface AdminApi {
  /** Every target's circuit breaker (targets without a breaker are left out). */
  breakers(): BreakerInfo[];
  /** The effective routing table (GET /admin/routes). */
  routes(): RoutesTable;
  /**
   * Sets a model's traffic split at run time in this snapshot (carry-weights.ts says when a reload
   * keeps it), checked like the config
   * file's `traffic`. Throws ModelNotFoundError, or InvalidRequestError (TrafficInvalidError with
   * `path: message` details).
   */
  setTraffic(model: string, entries: readonly SplitEntry[]): void;
}

/** The gateway as the fronts see it: the inference part and the admin part. */
export interface InferenceService extends InferenceApi, AdminApi {}

/**
 * The current service, taken once per request (a getter because a config reload swaps it). A
 * front passes the request's scope: with access control the service it gets checks that caller's
 * models and limits (src/auth/guard-service.ts).
 */
export type ServiceGetter<S extends InferenceApi> = (scope?: RequestScope) => S;
