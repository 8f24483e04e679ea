/**
 * An HTTP listener for a Hono app with the connection limits of `server.limits` (docs/security.md
 * "Timeouts and caps"): header, whole-request and keep-alive timeouts and a connection cap,
 * applied at start and again after a reload changes them (Node reads them per connection); at the
 * cap the listening socket closes until a connection ends (accept-gate.ts). Every
 * request's target is normalised before routing (path.ts); what the parser refuses is answered
 * in JSON (client-error.ts).
 */
import cluster from "node:cluster";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import type { Hono } from "hono";
import type { LimitsConfig } from "../config/schema.js";
import type { Logger } from "../logger.js";
import { type AcceptGate, gateAccepts } from "./accept-gate.js";
import { clientErrorHandler } from "./client-error.js";
import type { AppEnv } from "./deps.js";
import { HttpDrainer } from "./drain.js";
import { openFileLimit } from "./fd-limit.js";
import { normalizeRequest } from "./path.js";

/** The `server.limits` keys a listener applies. */
export type ListenerLimits = Pick<
  LimitsConfig,
  "headersTimeoutMs" | "requestTimeoutMs" | "keepAliveTimeoutMs" | "maxConnections"
>;

/** Options of {@link listenHttp}. */
export interface ListenOptions {
  host: string;
  port: number;
  /** How the "listening" line names it. */
  protocol: "http" | "admin";
  logger: Logger;
  /** The current limits (a getter: a reload may change them). */
  limits: () => ListenerLimits;
}

/** An open HTTP listener. */
export interface HttpListener {
  server: Server;
  drainer: HttpDrainer;
  port: number;
}

/** Serves `app` on host:port with the limits applied. */
export async function listenHttp(app: Hono<AppEnv>, options: ListenOptions): Promise<HttpListener> {
  const { logger, limits } = options;
  const handle = getRequestListener(app.fetch);
  const first = limits();
  const server = createServer(
    {
      ...timeouts(first),
      // Node checks header and request deadlines on this period (default 30 s, which would let a
      // 10 s headers timeout run to 40 s); it can only be set here. Short, so a wave of slowloris
      // connections is cut about as gradually as it was opened, not thousands in one check (a
      // 1 s period put the neighbours' p99 at 2-5x idle, 200 ms at 1.4-1.6x); a check only walks
      // the connection list.
      connectionsCheckingInterval: Math.max(
        50,
        Math.min(200, first.headersTimeoutMs / 4, first.requestTimeoutMs / 4),
      ),
    },
    (req, res) => {
      // Routes match the normalised path only (docs/security.md "Path handling").
      if (normalizeRequest(req, res)) return;
      void handle(req, res);
    },
  );
  let applied: ListenerLimits | undefined;
  const apply = () => {
    const current = limits();
    if (current === applied) return;
    applied = current;
    Object.assign(server, timeouts(current));
    server.maxConnections = current.maxConnections;
  };
  apply();
  server.on(
    "clientError",
    clientErrorHandler(() => applied ?? first),
  );
  // A reload swaps the limits object; new connections (and keep-alive decisions) see the new one.
  // A refused one too, or a reload that raises maxConnections while full would never apply.
  server.prependListener("connection", apply);
  const logDrop = dropLogger(logger, options.protocol);
  server.on("drop", () => {
    apply();
    logDrop();
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  logger.info({ protocol: options.protocol, host: options.host, port: bound }, "listening");
  const files = openFileLimit();
  if (files !== undefined && first.maxConnections >= files) {
    logger.warn(
      { maxConnections: first.maxConnections, openFileLimit: files, protocol: options.protocol },
      "server.limits.maxConnections is not below the open-file limit (ulimit -n): a connection flood exhausts descriptors before the cap refuses it",
    );
  }
  // A cluster worker's listening socket is the primary's: there Node's own refusal stays.
  const gate: AcceptGate | undefined = cluster.isWorker
    ? undefined
    : gateAccepts(server, {
        maxConnections: () => {
          apply();
          return server.maxConnections;
        },
        host: options.host,
        port: bound,
        logger,
        protocol: options.protocol,
      });
  return { server, drainer: new HttpDrainer(server, () => gate?.stop()), port: bound };
}

/** Logs refused connections at most once per interval, with how many, so a flood is one line. */
function dropLogger(logger: Logger, protocol: string, intervalMs = 10_000): () => void {
  let dropped = 0;
  let last = Number.NEGATIVE_INFINITY;
  return () => {
    dropped += 1;
    const now = Date.now();
    if (now - last < intervalMs) return;
    logger.warn({ protocol, dropped }, "connections refused: server.limits.maxConnections reached");
    dropped = 0;
    last = now;
  };
}

/** Node's server timeouts for these limits (its headers timeout may not exceed the request one). */
function timeouts(limits: ListenerLimits) {
  return {
    headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
  };
}
