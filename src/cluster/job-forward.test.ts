import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { getRequestListener } from "@hono/node-server";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import type { AppEnv } from "../http/deps.js";
import { forwardJobs, isJobRequest, type JobsListener, listenForJobs } from "./job-forward.js";

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const one of open.splice(0)) await one.close();
});

const req = (method: string, path: string, headers: Record<string, string> = {}) =>
  new Request(`http://gw.example${path}`, { method, headers });

describe("isJobRequest", () => {
  it("picks the async, batch, file and schedule routes and async predicts", () => {
    const jobs = [
      req("GET", "/v1/async"),
      req("GET", "/v1/async/job_1?x=1"),
      req("POST", "/v1/async/predict"),
      req("POST", "/v1/models/iris/async/predict"),
      req("POST", "/v1/models/iris/versions/2/async/predict"),
      req("GET", "/v1/batches/b1/events"),
      req("POST", "/v1/files"),
      req("POST", "/v1/schedules/nightly/run"),
      req("POST", "/v1/models/iris/predict", { prefer: "respond-async" }),
      req("POST", "/v1/predict", { prefer: "wait=5, respond-async" }),
    ];
    const others = [
      req("POST", "/v1/models/iris/predict"),
      req("POST", "/v2/models/iris/infer"),
      req("GET", "/v1/asyncx"),
      req("GET", "/metrics"),
      req("POST", "/admin/reload"),
      req("GET", "/v1/models/iris/async/predict"),
    ];
    expect(jobs.map(isJobRequest)).toEqual(jobs.map(() => true));
    expect(others.map(isJobRequest)).toEqual(others.map(() => false));
  });
});

/** The job worker's app: echoes what reached it, with a gzip body it must not be decoded on the way. */
function jobWorkerApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post("/v1/async/predict", async (c) => {
    const echo = JSON.stringify({
      method: c.req.method,
      query: c.req.query("q"),
      body: await c.req.text(),
      peer: c.env?.incoming?.socket.remoteAddress,
      prefer: c.req.header("prefer"),
    });
    return c.body(gzipSync(echo), 202, {
      "content-type": "application/json",
      "content-encoding": "gzip",
      "set-cookie": "a=1",
    });
  });
  return app;
}

async function serve(app: Hono<AppEnv>): Promise<{ server: Server; port: number }> {
  const server = createServer(getRequestListener(app.fetch));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  open.push({ close: () => new Promise((r) => server.close(r)) });
  return { server, port: (server.address() as AddressInfo).port };
}

describe("forwardJobs", () => {
  it("hands job requests to the job worker unchanged, with the client's address", async () => {
    const jobs: JobsListener = await listenForJobs(jobWorkerApp());
    open.push({ close: () => jobs.close(0) });
    const own = new Hono<AppEnv>();
    own.get("/healthz", (c) => c.text("own"));
    const front = await serve(forwardJobs(own, () => jobs.port));
    const base = `http://127.0.0.1:${front.port}`;
    const res = await fetch(`${base}/v1/async/predict?q=7`, {
      method: "POST",
      body: "x".repeat(100_000),
      headers: { prefer: "respond-async" },
    });
    expect(res.status).toBe(202);
    expect(res.headers.get("content-encoding")).toBe("gzip");
    expect(res.headers.get("set-cookie")).toBe("a=1");
    expect(await res.json()).toEqual({
      method: "POST",
      query: "7",
      body: "x".repeat(100_000),
      peer: "127.0.0.1",
      prefer: "respond-async",
    });
    expect(await (await fetch(`${base}/healthz`)).text()).toBe("own");
  });

  it("gives the job worker's app the address the forwarding worker saw", async () => {
    const jobs = await listenForJobs(jobWorkerApp());
    open.push({ close: () => jobs.close(0) });
    const res = await fetch(`http://127.0.0.1:${jobs.port}/v1/async/predict`, {
      method: "POST",
      body: "{}",
      headers: { "x-infergate-peer": "203.0.113.9" },
    });
    expect(((await res.json()) as { peer: string }).peer).toBe("203.0.113.9");
  });

  it("answers 503 with Retry-After while there is no job worker", async () => {
    const front = await serve(forwardJobs(new Hono<AppEnv>(), () => undefined));
    const res = await fetch(`http://127.0.0.1:${front.port}/v1/async/job_1`);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await res.json()).toEqual({
      error: {
        code: "BACKEND_UNAVAILABLE",
        message: "the job worker is starting; try again shortly",
      },
    });
  });
});
