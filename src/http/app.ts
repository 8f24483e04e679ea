/**
 * The gateway's HTTP front: unified predict API, KServe v2 REST, health, metrics and admin routes
 * on one Hono app.
 */
import { Hono } from "hono";
import type { AccessControl } from "../auth/access.js";
import { guardedGetter } from "../auth/guard-service.js";
import { accessControl } from "../auth/http.js";
import { batchRoutes } from "../jobs/batch/routes.js";
import { asyncRoutes } from "../jobs/routes.js";
import { type AccessLogger, httpAccessLog } from "../observability/access-log.js";
import { httpTracing } from "../observability/trace-front.js";
import { payloadLimit } from "./body-limit.js";
import type { AppEnv, HttpDeps } from "./deps.js";
import { errorHandler, notFoundHandler } from "./errors.js";
import { stderrLogger } from "./logger.js";
import { type AdminOpsOptions, adminOpsRoutes, healthRoutes } from "./ops.js";
import { requestId } from "./request-id.js";
import { type UiOptions, uiRoutes } from "./ui.js";
import { unifiedRoutes } from "./unified.js";
import { v2Routes } from "./v2.js";

export type { AppEnv, HttpDeps, HttpLogger } from "./deps.js";

/** Options of {@link createHttpApp}. */
export interface HttpAppOptions {
  /** Serve `/admin/*` here (default true); false when a separate admin listener has them. */
  admin?: boolean;
  /** Keys, tokens and rate limits (docs/access.md); absent = open to every caller. */
  access?: AccessControl;
  /** Writes one access line per request (docs/access.md "Access log"); absent = none. */
  accessLog?: AccessLogger;
}

/** Builds the HTTP app; serve it with `@hono/node-server` or call `app.request()` in tests. */
export function createHttpApp(given: HttpDeps, options: HttpAppOptions = {}): Hono<AppEnv> {
  const deps = withAccess(given, options.access);
  const app = base(deps, options);
  app.route("/", healthRoutes(deps));
  if (options.admin !== false) app.route("/", adminOpsRoutes(deps));
  // Before the unified routes: `Prefer: respond-async` on a predict path is a job submit.
  if (deps.jobs !== undefined) app.route("/", asyncRoutes(deps.jobs, deps));
  if (deps.jobs !== undefined) app.route("/", batchRoutes(deps.jobs, deps));
  app.route("/", unifiedRoutes(deps));
  app.route("/", v2Routes(deps));
  return finish(app, deps);
}

/**
 * The admin listener's app (`server.adminPort`): `/admin/*`, `/healthz`, `/readyz`, `/metrics`,
 * and the admin page `/ui` (docs/ui.md).
 */
export function createAdminApp(
  given: HttpDeps,
  options: AdminOpsOptions & UiOptions & Pick<HttpAppOptions, "access" | "accessLog"> = {},
): Hono<AppEnv> {
  const deps = withAccess(given, options.access);
  const app = base(deps, options);
  app.route("/", healthRoutes(deps));
  app.route("/", adminOpsRoutes(deps, options));
  app.route("/", uiRoutes(options));
  return finish(app, deps);
}

function base(deps: HttpDeps, options: Pick<HttpAppOptions, "access" | "accessLog">): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", requestId());
  if (options.accessLog !== undefined) app.use("*", httpAccessLog(options.accessLog));
  app.use("*", httpTracing());
  if (options.access !== undefined) app.use("*", accessControl(options.access));
  app.use(
    "*",
    payloadLimit({
      maxBytes: deps.bodyLimitBytes,
      bodyIdleMs: deps.bodyIdleTimeoutMs,
      budget: deps.bodyBudget,
    }),
  );
  return app;
}

/** The deps whose service checks the caller's models and limits (see src/auth). */
function withAccess(deps: HttpDeps, access: AccessControl | undefined): HttpDeps {
  return access === undefined ? deps : { ...deps, service: guardedGetter(deps.service, access) };
}

function finish(app: Hono<AppEnv>, deps: HttpDeps): Hono<AppEnv> {
  app.notFound(notFoundHandler());
  app.onError(errorHandler({ logger: deps.logger ?? stderrLogger }));
  return app;
}
