/**
 * Async and batch jobs with several workers (docs/workers.md "Jobs"): the embedded job and batch
 * stores are SQLite files one process may own, and schedules must fire once, so only the job
 * worker runs the job engine. It serves its full HTTP app on a private loopback port as well; the
 * other workers hand every job request to it there, unchanged, and stream its answer back. The
 * client's address travels in a header so the job worker's failed-login lock-out still sees the
 * client, not the forwarding worker.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { getRequestListener } from "@hono/node-server";
import type { Hono } from "hono";
import { Pool } from "undici";
import { BackendUnavailableError } from "../errors.js";
import type { AppEnv } from "../http/deps.js";
import { HttpDrainer } from "../http/drain.js";
import { unifiedErrorBody } from "../http/errors.js";
import { prefersAsync } from "../jobs/routes.js";

/** The forwarded client address, read only on the private listener. */
const PEER_HEADER = "x-infergate-peer";
/** Connections a worker keeps to the job worker. */
const MAX_CONNECTIONS = 64;
/** Headers of one hop only (RFC 9110 7.6.1), never forwarded. */
const HOP_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "expect",
]);

const JOB_PREFIXES = ["/v1/async", "/v1/batches", "/v1/files", "/v1/schedules"];
const ASYNC_SUBMIT = /^\/v1\/models\/[^/]+(?:\/versions\/[^/]+)?\/async\/predict$/;
const PREDICT = /^\/v1\/(?:predict|models\/[^/]+(?:\/versions\/[^/]+)?\/predict)$/;

/** The path of an absolute request URL, without its query. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const query = url.indexOf("?", start);
  return query < 0 ? url.slice(start) : url.slice(start, query);
}

/** True for a request the job engine answers: the async, batch, file and schedule routes. */
export function isJobRequest(request: Request): boolean {
  const path = pathOf(request.url);
  if (!path.startsWith("/v1/")) return false;
  for (const prefix of JOB_PREFIXES) {
    if (path === prefix || path.startsWith(`${prefix}/`)) return true;
  }
  if (request.method !== "POST") return false;
  if (ASYNC_SUBMIT.test(path)) return true;
  return PREDICT.test(path) && prefersAsync(request.headers.get("prefer") ?? undefined);
}

function unavailable(message: string): Response {
  const error = new BackendUnavailableError(message, { retryAfterSeconds: 1 });
  return new Response(JSON.stringify(unifiedErrorBody(error)), {
    status: error.status,
    headers: { "content-type": "application/json", "retry-after": "1" },
  });
}

/**
 * `app` with its job requests sent to the job worker at `port()` (undefined while that worker is
 * down: those requests get 503 BACKEND_UNAVAILABLE with Retry-After). Other requests go to `app`
 * as before.
 */
export function forwardJobs(app: Hono<AppEnv>, port: () => number | undefined): Hono<AppEnv> {
  let pool: { port: number; pool: Pool } | undefined;
  const poolFor = (to: number): Pool => {
    if (pool?.port !== to) {
      void pool?.pool.close();
      pool = {
        port: to,
        pool: new Pool(`http://127.0.0.1:${to}`, { connections: MAX_CONNECTIONS }),
      };
    }
    return pool.pool;
  };
  const forward = async (request: Request, env: AppEnv["Bindings"]): Promise<Response> => {
    const to = port();
    if (to === undefined) return unavailable("the job worker is starting; try again shortly");
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      if (!HOP_HEADERS.has(name)) headers[name] = value;
    });
    headers[PEER_HEADER] = env?.incoming?.socket.remoteAddress ?? "unknown";
    const url = new URL(request.url);
    const body =
      env?.incoming !== undefined
        ? env.incoming
        : request.body === null
          ? null
          : Readable.fromWeb(request.body as import("node:stream/web").ReadableStream);
    let answer: Awaited<ReturnType<Pool["request"]>>;
    try {
      answer = await poolFor(to).request({
        method: request.method as "GET",
        path: url.pathname + url.search,
        headers,
        body: request.method === "GET" || request.method === "HEAD" ? null : body,
        signal: request.signal,
      });
    } catch {
      return unavailable("the job worker is unavailable; try again shortly");
    }
    const out = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value === undefined || HOP_HEADERS.has(name)) continue;
      for (const one of Array.isArray(value) ? value : [value]) out.append(name, one);
    }
    const empty =
      answer.statusCode === 204 || answer.statusCode === 304 || request.method === "HEAD";
    if (empty) answer.body.resume();
    return new Response(empty ? null : (Readable.toWeb(answer.body) as ReadableStream), {
      status: answer.statusCode,
      headers: out,
    });
  };
  const front = Object.create(app) as Hono<AppEnv>;
  front.fetch = (request, env, ctx) =>
    isJobRequest(request)
      ? forward(request, env as AppEnv["Bindings"])
      : app.fetch(request, env, ctx);
  return front;
}

/** The job worker's private listener. */
export interface JobsListener {
  port: number;
  /** Lets requests in flight finish (up to `timeoutMs`), then closes. */
  close(timeoutMs: number): Promise<void>;
}

/**
 * Serves `app` on a loopback port of this process alone (not shared with the other workers), for
 * the job requests they forward.
 */
export async function listenForJobs(app: Hono<AppEnv>): Promise<JobsListener> {
  const handle = getRequestListener(app.fetch);
  const server = createServer((req, res) => {
    const peer = req.headers[PEER_HEADER];
    // Requests on one connection come one at a time (no pipelining), so the address set here is
    // the one the access checks of this request read.
    if (typeof peer === "string") {
      Object.defineProperty(req.socket, "remoteAddress", { value: peer, configurable: true });
    }
    void handle(req, res);
  });
  const drainer = new HttpDrainer(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: (timeoutMs) => drainer.drain(timeoutMs),
  };
}
