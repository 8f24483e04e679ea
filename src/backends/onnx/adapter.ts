/**
 * The in-process ONNX backend: one onnxruntime-node session per `<modelDir>/<model>/<version>`,
 * all loaded when the adapter is created. With `workers: 0` the sessions run on the event loop;
 * with `workers: N` every one of N worker threads holds all of them (session-pool.ts), so a long
 * run no longer blocks the gateway and a deadline answers the caller while the run goes on.
 * Calls are checked against the model on the main thread either way, so both modes answer the
 * same inputs with the same outputs and the same errors.
 */
import type * as ort from "onnxruntime-node";
import { BackendUnavailableError } from "../../errors.js";
import type { TensorSpec } from "../../tensor/types.js";
import type {
  BackendAdapter,
  BackendCall,
  BackendResult,
  ModelMetadata,
  TargetRef,
} from "../types.js";
import { checkDeadline, raceDeadline } from "./deadline.js";
import { buildFeeds, checkFeeds, outputNames } from "./feeds.js";
import { compareVersions, ONNX_PLATFORM } from "./metadata.js";
import { findModelFiles } from "./repository.js";
import { runError } from "./run-errors.js";
import { SessionPool, type SessionPoolSettings } from "./session-pool.js";
import {
  collectOutputs,
  type LoadedModels,
  loadSessions,
  releaseSessions,
  type VersionSpecs,
} from "./sessions.js";
import type { PoolStats } from "./worker-pool.js";

/** The `type: onnx` backend's settings (src/config/schema.ts). */
export interface OnnxAdapterConfig {
  /** Triton-style repository: `<modelDir>/<model>/<version>/model.onnx`. */
  modelDir: string;
  /** onnxruntime intra-op threads per session; default 1 (see sessions.ts sessionOptions). */
  intraOpNumThreads?: number;
  /** Worker threads running the sessions; 0 or absent runs them on the event loop. */
  workers?: number;
  /** With workers: the pool's queue bound, restart back-off and worker script (session-pool.ts). */
  pool?: Omit<SessionPoolSettings, "workers" | "intraOpNumThreads">;
}

/** Where the sessions run. */
type Engine = { kind: "loop"; models: LoadedModels } | { kind: "workers"; pool: SessionPool };

/** Model name -> version -> tensors, versions in ascending numeric order. */
type SpecsByModel = ReadonlyMap<string, ReadonlyMap<string, VersionSpecs>>;

/** The ONNX backend adapter (docs/backends.md "ONNX in process"). */
export class OnnxAdapter implements BackendAdapter {
  readonly type = "onnx" as const;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly inflight = new Set<Promise<unknown>>();

  private constructor(
    readonly name: string,
    private readonly models: SpecsByModel,
    private readonly engine: Engine,
  ) {}

