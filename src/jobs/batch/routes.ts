/**
 * The batches API (docs/batch.md "The API"): create, get, list, cancel and server-sent events of
 * a batch; file upload and download; schedules.
 */
import { type Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { InvalidRequestError } from "../../errors.js";
import type { AppEnv, HttpDeps } from "../../http/deps.js";
import { parseJson, readBodyBytes } from "../../http/request.js";
import { withEdgeHeaders } from "../../http/request-id.js";
import { requestTenant, scopeOf } from "../../http/scope.js";
import { downloadFile, uploadFile } from "./files.js";
import { parseBatchRequest } from "./request.js";
import type { Scheduler } from "./schedules.js";
import { specInTenantSpace, tenantPrefix } from "./tenant-files.js";
import { type Batches, type BatchRecord, isFinal } from "./types.js";
import { batchView } from "./view.js";

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;
/** An events stream sends a comment this often so proxies keep it open. */
const KEEPALIVE_MS = 15_000;
/** How often an events stream looks at the batch. */
const POLL_MS = 250;

function json(c: Context<AppEnv>, status: number, body: unknown): Response {
  const headers = withEdgeHeaders(c, { "content-type": "application/json" });
  return new Response(JSON.stringify(body), { status, headers });
}

/** Routes of the batches API on `batches`. */
export function batchRoutes(
  jobs: { readonly batches: Batches; readonly schedules: Scheduler },
  deps: Pick<HttpDeps, "limits" | "service">,
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { batches, schedules: scheduler } = jobs;

  app.post("/v1/batches", async (c) => {
    const body = parseJson(await readBodyBytes(c), deps.limits?.());
    const spec = parseBatchRequest(body, batches.config);
    const tenant = requestTenant(c);
    // The caller's model access is checked as for a live request (403 for a model not theirs).
    deps.service(scopeOf(c)).resolve(spec.model, spec.version, () => undefined);
    return json(c, 202, batchView(await batches.create(specInTenantSpace(spec, tenant), tenant)));
  });

  app.get("/v1/batches", async (c) => {
    const limitText = c.req.query("limit");
    const limit = limitText === undefined ? DEFAULT_LIMIT : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new InvalidRequestError(`"limit" must be a whole number from 1 to ${MAX_LIMIT}`);
    }
    const after = c.req.query("after");
    const page = await batches.list(requestTenant(c), limit, after === "" ? undefined : after);
    return json(c, 200, { data: page.data.map(batchView), next: page.next });
  });

  app.get("/v1/batches/:id", async (c) =>
    json(c, 200, batchView(await batches.get(c.req.param("id"), requestTenant(c)))),
  );

  app.post("/v1/batches/:id/cancel", async (c) =>
    json(c, 200, batchView(await batches.cancel(c.req.param("id"), requestTenant(c)))),
  );

  app.get("/v1/batches/:id/events", async (c) => {
    const id = c.req.param("id");
    const tenant = requestTenant(c);
    let latest: BatchRecord = await batches.get(id, tenant);
    return streamSSE(c, async (stream) => {
      let sent = "";
      let quietMs = 0;
      // Polls the store (any replica may run the batch), sending the object when it changed.
      while (!stream.aborted) {
        const text = JSON.stringify(batchView(latest));
        if (text !== sent) {
          await stream.writeSSE({ event: "batch", data: text });
          sent = text;
          quietMs = 0;
        } else if (quietMs >= KEEPALIVE_MS) {
          await stream.write(": keep-alive\n\n");
          quietMs = 0;
        }
        if (isFinal(latest.status)) return;
        await stream.sleep(POLL_MS);
        quietMs += POLL_MS;
        latest = await batches.get(id, tenant);
      }
    });
  });

  app.post("/v1/files", async (c) => {
    const prefix = tenantPrefix(requestTenant(c));
    const stored = await uploadFile(c, batches.dataDir, batches.config.maxUploadBytes, prefix);
    return json(c, 201, stored);
  });

  app.get("/v1/files/:name{.+}", (c) =>
    downloadFile(c.req.param("name"), batches.dataDir, tenantPrefix(requestTenant(c))),
  );

  app.get("/v1/schedules", async (c) => json(c, 200, { data: await scheduler.list() }));
  app.post("/v1/schedules/:name/run", async (c) =>
    json(c, 202, batchView(await scheduler.runNow(c.req.param("name")))),
  );
  return app;
}
