/**
 * Starts a whole gateway: the runtime (config + backends), the HTTP listener and, when
 * `server.grpcPort` is set, the gRPC listener. `stop()` drains as docs/operations.md "Drain and shutdown" describes.
 */
import { AccessControl } from "./auth/access.js";
import { forwardJobs, type JobsListener, listenForJobs } from "./cluster/job-forward.js";
import { isTrafficChange, type WorkerLink } from "./cluster/worker.js";
import { Runtime } from "./gateway/runtime.js";
import type { ServerInfo } from "./gateway/types.js";
import { createGrpcFront } from "./grpc/server.js";
import { createAdminApp, createHttpApp } from "./http/app.js";
import { BodyBudget } from "./http/body-budget.js";
import { adminPlacement } from "./http/exposure.js";
import { type HttpListener, listenHttp } from "./http/listener.js";
import { JobEngine } from "./jobs/engine.js";
import type { Logger } from "./logger.js";
import { ClusterRegistry } from "./metrics/cluster-aggregate.js";
import { createMetrics, type Metrics } from "./metrics/registry.js";
import { TimeSeries } from "./metrics/timeseries.js";
import { startTracingIfRequested } from "./observability/start.js";
import { keyTenants, withTenantMetrics } from "./observability/tenant-metrics.js";
import type { SplitEntry } from "./routing/split.js";
import { TRITON_EXTENSIONS } from "./triton/grpc-proto.js";
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
  extensions: ["binary_tensor_data", ...TRITON_EXTENSIONS],
};

/** Options for startGateway. */
export interface StartOptions {
  configPath: string;
  logger: Logger;
  env?: Record<string, string | undefined>;
  /** Set in a worker of a multi-process gateway (docs/workers.md); absent = a single process. */
  worker?: WorkerLink;
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
  const worker = options.worker;
  // With several workers the embedded stores belong to the job worker alone and the others
  // forward to it; jobs on a Redis of their own are shared by every worker, as by replicas.
  const jobsShared = runtime.current().config.jobs.redis !== undefined;
  const forwardsJobs = worker !== undefined && !worker.ownsJobs && !jobsShared;
  let jobs: JobEngine | undefined;
  try {
    if (!forwardsJobs) jobs = await startJobs(runtime, metrics, logger);
  } catch (err) {
    await runtime.close(0);
    throw err;
  }
  worker?.serve({
    reload: () => runtime.reload(),
    "metrics-json": () => metrics.registry.getMetricsAsJSON(),
    traffic: async (change) => {
      if (!isTrafficChange(change)) throw new Error("the primary sent a split that is not one");
      await runtime.setTraffic(change.model, change.entries);
    },
  });

  const limits = () => runtime.current().config.server.limits;
  const deps = {
    ...(jobs === undefined ? {} : { jobs }),
    service: () => runtime.current(),
    // `/metrics` of a worker answers for the whole gateway.
    metrics:
      worker === undefined
        ? metrics
        : { ...metrics, registry: new ClusterRegistry(() => worker.metricsText()) },
    bodyLimitBytes: () => runtime.current().config.server.bodyLimitBytes,
    limits: () => runtime.current().config.server.limits,
    reload: () => (worker === undefined ? runtime.reload() : worker.reloadAll()),
    setTraffic: async (model: string, entries: readonly SplitEntry[]) => {
      await runtime.setTraffic(model, entries);
      // With Redis every worker follows the stored split; without it the primary relays it.
      if (worker !== undefined && runtime.current().config.redis === undefined) {
        await worker.trafficAll({ model, entries: [...entries] });
      }
    },
    bodyIdleTimeoutMs: () => limits().bodyIdleTimeoutMs,
    bodyBudget: new BodyBudget(() => limits().maxBufferedBodyBytes),
    logger,
  };
  // Without auth, /admin/* answers only on a loopback listener (docs/security.md "Admin exposure").
  const config = runtime.current().config;
  const tracing = await startTracingIfRequested(config.tracing, options.env ?? process.env);
  const placement = adminPlacement({ ...server, auth: config.auth !== undefined });
  // Keys, tokens and rate limits on every front (docs/access.md).
  const access = new AccessControl(() => runtime.current().config, logger);
  const tenants = keyTenants();
  const accessLog = withTenantMetrics(logger, metrics.registry, () =>
    tenants(runtime.current().config.auth),
  );
  for (const warning of placement.warnings) logger.warn({ adminPort: server.adminPort }, warning);
  let http: HttpListener;
  const ownApp = createHttpApp(deps, { admin: placement.onPublic, access, accessLog });
  const publicApp = forwardsJobs ? forwardJobs(ownApp, () => worker.jobsPort()) : ownApp;
  // The admin page's charts (docs/ui.md); its timer never keeps the process alive.
  const timeseries = new TimeSeries(metrics);
  try {
    http = await listenHttp(publicApp, {
      host: server.host,
      port: server.port,
      protocol: "http",
      logger,
      limits,
    });
  } catch (err) {
    await jobs?.close(0);
    await runtime.close(0);
    throw err;
  }
  let admin: HttpListener | undefined;
  if (placement.separate && server.adminPort !== undefined) {
    try {
      // Admin requests may name a non-loopback admin bind address as their origin.
      const wildcard = ["0.0.0.0", "::"].includes(placement.adminHost);
      const hosts = wildcard ? [] : [placement.adminHost];
      timeseries.start();
      admin = await listenHttp(
        createAdminApp(deps, { hosts, timeseries, jobsApp: publicApp, access, accessLog }),
        {
          host: placement.adminHost,
          port: server.adminPort,
          protocol: "admin",
          logger,
          limits,
        },
      );
    } catch (err) {
      http.server.close();
      await jobs?.close(0);
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
      limits: server.grpc,
      onInternalError: (err, rpc) => logger.error({ err, rpc }, "internal error"),
      decodeLimits: () => runtime.current().config.server.limits,
      access,
      accessLog,
    });
    try {
      grpcPort = await grpc.listen(server.host, server.grpcPort);
    } catch (err) {
      http.server.close();
      admin?.server.close();
      await jobs?.close(0);
      await runtime.close(0);
      throw err;
    }
    logger.info({ protocol: "grpc", host: server.host, port: grpcPort }, "listening");
  }

  let jobsListener: JobsListener | undefined;
  if (worker?.ownsJobs && jobs !== undefined && !jobsShared) {
    try {
      jobsListener = await listenForJobs(ownApp);
    } catch (err) {
      http.server.close();
      admin?.server.close();
      await grpc?.close(0);
      await jobs.close(0);
      await runtime.close(0);
      throw err;
    }
  }
  worker?.ready(jobsListener?.port);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      const drainMs = runtime.current().config.server.drainTimeoutMs;
      logger.info({ drainTimeoutMs: drainMs }, "draining");
      timeseries.stop();
      const started = Date.now();
      await Promise.all([
        http.drainer.drain(drainMs),
        admin?.drainer.drain(drainMs),
        grpc?.close(drainMs),
        jobsListener?.close(drainMs),
      ]);
      await jobs?.close(Math.max(0, drainMs - (Date.now() - started)));
      await runtime.close(Math.max(0, drainMs - (Date.now() - started)));
      await access.close();
      await tracing?.shutdown();
      logger.info("stopped");
    })();
    return stopping;
  };

  return { runtime, metrics, httpPort, grpcPort, adminPort: admin?.port, stop };
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
