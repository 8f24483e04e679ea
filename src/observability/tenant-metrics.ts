/**
 * Requests per tenant as a Prometheus counter, `infergate_tenant_requests_total{tenant, model,
 * code}`, fed from the access log's lines. Only tenants named in `auth.keys` get their own label
 * value (JWT tenants are open-ended: they count as "jwt"), and only configured models appear
 * (a line has a model once it resolved), so the series stay bounded.
 */
import { Counter, type Registry } from "prom-client";
import type { AccessLogger } from "./access-log.js";

/** `logger` that also counts each access line by tenant. */
export function withTenantMetrics(
  logger: AccessLogger,
  registry: Registry,
  configuredTenants: () => ReadonlySet<string>,
): AccessLogger {
  const counter = new Counter({
    name: "infergate_tenant_requests_total",
    help: "Requests per tenant (configured keys; JWT tenants as jwt), model and outcome code",
    labelNames: ["tenant", "model", "code"],
    registers: [registry],
  });
  // Labelled children bound once per label set: a labelled inc() validates and hashes its
  // labels on every call. As bounded as the series themselves.
  const children = new Map<string, { inc(): void }>();
  return {
    info(obj, msg) {
      if (msg === "request") {
        const line = obj as { tenant?: unknown; model?: unknown; code?: unknown };
        const given = typeof line.tenant === "string" ? line.tenant : "";
        const tenant = given === "" ? "none" : configuredTenants().has(given) ? given : "jwt";
        const model = typeof line.model === "string" ? line.model : "none";
        const code = typeof line.code === "string" ? line.code : "unknown";
        const key = `${tenant}\u0000${model}\u0000${code}`;
        let child = children.get(key);
        if (child === undefined) {
          child = counter.labels({ tenant, model, code });
          children.set(key, child);
        }
        child.inc();
      }
      logger.info(obj, msg);
    },
  };
}

/** The tenant ids of a config's keys, computed once per `auth` object. */
export function keyTenants(): (
  auth: { keys: readonly { id: string }[] } | undefined,
) => ReadonlySet<string> {
  const cache = new WeakMap<object, ReadonlySet<string>>();
  const none: ReadonlySet<string> = new Set();
  return (auth) => {
    if (auth === undefined) return none;
    let found = cache.get(auth);
    if (found === undefined) {
      found = new Set(auth.keys.map((k) => k.id));
      cache.set(auth, found);
    }
    return found;
  };
}
