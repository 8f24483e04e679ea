/**
 * The ONNX backend's sessions on worker threads (`workers: N`): every worker loads the whole
 * model repository (worker.ts) and runs calls on it; this is the main thread's side.
 */
import type { NamedTensor } from "../../tensor/types.js";
import type { ModelFile } from "./repository.js";
import type { SessionSettings } from "./sessions.js";
import { asNamedTensors, compactCopies } from "./tensor-transfer.js";
import { type PoolStats, WorkerPool } from "./worker-pool.js";
import {
  type LoadedSpec,
  type OnnxJob,
  type OnnxWorkerData,
  parseLoadedSpecs,
} from "./worker-protocol.js";
import { resolveWorkerScript } from "./worker-script.js";

/** How to run a backend's sessions on workers. */
export interface SessionPoolSettings extends SessionSettings {
  /** Worker threads, at least 1. */
  workers: number;
  /** Calls that may wait per worker before new ones are refused; default 1024. */
  maxQueuePerWorker?: number;
  /** Restart back-off after a worker dies; default 100 ms doubling to 10 s. */
  restartDelayMs?: { initial: number; max: number };
  /** The worker entry; default: found by resolveWorkerScript. */
  script?: URL;
}

function parseOutputs(value: unknown): NamedTensor[] {
  const tensors = asNamedTensors(value);
  if (tensors === undefined) throw new Error("the outputs are not canonical tensors");
  return tensors;
}

/** Worker threads each holding a session for every model version of the repository. */
export class SessionPool {
  private constructor(private readonly pool: WorkerPool<LoadedSpec[], NamedTensor[]>) {}

  /**
   * Starts the workers and waits until each has loaded every file. Resolves with what the first
   * worker loaded (in the files' order); rejects with the worker's BackendUnavailableError naming
   * the file it could not load, or with one saying the worker script is missing or stale.
   */
  static async start(
    name: string,
    files: ModelFile[],
    settings: SessionPoolSettings,
  ): Promise<{ pool: SessionPool; loaded: LoadedSpec[] }> {
    const label = `onnx backend "${name}"`;
    const workerData: OnnxWorkerData = {
      name,
      files,
      ...(settings.intraOpNumThreads === undefined
        ? {}
        : { intraOpNumThreads: settings.intraOpNumThreads }),
    };
    const { pool, init } = await WorkerPool.start({
      label,
      script: settings.script ?? resolveWorkerScript(label),
      workerData,
      size: settings.workers,
      ...(settings.maxQueuePerWorker === undefined
        ? {}
        : { maxQueuePerWorker: settings.maxQueuePerWorker }),
      ...(settings.restartDelayMs === undefined ? {} : { restartDelayMs: settings.restartDelayMs }),
      parseInit: parseLoadedSpecs,
      parseResult: parseOutputs,
    });
    return { pool: new SessionPool(pool), loaded: init };
  }

  /**
   * Runs one checked call on a worker. The inputs are copied (compactly) and the copies moved to
   * the worker; the caller's tensors stay untouched. Errors are those of WorkerPool.run.
   */
  run(job: OnnxJob, deadline: number, signal: AbortSignal): Promise<NamedTensor[]> {
    const { tensors, transfer } = compactCopies(job.inputs);
    return this.pool.run({ ...job, inputs: tensors }, transfer, deadline, signal, job.where);
  }

  /** The workers and queue right now. */
  stats(): PoolStats {
    return this.pool.stats();
  }

  /** Lets queued and running calls finish, then terminates the workers. */
  close(): Promise<void> {
    return this.pool.close();
  }
}
