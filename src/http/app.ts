/**
 * The gateway's HTTP front: unified predict API, KServe v2 REST, health, metrics and admin routes
 * on one Hono app.
 */
import { Hono } from "hono";
import { batchRoutes } from "../jobs/batch/routes.js";
import { asyncRoutes } from "../jobs/routes.js";
import { payloadLimit } from "./body-limit.js";
import type { AppEnv, HttpDeps } from "./deps.js";
import { errorHandler, notFoundHandler } from "./errors.js";
import { stderrLogger } from "./logger.js";
import { type AdminOpsOptions, adminOpsRoutes, healthRoutes } from "./ops.js";
import { requestId } from "./request-id.js";
import { type UiOptions, uiRoutes } from "./ui.js";
import { unifiedRoutes } from "./unified.js";
import { v2Routes } from "./v2.js";

export type { AppEnv, HttpDeps, HttpLogger, ReloadResult } from "./deps.js";

/** Options of {@link createHttpApp}. */
export interface HttpAppOptions {
  /** Serve `/admin/*` here (default true); false when a separate admin listener has them. */
  admin?: boolean;
}

/** Builds the HTTP app; serve it with `@hono/node-server` or call `app.request()` in tests. */
export function createHttpApp(deps: HttpDeps, options: HttpAppOptions = {}): Hono<AppEnv> {
  const app = base(deps);
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
  deps: HttpDeps,
  options: AdminOpsOptions & UiOptions = {},
): Hono<AppEnv> {
  const app = base(deps);
  app.route("/", healthRoutes(deps));
  app.route("/", adminOpsRoutes(deps, options));
  app.route("/", uiRoutes(options));
  return finish(app, deps);
}

function base(deps: HttpDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", requestId());
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

function finish(app: Hono<AppEnv>, deps: HttpDeps): Hono<AppEnv> {
  app.notFound(notFoundHandler());
  app.onError(errorHandler({ logger: deps.logger ?? stderrLogger }));
  return app;
}
