/**
 * Triton's REST extensions on the KServe v2 front (docs/triton.md): statistics, model
 * configuration, repository index, and a clear 501 for what a gateway cannot offer (load/unload,
 * shared memory, trace and log settings). Mounted before the v2 routes so `/v2/models/stats` is
 * not read as a model named "stats" (as in Triton, whose statistics path it is).
 */
import { type Context, Hono } from "hono";
import { InvalidRequestError } from "../errors.js";
import {
  modelConfiguration,
  modelStatistics,
  plainBigints,
  UNSUPPORTED_REASON,
} from "../triton/queries.js";
import { repositoryIndex } from "../triton/repository.js";
import type { AppEnv, HttpDeps } from "./deps.js";
import { readBodyBytes } from "./request.js";
import { scopeOf } from "./scope.js";

/** Routes of Triton's statistics, model configuration and repository extensions. */
export function v2ExtensionRoutes(deps: Pick<HttpDeps, "service">): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  const statsOf = (c: Context<AppEnv>, model: string, version: string | undefined) => {
    const found = modelStatistics(deps.service(scopeOf(c)), model, version);
    return c.json({ model_stats: plainBigints(found, false) }, 200);
  };
  const stats = (c: Context<AppEnv>) =>
    statsOf(c, c.req.param("model") ?? "", c.req.param("version"));
  // Every model's statistics: on the model-metadata path, before the metadata handler, not as a
  // static `/v2/models/stats` route. That static route beside `/v2/models/:model/stats` is a
  // shape Hono's RegExpRouter refuses, and the app then fell back to its trie router for every
  // route (about 10 us more per request).
  app.get("/v2/models/:model", async (c, next) =>
    c.req.param("model") === "stats" ? statsOf(c, "", undefined) : next(),
  );
  app.get("/v2/models/:model/stats", stats);
  app.get("/v2/models/:model/versions/:version/stats", stats);

  const config = async (c: Context<AppEnv>) => {
    const found = await modelConfiguration(
      deps.service(scopeOf(c)),
      c.req.param("model") ?? "",
      c.req.param("version"),
      (name) => c.req.header(name),
    );
    return c.json(found, 200);
  };
  app.get("/v2/models/:model/config", config);
  app.get("/v2/models/:model/versions/:version/config", config);

  app.post("/v2/repository/index", async (c) => {
    const ready = readyFlag(await readBodyBytes(c));
    return c.json(await repositoryIndex(deps.service(scopeOf(c)), ready), 200);
  });

  const unsupported = (reason: string) => (c: Context<AppEnv>) => c.json({ error: reason }, 501);
  app.post("/v2/repository/models/:model/load", unsupported(UNSUPPORTED_REASON.repository));
  app.post("/v2/repository/models/:model/unload", unsupported(UNSUPPORTED_REASON.repository));
  for (const kind of ["systemsharedmemory", "cudasharedmemory"]) {
    app.all(`/v2/${kind}/*`, unsupported(UNSUPPORTED_REASON.sharedMemory));
  }
  app.all("/v2/trace/setting", unsupported(UNSUPPORTED_REASON.trace));
  app.all("/v2/models/:model/trace/setting", unsupported(UNSUPPORTED_REASON.trace));
  app.all("/v2/logging", unsupported(UNSUPPORTED_REASON.logging));
  return app;
}

/** The optional `{"ready": bool}` body of a repository index request; empty = false. */
function readyFlag(bytes: Uint8Array): boolean {
  const text = new TextDecoder().decode(bytes).trim();
  if (text === "") return false;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new InvalidRequestError("repository index body is not valid JSON");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new InvalidRequestError("repository index body must be a JSON object");
  }
  const ready = (body as { ready?: unknown }).ready;
  if (ready !== undefined && typeof ready !== "boolean") {
    throw new InvalidRequestError('"ready" must be true or false');
  }
  return ready === true;
}
