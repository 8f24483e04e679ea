/**
 * Operations routes (docs/operations.md): liveness, readiness, Prometheus metrics and config reload, plus the
 * routing admin routes of admin.ts.
 */
import { Hono } from "hono";
import { callerOf } from "../auth/principal.js";
import { InvalidRequestError } from "../errors.js";
import { adminRoutes } from "./admin.js";
import { adminWriteGuard } from "./admin-guard.js";
import type { AppEnv, HttpDeps } from "./deps.js";
import { withEdgeHeaders } from "./request-id.js";

/** `/healthz`, `/readyz` and `/metrics`: on the public port, and on the admin port when there is one. */
export function healthRoutes(deps: Pick<HttpDeps, "service" | "metrics">): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  // The probes and /metrics name their request id themselves (withEdgeHeaders): orchestrators call
  // them every few seconds per replica, and a scraper's answer can be megabytes.
  app.get("/healthz", (c) => c.json({ status: "ok" }, 200, withEdgeHeaders(c, {})));

  app.get("/readyz", async (c) => {
    const { ready, reasons } = await deps.service().readiness();
    const headers = withEdgeHeaders(c, {});
    return ready
      ? c.json({ status: "ready", reasons }, 200, headers)
      : c.json({ status: "not ready", reasons }, 503, headers);
  });

  app.get("/metrics", async (c) => {
    const registry = deps.metrics.registry;
    const text = await registry.metrics();
    return c.body(text, 200, withEdgeHeaders(c, { "content-type": registry.contentType }));
  });

  return app;
}

/** Options of {@link adminOpsRoutes}. */
export interface AdminOpsOptions {
  /** Host names besides loopback that admin requests may come from (a non-loopback adminHost). */
  hosts?: readonly string[];
}

/**
 * Every `/admin/*` route: breakers, reload, and the routing admin routes of admin.ts, behind the
 * admin write rules of admin-guard.ts.
 */
export function adminOpsRoutes(
  deps: Pick<HttpDeps, "service" | "reload" | "logger" | "setTraffic">,
  options: AdminOpsOptions = {},
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use("/admin/*", adminWriteGuard(options));
  app.route("/", adminRoutes(deps));

  app.get("/admin/breakers", (c) => c.json({ breakers: deps.service().breakers() }, 200));

  app.post("/admin/reload", async (c) => {
    const result = await deps.reload();
    // One audit line per admin change (the runtime logs the reload's own details).
    deps.logger?.info?.(
      {
        who: callerOf(c.get("scope")),
        ...(result.ok
          ? { outcome: "reloaded" }
          : { outcome: "rejected", errors: result.errors.length }),
      },
      "admin: config reload",
    );
    if (result.ok) return c.json({ status: "reloaded" }, 200);
    throw new InvalidRequestError(
      `config rejected; the running config keeps serving (${result.errors.length} errors)`,
      { details: result.errors },
    );
  });

  return app;
}
