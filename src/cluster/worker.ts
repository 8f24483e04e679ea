/**
 * A worker's side of a multi-process gateway (docs/workers.md): how its gateway reaches the
 * primary (reload every worker, the whole gateway's `/metrics`, the job worker's port) and how it
 * answers the primary's asks.
 */
import cluster from "node:cluster";
import type { ReloadResult } from "../gateway/types.js";
import { isWorkerMetrics } from "../metrics/cluster-aggregate.js";
import type { SplitEntry } from "../routing/split.js";
import { type AskHandlers, IpcChannel, type IpcMessage } from "./ipc.js";

/** The environment variable carrying a worker's index (0 is the job worker). */
export const WORKER_INDEX_ENV = "INFERGATE_WORKER_INDEX";

/** Longest a reload of every worker may take before the asking worker gives up on it. */
export const RELOAD_TIMEOUT_MS = 120_000;
/** Longest the other workers may take to apply a run-time split. */
export const TRAFFIC_TIMEOUT_MS = 10_000;
/** Longest the whole gateway's metrics may take to gather. */
export const METRICS_TIMEOUT_MS = 10_000;

/** True for a reload answer (it crossed a process boundary). */
export function isReloadResult(value: unknown): value is ReloadResult {
  if (typeof value !== "object" || value === null || !("ok" in value)) return false;
  if (value.ok === true) return true;
  return (
    value.ok === false &&
    "errors" in value &&
    Array.isArray(value.errors) &&
    value.errors.every((e: unknown) => typeof e === "string")
  );
}

/** A run-time split on its way between workers. */
export interface TrafficChange {
  model: string;
  entries: SplitEntry[];
}

/** True for a {@link TrafficChange} (it crossed a process boundary). */
export function isTrafficChange(value: unknown): value is TrafficChange {
  if (typeof value !== "object" || value === null) return false;
  if (!("model" in value) || typeof value.model !== "string") return false;
  return (
    "entries" in value &&
    Array.isArray(value.entries) &&
    value.entries.every(
      (e: unknown) =>
        typeof e === "object" &&
        e !== null &&
        "version" in e &&
        typeof e.version === "string" &&
        "weight" in e &&
        typeof e.weight === "number",
    )
  );
}

/** What server.ts needs from the cluster in a worker. */
export interface WorkerLink {
  /** This worker's index; 0 runs the job engine. */
  readonly index: number;
  /** True in the job worker. */
  readonly ownsJobs: boolean;
  /** The job worker's private port, as last announced (undefined while it is down). */
  jobsPort(): number | undefined;
  /** Reloads every worker; the result is the first rejection, else ok. */
  reloadAll(): Promise<ReloadResult>;
  /** The whole gateway's `/metrics` text. */
  metricsText(): Promise<string>;
  /** Applies a run-time split, already applied here, in every other worker. */
  trafficAll(change: TrafficChange): Promise<void>;
  /** Answers the primary's asks with this gateway's reload, registry and run-time splits. */
  serve(handlers: Required<Pick<AskHandlers, "reload" | "metrics-json" | "traffic">>): void;
  /** Tells the primary this worker serves; the job worker also says where its jobs port is. */
  ready(jobsPort?: number): void;
}

/** The link of this process, when it is a cluster worker; else undefined. */
export function connectWorker(): WorkerLink | undefined {
  if (!cluster.isWorker || process.send === undefined) return undefined;
  const index = Number(process.env[WORKER_INDEX_ENV] ?? "0");
  const send = (message: IpcMessage) => process.send?.(message) ?? false;
  const handlers: AskHandlers = {};
  let port: number | undefined;
  const channel = new IpcChannel(send, handlers, (message) => {
    if (message.kind === "infergate:jobs-port") port = message.port ?? undefined;
  });
  process.on("message", (message) => channel.receive(message));
  process.once("disconnect", () => channel.close("the primary process is gone"));
  return {
    index,
    ownsJobs: index === 0,
    jobsPort: () => port,
    async reloadAll() {
      const value = await channel.ask("reload", RELOAD_TIMEOUT_MS);
      if (!isReloadResult(value)) throw new Error("the primary answered a reload with nonsense");
      return value;
    },
    async metricsText() {
      const value = await channel.ask("metrics", METRICS_TIMEOUT_MS);
      if (typeof value !== "string") throw new Error("the primary answered metrics with nonsense");
      return value;
    },
    async trafficAll(change) {
      await channel.ask("traffic", TRAFFIC_TIMEOUT_MS, change);
    },
    serve(own) {
      handlers.reload = own.reload;
      handlers.traffic = own.traffic;
      handlers["metrics-json"] = async () => {
        const metrics = await own["metrics-json"]();
        if (!isWorkerMetrics(metrics)) throw new Error("metrics are not prom-client JSON");
        return metrics;
      };
    },
    ready(jobsPort) {
      if (jobsPort !== undefined) port = jobsPort;
      channel.tell({ kind: "infergate:ready", ...(jobsPort === undefined ? {} : { jobsPort }) });
    },
  };
}
