/**
 * Routing admin routes: `GET /admin/routes`, the effective routing table, and
 * `POST /admin/models/:model/traffic`, which sets a model's split at run time (docs/traffic.md
 * "Run-time weights": on every replica when they share Redis).
 */
import { Hono } from "hono";
import { callerOf } from "../auth/principal.js";
import { ModelNotFoundError } from "../errors.js";
import type { ModelRoutes } from "../gateway/types.js";
import { parseTrafficBody } from "../routing/versions.js";
import type { AppEnv, HttpDeps } from "./deps.js";
import { readJsonBody } from "./request.js";

/** The routing admin routes; other errors go to the app's error handler. */
export function adminRoutes(
  deps: Pick<HttpDeps, "service" | "logger" | "setTraffic">,
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/admin/routes", (c) => c.json(deps.service().routes(), 200));

  app.post("/admin/models/:model/traffic", async (c) => {
    const service = deps.service();
    const model = c.req.param("model");
    // An unknown model is a 404 whatever the body says.
    if (!service.models().includes(model)) throw new ModelNotFoundError(model);
    const before = describeSplit(service.routes().models[model]);
    // A bad split throws TrafficInvalidError, whose details the error encoder sends.
    const entries = parseTrafficBody(await readJsonBody(c));
    if (deps.setTraffic === undefined) service.setTraffic(model, entries);
    else await deps.setTraffic(model, entries);
    const after = deps.service().routes().models[model];
    deps.logger?.info?.(
      { who: callerOf(c.get("scope")), model, before, after: describeSplit(after) },
      "admin: traffic split set",
    );
    return c.json(after, 200);
  });

  return app;
}

/** A model's split for the audit line: `1=90, 2=10 (runtime)`, or its default version. */
function describeSplit(routes: ModelRoutes | undefined): string {
  const traffic = routes?.traffic;
  if (traffic === undefined) return `default version ${routes?.default ?? "?"}`;
  const weights = traffic.weights.map((e) => `${e.version}=${e.weight}`).join(", ");
  return `${weights} (${traffic.source})`;
}
