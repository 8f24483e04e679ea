/**
 * The admin page (`/ui` on the admin listener, docs/ui.md): the built page from `dist/ui`, the
 * short time series it charts (`GET /admin/timeseries`), and the job routes it calls
 * (listing, reading and cancelling async jobs and batches, uploading and downloading files,
 * schedules and "run now") answered by the public app in process, so the page stays
 * same-origin and needs no public base URL or CORS.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import type { TimeSeries } from "../metrics/timeseries.js";
import { refuseCrossOrigin } from "./admin-guard.js";
import type { AppEnv } from "./deps.js";

/** Anything with Hono's `fetch` (the public app). */
export interface FetchApp {
  fetch(request: Request, env?: AppEnv["Bindings"]): Response | Promise<Response>;
}

/** Options of {@link uiRoutes}. */
export interface UiOptions {
  /** The sampler behind `/admin/timeseries`; absent = the charts stay empty. */
  timeseries?: TimeSeries;
  /** The public app, which answers the page's `/v1` job routes; absent = those answer 404. */
  jobsApp?: FetchApp;
  /** Host names besides loopback the admin listener is reached by (as for admin writes). */
  hosts?: readonly string[];
  /**
   * Runs before every data route of the page (time series and the job routes): the hook for the
   * admin key when `auth` is set. The page sends the key the user typed as
   * `Authorization: Bearer`; the page's own files carry no data and stay open.
   */
  guard?: MiddlewareHandler<AppEnv>;
  /** Where the built page is; default `dist/ui` of this package. */
  assetsDir?: string;
}

/** The `/v1` routes the page uses; nothing else of the public API (no inference) is reachable here. */
const JOB_READS = [
  "/v1/async",
  "/v1/async/:id",
  "/v1/batches",
  "/v1/batches/:id",
  "/v1/batches/:id/events",
  "/v1/files/:name",
  "/v1/schedules",
];
const JOB_WRITES = [
  "/v1/async/:id/cancel",
  "/v1/batches",
  "/v1/batches/:id/cancel",
  "/v1/files",
  "/v1/schedules/:name/run",
];
/** `/admin/timeseries?seconds=`: at most the ring's ten minutes. */
const MAX_SECONDS = 600;
/** The built page is a handful of files; more means a wrong `assetsDir`. */
const MAX_ASSETS = 200;

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
};

// The page runs only its own bundle, is never framed (weight changes are one click), and sends
// no referrer. Inline styles: uPlot and the bars set element styles.
const PAGE_HEADERS = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/** The admin page's routes; mounted on the admin app. */
export function uiRoutes(options: UiOptions = {}): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const assets = lazyAssets(options.assetsDir ?? resolve(import.meta.dirname, "../../dist/ui"));
  const guard: MiddlewareHandler<AppEnv> = options.guard ?? ((_c, next) => next());

  const page = (c: Context<AppEnv>) => {
    const path = c.req.path.replace(/^\/ui\/?/, "");
    const files = assets();
    if (files === undefined) {
      return c.text("the admin page is not built: run `npm run build`", 503);
    }
    const asset = files.get(path === "" ? "index.html" : path);
    if (asset === undefined) return c.text("not found", 404);
    const immutable = path.startsWith("assets/");
    return c.body(new Uint8Array(asset.body), 200, {
      ...PAGE_HEADERS,
      "content-type": asset.type,
      "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
    });
  };
  app.get("/ui", page);
  app.get("/ui/*", page);

  app.get("/admin/timeseries", guard, async (c) => {
    const seconds = c.req.query("seconds");
    const n = seconds === undefined ? MAX_SECONDS : Number(seconds);
    if (!Number.isInteger(n) || n < 1 || n > MAX_SECONDS) {
      const message = `seconds must be an integer from 1 to ${MAX_SECONDS}`;
      return c.json({ error: { code: "INVALID_REQUEST", message } }, 400);
    }
    const series = options.timeseries;
    return c.json(
      {
        intervalSeconds: 1,
        models: series?.series(c.req.query("model"), n) ?? {},
        shadow: (await series?.shadow()) ?? [],
      },
      200,
    );
  });

  const hosts = new Set((options.hosts ?? []).map((h) => h.toLowerCase()));
  const forward = async (c: Context<AppEnv>) => {
    const jobsApp = options.jobsApp;
    if (jobsApp === undefined) {
      return c.json({ error: { code: "NOT_FOUND", message: "no job routes here" } }, 404);
    }
    // Writes from the page follow the admin rule: same origin, loopback (or the admin host).
    if (c.req.method === "POST") {
      const refused = refuseCrossOrigin(c, hosts);
      if (refused !== undefined) return refused;
    }
    return jobsApp.fetch(c.req.raw, c.env);
  };
  for (const path of JOB_READS) app.get(path, guard, forward);
  for (const path of JOB_WRITES) app.post(path, guard, forward);
  return app;
}

type Asset = { body: Buffer; type: string };

/** The built files, read once on first use (a rebuild needs a restart), or undefined if none. */
function lazyAssets(dir: string): () => Map<string, Asset> | undefined {
  let files: Map<string, Asset> | undefined;
  return () => {
    if (files !== undefined) return files;
    try {
      if (!statSync(join(dir, "index.html")).isFile()) return undefined;
    } catch {
      return undefined;
    }
    const found = new Map<string, Asset>();
    const walk = (sub: string) => {
      for (const entry of readdirSync(join(dir, sub), { withFileTypes: true })) {
        const rel = sub === "" ? entry.name : `${sub}/${entry.name}`;
        if (entry.isDirectory()) walk(rel);
        else if (entry.isFile() && found.size < MAX_ASSETS) {
          const type = TYPES[extname(entry.name)] ?? "application/octet-stream";
          found.set(rel, { body: readFileSync(join(dir, rel)), type });
        }
      }
    };
    walk("");
    files = found;
    return files;
  };
}
