/**
 * The async API (docs/async.md): submit (`POST /v1/async/predict`, the model paths, or
 * `Prefer: respond-async` on the predict paths), poll, list and cancel.
 */
import { type Context, Hono, type Next } from "hono";
import { InvalidRequestError } from "../errors.js";
import type { InferenceService } from "../gateway/types.js";
import type { AppEnv, HttpDeps } from "../http/deps.js";
import { parseJson, readBodyBytes } from "../http/request.js";
import { withEdgeHeaders } from "../http/request-id.js";
import { requestTenant, scopeOf } from "../http/scope.js";
import { parsePredictBody } from "../http/unified-codec.js";
import { isRecord } from "../is-record.js";
import { submitTraceHeaders } from "../observability/job-span.js";
import type { JobEngine } from "./engine.js";
import { JOB_STATUSES, type JobStatus } from "./types.js";
import { jobJson, pageJson, statusUrl } from "./view.js";

const decoder = new TextDecoder();
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;
/** Request headers that steer routing and are kept with the job. */
const ROUTING_HEADERS = ["x-infergate-version", "cache-control"];

/** Per service snapshot: each model's sticky header (lower case), read once. */
const stickyHeaders = new WeakMap<InferenceService, Map<string, string | undefined>>();

function stickyHeader(service: InferenceService, model: string): string | undefined {
  let known = stickyHeaders.get(service);
  if (known === undefined) {
    known = new Map();
    stickyHeaders.set(service, known);
  }
  if (!known.has(model)) {
    known.set(model, service.routes().models[model]?.sticky?.header.toLowerCase());
  }
  return known.get(model);
}

/** True when a `Prefer` header asks for `respond-async` (RFC 7240). */
export function prefersAsync(prefer: string | undefined): boolean {
  if (prefer === undefined) return false;
  return prefer.split(",").some((p) => p.split(";")[0]?.trim().toLowerCase() === "respond-async");
}

function json(
  c: Context<AppEnv>,
  status: number,
  body: string,
  extra: Record<string, string> = {},
) {
  const headers = withEdgeHeaders(c, { "content-type": "application/json", ...extra });
  return new Response(body, { status, headers });
}

/** Routes of the async API, on `engine`; errors go to the app's error handler. */
export function asyncRoutes(
  engine: JobEngine,
  deps: Pick<HttpDeps, "service" | "limits">,
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  async function submit(c: Context<AppEnv>, preferred: boolean): Promise<Response> {
    const bytes = await readBodyBytes(c);
    const text = decoder.decode(bytes);
    const parsed = parseJson(bytes, deps.limits?.());
    const body = parsePredictBody(parsed, {
      model: c.req.param("model"),
      version: c.req.param("version"),
    });
    const header = (name: string) => c.req.header(name);
    const service = deps.service(scopeOf(c));
    // Unknown models and versions fail now, not later in the job.
    service.resolve(body.model, body.version, header);
    const headers: Record<string, string> = {};
    const sticky = stickyHeader(service, body.model);
    for (const name of sticky === undefined ? ROUTING_HEADERS : [...ROUTING_HEADERS, sticky]) {
      const value = c.req.header(name);
      if (value !== undefined) headers[name] = value;
    }
    Object.assign(headers, submitTraceHeaders());
    const webhook = isRecord(parsed) ? parsed.webhook : undefined;
    const path: { model?: string; version?: string } = {};
    const model = c.req.param("model");
    const version = c.req.param("version");
    if (model !== undefined) path.model = model;
    if (version !== undefined) path.version = version;
    const idempotencyKey = c.req.header("idempotency-key");
    const { job, created } = await engine.submit({
      tenant: requestTenant(c),
      model: body.model,
      ...(body.version === undefined ? {} : { version: body.version }),
      body: text,
      path,
      headers,
      ...(webhook === undefined || webhook === null ? {} : { webhook }),
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    });
    const extra: Record<string, string> = { location: statusUrl(job.id) };
    if (!created) extra["idempotent-replayed"] = "true";
    if (preferred) extra["preference-applied"] = "respond-async";
    return json(c, 202, jobJson(job), extra);
  }

  const asyncSubmit = (c: Context<AppEnv>) => submit(c, false);
  // `/v1/async/predict` is matched as `/v1/async/:id`: a static segment there beside
  // `/v1/async/:id/cancel` is a shape Hono's RegExpRouter refuses, and the whole app would fall
  // back to the slower trie router (src/http/app-router.test.ts).
  app.post("/v1/async/:id", (c, next) =>
    c.req.param("id") === "predict" ? asyncSubmit(c) : next(),
  );
  app.post("/v1/models/:model/async/predict", asyncSubmit);
  app.post("/v1/models/:model/versions/:version/async/predict", asyncSubmit);

  // `Prefer: respond-async` turns a predict into a submit; without it the live route answers.
  const preferAsync = async (c: Context<AppEnv>, next: Next) => {
    if (!prefersAsync(c.req.header("prefer"))) return next();
    return submit(c, true);
  };
  app.post("/v1/predict", preferAsync);
  app.post("/v1/models/:model/predict", preferAsync);
  app.post("/v1/models/:model/versions/:version/predict", preferAsync);

  app.get("/v1/async", async (c) => {
    const status = c.req.query("status");
    if (status !== undefined && !JOB_STATUSES.includes(status as JobStatus)) {
      throw new InvalidRequestError(`"status" must be one of ${JOB_STATUSES.join(", ")}`);
    }
    const limitText = c.req.query("limit");
    const limit = limitText === undefined ? DEFAULT_LIMIT : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new InvalidRequestError(`"limit" must be a whole number from 1 to ${MAX_LIMIT}`);
    }
    const after = c.req.query("after");
    const page = await engine.list({
      tenant: requestTenant(c),
      limit,
      ...(status === undefined ? {} : { status: status as JobStatus }),
      ...(after === undefined || after === "" ? {} : { after }),
    });
    return json(c, 200, pageJson(page.data, page.next));
  });

  app.get("/v1/async/:id", async (c) => {
    const job = await engine.get(c.req.param("id"), requestTenant(c));
    return json(c, 200, jobJson(job));
  });

  app.post("/v1/async/:id/cancel", async (c) => {
    const job = await engine.cancel(c.req.param("id"), requestTenant(c));
    return json(c, 200, jobJson(job));
  });

  return app;
}
