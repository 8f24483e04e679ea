/**
 * The batches API (docs/batch.md "The API"): create, get, list, cancel and server-sent events of
 * a batch; file upload and download; schedules.
 */
import { type Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { InvalidRequestError } from "../../errors.js";
import type { AppEnv, HttpDeps } from "../../http/deps.js";
import { parseJson, readBodyBytes } from "../../http/request.js";
import { downloadFile, uploadFile } from "./files.js";
import type { BatchManager } from "./manager.js";
import { parseBatchRequest } from "./request.js";
import type { Scheduler } from "./schedules.js";
import { type BatchRecord, isFinal } from "./types.js";
import { batchView } from "./view.js";

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;
/** An events stream sends a comment this often so proxies keep it open. */
const KEEPALIVE_MS = 15_000;

function json(c: Context<AppEnv>, status: number, body: unknown): Response {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const requestId = c.get("requestId");
  if (requestId !== undefined) {
    headers["x-request-id"] = requestId;
    c.set("requestIdSent", true);
  }
  return new Response(JSON.stringify(body), { status, headers });
}

/** The tenant of a request; "" until the gateway has auth. */
function tenantOf(_c: Context<AppEnv>): string {
  return "";
}

/** Routes of the batches API on `batches`. */
export function batchRoutes(
  jobs: { readonly batches: BatchManager; readonly schedules: Scheduler },
  deps: Pick<HttpDeps, "limits">,
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { batches, schedules: scheduler } = jobs;

  app.post("/v1/batches", async (c) => {
    const body = parseJson(await readBodyBytes(c), deps.limits?.());
    const spec = parseBatchRequest(body, batches.config);
    return json(c, 202, batchView(batches.create(spec, tenantOf(c))));
  });

  app.get("/v1/batches", (c) => {
    const limitText = c.req.query("limit");
    const limit = limitText === undefined ? DEFAULT_LIMIT : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new InvalidRequestError(`"limit" must be a whole number from 1 to ${MAX_LIMIT}`);
    }
    const after = c.req.query("after");
    const page = batches.list(tenantOf(c), limit, after === "" ? undefined : after);
    return json(c, 200, { data: page.data.map(batchView), next: page.next });
  });

  app.get("/v1/batches/:id", (c) =>
    json(c, 200, batchView(batches.get(c.req.param("id"), tenantOf(c)))),
  );

  app.post("/v1/batches/:id/cancel", (c) =>
    json(c, 200, batchView(batches.cancel(c.req.param("id"), tenantOf(c)))),
  );

  app.get("/v1/batches/:id/events", (c) => {
    const id = c.req.param("id");
    const first = batches.get(id, tenantOf(c));
    return streamSSE(c, async (stream) => {
      let latest: BatchRecord = first;
      let wake: (() => void) | undefined;
      const stop = batches.listen((batch) => {
        if (batch.id !== id) return;
        latest = batch;
        wake?.();
      });
      stream.onAbort(() => wake?.());
      try {
        let sent = "";
        for (;;) {
          const text = JSON.stringify(batchView(latest));
          if (text !== sent) {
            await stream.writeSSE({ event: "batch", data: text });
            sent = text;
          }
          if (isFinal(latest.status) || stream.aborted) return;
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, KEEPALIVE_MS).unref();
          });
          if (stream.aborted) return;
        }
      } finally {
        stop();
      }
    });
  });

  app.post("/v1/files", async (c) => {
    const stored = await uploadFile(c, batches.dataDir, batches.config.maxUploadBytes);
    return json(c, 201, stored);
  });

  app.get("/v1/files/:name{.+}", (c) => downloadFile(c.req.param("name"), batches.dataDir));

  app.get("/v1/schedules", (c) => json(c, 200, { data: scheduler.list() }));
  app.post("/v1/schedules/:name/run", (c) =>
    json(c, 202, batchView(scheduler.runNow(c.req.param("name")))),
  );
  return app;
}
