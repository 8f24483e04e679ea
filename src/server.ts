/**
 * Starts a whole gateway: the runtime (config + backends), the HTTP listener and, when
 * `server.grpcPort` is set, the gRPC listener. `stop()` drains as SPEC 5 describes.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Hono } from "hono";
import { Runtime } from "./gateway/runtime.js";
import type { ServerInfo } from "./gateway/types.js";
import { createGrpcFront } from "./grpc/server.js";
import { type AppEnv, createAdminApp, createHttpApp } from "./http/app.js";
import { HttpDrainer } from "./http/drain.js";
import { JobEngine } from "./jobs/engine.js";
import type { Logger } from "./logger.js";
import { createMetrics, type Metrics } from "./metrics/registry.js";
import { GATEWAY_VERSION } from "./version.js";

/** A running gateway. */
export interface RunningGateway {
  runtime: Runtime;
  metrics: Metrics;
  httpPort: number;
  grpcPort: number | undefined;
  /** The admin listener's port, when `server.adminPort` is set. */
  adminPort: number | undefined;
  /** Stops accepting, lets requests in flight finish (up to drainTimeoutMs), closes backends. */
  stop(): Promise<void>;
}

/** Server identity for KServe v2 server metadata. */
export const SERVER_INFO: ServerInfo = {
  name: "infergate",
  version: GATEWAY_VERSION,
  extensions: ["binary_tensor_data"],
};

/** Options for startGateway. */
export interface StartOptions {
  configPath: string;
  logger: Logger;
  env?: Record<string, string | undefined>;
}

/** Loads the config, starts the backends and opens the listeners. */
export async function startGateway(options: StartOptions): Promise<RunningGateway> {
  const { logger } = options;
  const metrics = createMetrics();
  const runtime = await Runtime.start({
    configPath: options.configPath,
    metrics,
    logger,
    info: SERVER_INFO,
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  const server = runtime.current().config.server;
  let jobs: JobEngine;
  try {
    jobs = await startJobs(runtime, metrics, logger);
  } catch (err) {
    await runtime.close(0);
    throw err;
  }

  const deps = {
    jobs,
    service: () => runtime.current(),
    metrics,
    bodyLimitBytes: () => runtime.current().config.server.bodyLimitBytes,
    reload: () => runtime.reload(),
    logger,
  };
  const separateAdmin = server.adminPort !== undefined;
  let http: HttpListener;
  try {
    http = await listenHttp(
      createHttpApp(deps, { admin: !separateAdmin }),
      server.host,
      server.port,
      "http",
      logger,
    );
  } catch (err) {
    await jobs.close(0);
    await runtime.close(0);
    throw err;
  }
  let admin: HttpListener | undefined;
  if (server.adminPort !== undefined) {
    try {
      admin = await listenHttp(
        createAdminApp(deps),
        server.adminHost ?? "127.0.0.1",
        server.adminPort,
        "admin",
        logger,
      );
    } catch (err) {
      http.server.close();
      await jobs.close(0);
      await runtime.close(0);
      throw err;
    }
  }
  const httpPort = http.port;

  let grpc: ReturnType<typeof createGrpcFront> | undefined;
  let grpcPort: number | undefined;
  if (server.grpcPort !== undefined) {
    grpc = createGrpcFront(() => runtime.current(), {
      maxMessageBytes: server.grpcMaxMessageBytes ?? server.bodyLimitBytes,
      onInternalError: (err, rpc) => logger.error({ err, rpc }, "internal error"),
    });
    try {
      grpcPort = await grpc.listen(server.host, server.grpcPort);
    } catch (err) {
      http.server.close();
      admin?.server.close();
      await jobs.close(0);
      await runtime.close(0);
      throw err;
    }
    logger.info({ protocol: "grpc", host: server.host, port: grpcPort }, "listening");
  }

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      const drainMs = runtime.current().config.server.drainTimeoutMs;
      logger.info({ drainTimeoutMs: drainMs }, "draining");
      const started = Date.now();
      await Promise.all([
        http.drainer.drain(drainMs),
        admin?.drainer.drain(drainMs),
        grpc?.close(drainMs),
      ]);
      await jobs.close(Math.max(0, drainMs - (Date.now() - started)));
      await runtime.close(Math.max(0, drainMs - (Date.now() - started)));
      logger.info("stopped");
    })();
    return stopping;
  };

  return { runtime, metrics, httpPort, grpcPort, adminPort: admin?.port, stop };
}

/** An open HTTP listener. */
interface HttpListener {
  server: Server;
  drainer: HttpDrainer;
  port: number;
}

/** Serves `app` on host:port and logs it as `protocol`. */
async function listenHttp(
  app: Hono<AppEnv>,
  host: string,
  port: number,
  protocol: "http" | "admin",
  logger: Logger,
): Promise<HttpListener> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port }, () => resolve(s as Server));
    s.once("error", reject);
  });
  const bound = (server.address() as AddressInfo).port;
  logger.info({ protocol, host, port: bound }, "listening");
  return { server, drainer: new HttpDrainer(server), port: bound };
}

/** The async job engine on the runtime's current service (docs/async.md). */
function startJobs(runtime: Runtime, metrics: Metrics, logger: Logger): Promise<JobEngine> {
  const config = runtime.current().config;
  return JobEngine.start({
    config,
    service: () => runtime.current(),
    metrics: metrics.jobs,
    logger,
  });
}