  /**
   * Loads every `<modelDir>/<model>/<version>/model.onnx`, on the event loop or in each worker.
   * A missing modelDir, a model that onnxruntime cannot load, or a model with an input that is not
   * a plain tensor fails the whole backend with a BackendUnavailableError naming the file, after
   * releasing whatever was already loaded; so does a missing or stale worker build.
   */
  static async create(name: string, config: OnnxAdapterConfig): Promise<OnnxAdapter> {
    const files = await findModelFiles(config.modelDir);
    const settings =
      config.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: config.intraOpNumThreads };
    const workers = config.workers ?? 0;
    if (workers === 0) {
      const models = await loadSessions(name, files, settings);
      return new OnnxAdapter(name, models, { kind: "loop", models });
    }
    const { pool, loaded } = await SessionPool.start(name, files, {
      ...config.pool,
      ...settings,
      workers,
    });
    // The worker reports versions in the files' order, ascending, as resolve() relies on.
    const models = new Map<string, Map<string, VersionSpecs>>();
    for (const spec of loaded) {
      const versions = models.get(spec.model) ?? new Map<string, VersionSpecs>();
      versions.set(spec.version, {
        version: spec.version,
        inputs: spec.inputs,
        outputs: spec.outputs,
      });
      models.set(spec.model, versions);
    }
    return new OnnxAdapter(name, models, { kind: "workers", pool });
  }

  /** The loaded model names with their versions, ascending; for logs and diagnostics. */
  loadedModels(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [model, versions] of this.models) out[model] = [...versions.keys()];
    return out;
  }

  /** The worker pool's state (undefined with `workers: 0`); for diagnostics and tests. */
  workerStats(): PoolStats | undefined {
    return this.engine.kind === "workers" ? this.engine.pool.stats() : undefined;
  }

  private assertOpen(): void {
    if (this.closed) throw new BackendUnavailableError(`onnx backend "${this.name}" is closed`);
  }

  /** The target's version (undefined version = highest number), else BACKEND_UNAVAILABLE. */
  private resolve(target: TargetRef): VersionSpecs {
    this.assertOpen();
    const versions = this.models.get(target.model);
    if (versions === undefined) {
      throw new BackendUnavailableError(
        `model "${target.model}" is not loaded on onnx backend "${this.name}"`,
      );
    }
    if (target.version === undefined) {
      // Versions were inserted in ascending order, so the last one is the latest.
      const latest = [...versions.values()].at(-1);
      if (latest !== undefined) return latest;
    } else {
      const found = versions.get(target.version);
      if (found !== undefined) return found;
    }
    const label = target.version === undefined ? "any version" : `version "${target.version}"`;
    throw new BackendUnavailableError(
      `model "${target.model}" ${label} is not loaded on onnx backend "${this.name}"`,
    );
  }

  async infer(target: TargetRef, call: BackendCall): Promise<BackendResult> {
    const spec = this.resolve(target);
    const where = `model "${target.model}" version "${spec.version}"`;
    // Checked here in both modes, before anything is sent to a worker, so bad input is always
    // the same InvalidRequestError. A worker builds its own feeds: here they are only checked.
    const feeds =
      this.engine.kind === "workers"
        ? checkFeeds(spec.inputs, call.inputs, where)
        : buildFeeds(spec.inputs, call.inputs, where);
    const fetches = outputNames(spec.outputs, call.outputs, where);
    checkDeadline(call.deadline, call.signal, where);
    if (this.engine.kind === "workers") {
      const job = {
        model: target.model,
        version: spec.version,
        where,
        inputs: call.inputs,
        fetches,
      };
      const outputs = await this.engine.pool.run(job, call.deadline, call.signal);
      return { outputs, modelVersion: spec.version };
    }
    const session = this.engine.models.get(target.model)?.get(spec.version)?.session;
    if (session === undefined || feeds === undefined) {
      throw new BackendUnavailableError(`${where} has no session`);
    }
    return {
      outputs: await this.runOnLoop(session, feeds, fetches, call, where),
      modelVersion: spec.version,
    };
  }

  private async runOnLoop(
    session: ort.InferenceSession,
    feeds: Record<string, ort.Tensor>,
    fetches: string[],
    call: BackendCall,
    where: string,
  ): Promise<BackendResult["outputs"]> {
    const run = session.run(feeds, fetches);
    this.inflight.add(run);
    const untrack = (): void => {
      this.inflight.delete(run);
    };
    run.then(untrack, untrack);
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await raceDeadline(run, call.deadline, call.signal, where);
    } catch (err) {
      throw runError(err, where);
    }
    return collectOutputs(results, fetches, where);
  }

  async metadata(target: TargetRef): Promise<ModelMetadata> {
    const spec = this.resolve(target);
    const versions = [...(this.models.get(target.model)?.keys() ?? [])].sort(compareVersions);
    return {
      name: target.model,
      versions,
      platform: ONNX_PLATFORM,
      inputs: spec.inputs.map(copySpec),
      outputs: spec.outputs.map(copySpec),
    };
  }

  async ready(target: TargetRef): Promise<boolean> {
    this.assertOpen();
    const versions = this.models.get(target.model);
    if (versions === undefined || !this.running()) return false;
    return target.version === undefined ? versions.size > 0 : versions.has(target.version);
  }

  async health(): Promise<boolean> {
    return !this.closed && this.running();
  }

  /** False while every worker is down (between a crash and its restart). */
  private running(): boolean {
    return this.engine.kind === "loop" || this.engine.pool.stats().alive > 0;
  }

  /** Stops taking calls, lets calls already accepted finish, then releases every session. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    if (this.engine.kind === "workers") {
      await this.engine.pool.close();
      return;
    }
    await Promise.allSettled([...this.inflight]);
    await releaseSessions(this.engine.models);
  }
}

function copySpec(spec: TensorSpec): TensorSpec {
  return { name: spec.name, datatype: spec.datatype, shape: [...spec.shape] };
}
