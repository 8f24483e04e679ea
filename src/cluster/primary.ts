/**
 * The primary process of a multi-process gateway (`server.workers`, docs/workers.md). It serves
 * nothing itself: it forks the workers, which share the listening ports through node:cluster,
 * re-forks one that dies (at a bounded rate), relays reloads and metrics between them, and on
 * SIGTERM lets every worker drain before it exits.
 */
import cluster, { type Worker } from "node:cluster";
import { availableParallelism } from "node:os";
import { type ConfigWatch, watchConfigFile } from "../config/watch.js";
import type { ReloadResult } from "../gateway/types.js";
import type { Logger } from "../logger.js";
import {
  aggregateWorkerMetrics,
  isWorkerMetrics,
  type WorkerMetrics,
} from "../metrics/cluster-aggregate.js";
import { IpcChannel, type IpcMessage } from "./ipc.js";
import { RESTART_WINDOW_MS, RestartPolicy } from "./restart-policy.js";
import {
  isReloadResult,
  METRICS_TIMEOUT_MS,
  RELOAD_TIMEOUT_MS,
  TRAFFIC_TIMEOUT_MS,
  WORKER_INDEX_ENV,
} from "./worker.js";

/** A worker still running this long after its drain timeout is killed. */
const EXIT_GRACE_MS = 10_000;
/** One worker's metrics must come within this, or that worker is left out of the answer. */
const WORKER_METRICS_TIMEOUT_MS = Math.min(5000, METRICS_TIMEOUT_MS / 2);

/** Options of {@link runPrimary}. */
export interface PrimaryOptions {
  configPath: string;
  /** How many workers to run (at least 2; one runs without a primary). */
  count: number;
  logger: Logger;
  /** `server.drainTimeoutMs` at start: how long a worker's drain may take. */
  drainTimeoutMs: number;
  /** `server.watchConfig` at start: the primary watches the file and reloads every worker. */
  watchConfig: boolean;
}

interface Slot {
  worker: Worker | undefined;
  channel: IpcChannel | undefined;
  ready: boolean;
}

