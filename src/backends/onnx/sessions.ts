/**
 * Loads a model repository's onnxruntime sessions and turns a run's results into canonical
 * tensors. Shared by the adapter's on-loop mode and by its worker threads (worker.ts), so both
 * load, report and answer exactly alike.
 */
import * as ort from "onnxruntime-node";
import { BackendUnavailableError } from "../../errors.js";
import type { NamedTensor, TensorSpec } from "../../tensor/types.js";
import { fromOrtTensor } from "./codec.js";
import { specsFromMetadata } from "./metadata.js";
import type { ModelFile } from "./repository.js";
import { runError } from "./run-errors.js";

/** The session settings of a `type: onnx` backend. */
export interface SessionSettings {
  /** onnxruntime intra-op threads per session; default 1 (see sessionOptions). */
  intraOpNumThreads?: number;
}

/** One model version's tensors, as the adapter checks calls against them. */
export interface VersionSpecs {
  readonly version: string;
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
}

/** One loaded model version. */
export interface LoadedVersion extends VersionSpecs {
  readonly session: ort.InferenceSession;
}

/** Model name -> its loaded versions, in ascending numeric version order. */
export type LoadedModels = Map<string, Map<string, LoadedVersion>>;

/** The onnxruntime options every session of the backend is created with. */
export function sessionOptions(settings: SessionSettings): ort.InferenceSession.SessionOptions {
  return {
    // One thread by default: onnxruntime's pool (a thread per core) spins between runs and, on a
    // small machine, takes the CPU the event loop needs for every other request. Measured here on
    // 2 cores: 968 -> 3289 iris requests/s through the gateway. Big models that gain from
    // intra-op parallelism set `intraOpNumThreads` explicitly.
    intraOpNumThreads: settings.intraOpNumThreads ?? 1,
    // Runs are serialised per thread (the event loop, or one worker) anyway; parallel branches
    // would only add threads.
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    // Every failure reaches us as an exception and is reported by the gateway; onnxruntime's own
    // stderr lines would only duplicate it outside the structured log.
    logSeverityLevel: 4,
  };
}

/**
 * Creates a session for every file, in the files' order. A model onnxruntime cannot load, or one
 * with an input that is not a plain tensor, fails the whole backend with a BackendUnavailableError
 * naming the file, after releasing whatever was already loaded.
 */
export async function loadSessions(
  name: string,
  files: readonly ModelFile[],
  settings: SessionSettings,
): Promise<LoadedModels> {
  const options = sessionOptions(settings);
  const models: LoadedModels = new Map();
  const loaded: ort.InferenceSession[] = [];
  try {
    for (const file of files) {
      let session: ort.InferenceSession;
      try {
        session = await ort.InferenceSession.create(file.path, options);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        throw new BackendUnavailableError(
          `onnx backend "${name}": cannot load ${file.path}: ${reason}`,
          { cause: err },
        );
      }
      loaded.push(session);
      const inputs = specsFromMetadata(session.inputMetadata);
      const bad = inputs.unsupported[0];
      if (bad !== undefined) {
        throw new BackendUnavailableError(
          `onnx backend "${name}": ${file.path}: input "${bad.name}" cannot be served: ${bad.reason}`,
        );
      }
      // Outputs that are not plain tensors (e.g. a ZipMap's sequence of maps) are left out of the
      // metadata and never fetched; the tensor outputs stay usable.
      const outputs = specsFromMetadata(session.outputMetadata).specs;
      const versions = models.get(file.model) ?? new Map<string, LoadedVersion>();
      versions.set(file.version, { version: file.version, session, inputs: inputs.specs, outputs });
      models.set(file.model, versions);
    }
  } catch (err) {
    await Promise.allSettled(loaded.map((s) => s.release()));
    throw err;
  }
  return models;
}

/** Releases every session; failures are ignored because the backend is going away anyway. */
export async function releaseSessions(models: LoadedModels): Promise<void> {
  const sessions = [...models.values()].flatMap((versions) => [...versions.values()]);
  await Promise.allSettled(sessions.map((v) => v.session.release()));
}

/** The fetched outputs of a run, in fetch order, as canonical tensors. */
export function collectOutputs(
  results: ort.InferenceSession.ReturnType,
  fetches: readonly string[],
  where: string,
): NamedTensor[] {
  return fetches.map((name) => {
    const value = results[name];
    if (!(value instanceof ort.Tensor)) {
      throw runError(new Error(`output "${name}" is missing`), where);
    }
    return fromOrtTensor(name, value);
  });
}
