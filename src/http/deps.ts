/**
 * What the HTTP front needs from the rest of the gateway, and the Hono environment its handlers
 * share. Kept apart from app.ts so route modules can import the types without a cycle.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestScope } from "../auth/principal.js";
import type { RateLimitState } from "../errors.js";
import type { InferenceService, ReloadResult, ServiceGetter } from "../gateway/types.js";
import type { JobEngine } from "../jobs/engine.js";
import type { Metrics } from "../metrics/registry.js";
import type { SplitEntry } from "../routing/split.js";
import type { BodyBudget } from "./body-budget.js";
import type { BodyReadSettings } from "./body-limit.js";

/** The minimal logger the front writes to (pino's signature). */
export interface HttpLogger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  /** Admin changes are logged here (one line each); absent = not logged. */
  info?(obj: object, msg?: string): void;
}

/** Dependencies of {@link createHttpApp}. */
export interface HttpDeps {
  /** The current service, taken once per request with `scopeOf(c)` when it resolves models. */
  service: ServiceGetter<InferenceService>;
  /** The registry served at `/metrics`. */
  metrics: Metrics;
  /** The current `server.bodyLimitBytes`. */
  bodyLimitBytes: () => number;
  /** The current `server.limits` (decoding bounds); absent = the schema's defaults. */
  limits?: () => import("../tensor/limits.js").DecodeLimits;
  /** Reloads the config file (`POST /admin/reload`). */
  reload: () => Promise<ReloadResult>;
  /** The current `server.limits.bodyIdleTimeoutMs`; absent = no body-idle timeout. */
  bodyIdleTimeoutMs?: () => number;
  /** The gateway-wide budget of buffered request-body bytes; absent = unbounded. */
  bodyBudget?: BodyBudget;
  logger?: HttpLogger;
  /**
   * Sets a model's run-time split (`POST /admin/models/{m}/traffic`), on every replica when
   * weights are shared; absent = on the current service only.
   */
  setTraffic?: (model: string, entries: readonly SplitEntry[]) => Promise<void>;
  /** The async job engine; absent = no `/v1/async` routes. */
  jobs?: JobEngine;
}

/**
 * Hono environment of the HTTP front: the request id and body limit set by middleware, and — under
 * @hono/node-server — Node's request and response (absent in `app.request()` tests).
 * `requestIdSent` is true once the handler's response already carries `x-request-id`, and
 * `keyLimitSent` once it carries the `RateLimit-*` headers of the caller's `keyLimit` (see
 * withEdgeHeaders in request-id.ts).
 */
export interface AppEnv {
  Variables: {
    requestId: string;
    bodyLimit: number;
    requestIdSent: boolean;
    keyLimit: RateLimitState | undefined;
    keyLimitSent: boolean;
    bodyRead: BodyReadSettings;
    /** The request's caller and resolved route (see scope.ts). */
    scope: RequestScope | undefined;
  };
  Bindings: { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined;
}