/** Runs the workers until SIGTERM or SIGINT; resolves with the process's exit code. */
export function runPrimary(options: PrimaryOptions): Promise<number> {
  const { logger, count } = options;
  const slots: Slot[] = Array.from({ length: count }, () => ({
    worker: undefined,
    channel: undefined,
    ready: false,
  }));
  const restarts = new RestartPolicy();
  let jobsPort: number | undefined;
  let started = false;
  let stopping: Promise<number> | undefined;
  let watcher: ConfigWatch | undefined;
  let finish: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => {
    finish = resolve;
  });

  const live = () =>
    slots.filter((s): s is Slot & { channel: IpcChannel } => s.ready && s.channel !== undefined);

  const tellJobsPort = () => {
    for (const slot of live())
      slot.channel.tell({ kind: "infergate:jobs-port", port: jobsPort ?? null });
  };

  const reloadAll = async (): Promise<ReloadResult> => {
    const answers = await Promise.allSettled(
      live().map((s) => s.channel.ask("reload", RELOAD_TIMEOUT_MS)),
    );
    const errors: string[] = [];
    for (const answer of answers) {
      if (answer.status === "rejected") {
        errors.push(`a worker did not reload: ${String(answer.reason)}`);
      } else if (!isReloadResult(answer.value)) {
        errors.push("a worker answered the reload with nonsense");
      } else if (!answer.value.ok) {
        return answer.value;
      }
    }
    const result: ReloadResult = errors.length === 0 ? { ok: true } : { ok: false, errors };
    logger.info({ workers: answers.length, ok: result.ok }, "reloaded every worker");
    return result;
  };

  // A split set through one worker's admin API, applied in the others: without Redis that is how
  // every worker routes alike (docs/workers.md).
  const relayTraffic = async (from: Slot, change: unknown): Promise<number> => {
    const others = live().filter((s) => s !== from);
    const answers = await Promise.allSettled(
      others.map((s) => s.channel.ask("traffic", TRAFFIC_TIMEOUT_MS / 2, change)),
    );
    const failed = answers.filter((a) => a.status === "rejected").length;
    if (failed > 0) {
      logger.warn(
        { failed, workers: others.length + 1 },
        "a worker did not apply a run-time split",
      );
      throw new Error(
        `the split was applied in ${others.length + 1 - failed} of ${others.length + 1} workers`,
      );
    }
    return others.length;
  };

  const metricsText = async (): Promise<string> => {
    const answers = await Promise.allSettled(
      live().map((s) => s.channel.ask("metrics-json", WORKER_METRICS_TIMEOUT_MS)),
    );
    const lists: WorkerMetrics[] = [];
    for (const answer of answers) {
      if (answer.status === "fulfilled" && isWorkerMetrics(answer.value)) lists.push(answer.value);
    }
    return aggregateWorkerMetrics(lists);
  };

  const fork = (index: number) => {
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(index) });
    const slot = slots[index] as Slot;
    const send = (message: IpcMessage) => worker.isConnected() && worker.send(message);
    const asks = {
      reload: reloadAll,
      metrics: metricsText,
      traffic: (change: unknown) => relayTraffic(slot, change),
    };
    const channel = new IpcChannel(send, asks, (message) => {
      if (message.kind !== "infergate:ready") return;
      slot.ready = true;
      if (message.jobsPort !== undefined) {
        jobsPort = message.jobsPort;
        tellJobsPort();
      } else {
        channel.tell({ kind: "infergate:jobs-port", port: jobsPort ?? null });
      }
      logger.info({ worker: index, pid: worker.process.pid }, "worker ready");
      if (!started && slots.every((s) => s.ready)) {
        started = true;
        logger.info({ workers: count }, "every worker serves");
      }
    });
    worker.on("message", (message: unknown) => channel.receive(message));
    slot.worker = worker;
    slot.channel = channel;
    slot.ready = false;
    worker.once("exit", (code, signal) => {
      channel.close("the worker exited");
      slot.worker = undefined;
      slot.channel = undefined;
      slot.ready = false;
      if (index === 0) {
        jobsPort = undefined;
        tellJobsPort();
      }
      exited(index, code, signal);
    });
  };

  const exited = (index: number, code: number | null, signal: string | null) => {
    if (stopping !== undefined) {
      if (slots.every((s) => s.worker === undefined)) finish(0);
      return;
    }
    if (!started) {
      // The worker said why (bad config, port taken); the others would fail the same way.
      logger.error({ worker: index, code, signal }, "a worker failed to start");
      void stop(1);
      return;
    }
    const delayMs = restarts.next(Date.now());
    if (delayMs === undefined) {
      logger.error(
        { worker: index, code, signal, restarts: restarts.recent, windowMs: RESTART_WINDOW_MS },
        "workers keep dying; stopping the gateway",
      );
      void stop(1);
      return;
    }
    logger.warn({ worker: index, code, signal, delayMs }, "worker died; starting another");
    setTimeout(() => {
      if (stopping === undefined) fork(index);
    }, delayMs);
  };

  const stop = (code: number): Promise<number> => {
    stopping ??= (async () => {
      watcher?.close();
      const running = slots.flatMap((s) => (s.worker === undefined ? [] : [s.worker]));
      logger.info({ workers: running.length }, "draining every worker");
      for (const worker of running) worker.process.kill("SIGTERM");
      const killer = setTimeout(() => {
        for (const s of slots) s.worker?.process.kill("SIGKILL");
      }, options.drainTimeoutMs + EXIT_GRACE_MS);
      if (running.length === 0) finish(0);
      await done;
      clearTimeout(killer);
      logger.info("stopped");
      return code;
    })();
    return stopping;
  };

  for (let index = 0; index < count; index++) fork(index);
  process.on("SIGHUP", () => {
    if (stopping === undefined) void reloadAll();
  });
  if (options.watchConfig) {
    watcher = watchConfigFile({ path: options.configPath, reload: reloadAll, logger });
  }
  return new Promise<number>((resolve) => {
    const onSignal = (signal: string) => {
      // Wrappers forward the same signal again; the drain under way must not be cut short.
      if (stopping === undefined) logger.info({ signal }, "shutting down");
      void stop(0).then(resolve);
    };
    process.on("SIGTERM", () => onSignal("SIGTERM"));
    process.on("SIGINT", () => onSignal("SIGINT"));
    void done.then(() => {
      if (stopping !== undefined) void stopping.then(resolve);
    });
  });
}

/** The number of workers `server.workers` asks for on this machine. */
export function workerCount(setting: "auto" | number): number {
  return setting === "auto" ? availableParallelism() : setting;
}
