/**
 * The in-process ONNX backend: one onnxruntime-node session per `<modelDir>/<model>/<version>`,
 * all loaded when the adapter is created.
 */
import * as ort from "onnxruntime-node";
import { BackendUnavailableError, InvalidRequestError } from "../../errors.js";
import type { NamedTensor, TensorSpec } from "../../tensor/types.js";
import type {
  BackendAdapter,
  BackendCall,
  BackendResult,
  ModelMetadata,
  TargetRef,
} from "../types.js";
import { fromOrtTensor, toOrtTensor } from "./codec.js";
import { checkDeadline, raceDeadline } from "./deadline.js";
import { compareVersions, ONNX_PLATFORM, specsFromMetadata } from "./metadata.js";
import { findModelFiles } from "./repository.js";
import { runError } from "./run-errors.js";

/** The `type: onnx` backend's settings (src/config/schema.ts). */
export interface OnnxAdapterConfig {
  /** Triton-style repository: `<modelDir>/<model>/<version>/model.onnx`. */
  modelDir: string;
  /** onnxruntime intra-op threads per session; default 1 (see sessionOptions). */
  intraOpNumThreads?: number;
}

/** One loaded model version. */
interface LoadedVersion {
  readonly version: string;
  readonly session: ort.InferenceSession;
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
}

/** A loaded model: its versions in ascending numeric order. */
type LoadedModel = ReadonlyMap<string, LoadedVersion>;

function sessionOptions(config: OnnxAdapterConfig): ort.InferenceSession.SessionOptions {
  return {
    // One thread by default: onnxruntime's pool (a thread per core) spins between runs and, on a
    // small machine, takes the CPU the event loop needs for every other request. Measured here on
    // 2 cores: 968 -> 3289 iris requests/s through the gateway. Big models that gain from
    // intra-op parallelism set `intraOpNumThreads` explicitly.
    intraOpNumThreads: config.intraOpNumThreads ?? 1,
    // Runs are serialised on the main thread anyway; parallel branches would only add threads.
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    // Every failure reaches us as an exception and is reported by the gateway; onnxruntime's own
    // stderr lines would only duplicate it outside the structured log.
    logSeverityLevel: 4,
  };
}

/** The ONNX backend adapter (SPEC section 6, `type: onnx`). */
export class OnnxAdapter implements BackendAdapter {
  readonly type = "onnx" as const;
  private closed = false;
  private readonly inflight = new Set<Promise<unknown>>();

  private constructor(
    readonly name: string,
    private readonly models: ReadonlyMap<string, LoadedModel>,
  ) {}

  /**
   * Loads every `<modelDir>/<model>/<version>/model.onnx`. A missing modelDir, a model that
   * onnxruntime cannot load, or a model with an input that is not a plain tensor fails the whole
   * backend with an error naming the file, after releasing whatever was already loaded.
   */
  static async create(name: string, config: OnnxAdapterConfig): Promise<OnnxAdapter> {
    const files = await findModelFiles(config.modelDir);
    const options = sessionOptions(config);
    const models = new Map<string, Map<string, LoadedVersion>>();
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
            {
              cause: err,
            },
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
        versions.set(file.version, {
          version: file.version,
          session,
          inputs: inputs.specs,
          outputs,
        });
        models.set(file.model, versions);
      }
    } catch (err) {
      await Promise.allSettled(loaded.map((s) => s.release()));
      throw err;
    }
    return new OnnxAdapter(name, models);
  }

  /** The loaded model names with their versions, ascending; for logs and diagnostics. */
  loadedModels(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [model, versions] of this.models) out[model] = [...versions.keys()];
    return out;
  }

  private assertOpen(): void {
    if (this.closed) throw new BackendUnavailableError(`onnx backend "${this.name}" is closed`);
  }

  /** The target's loaded version (undefined version = highest number), else BACKEND_UNAVAILABLE. */
  private resolve(target: TargetRef): LoadedVersion {
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
    const loaded = this.resolve(target);
    const where = `model "${target.model}" version "${loaded.version}"`;
    const feeds = buildFeeds(loaded.inputs, call.inputs, where);
    const fetches = outputNames(loaded.outputs, call.outputs, where);
    checkDeadline(call.deadline, call.signal, where);
    const run = loaded.session.run(feeds, fetches);
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
    const outputs: NamedTensor[] = fetches.map((name) => {
      const value = results[name];
      if (!(value instanceof ort.Tensor))
        throw runError(new Error(`output "${name}" is missing`), where);
      return fromOrtTensor(name, value);
    });
    return { outputs, modelVersion: loaded.version };
  }

  async metadata(target: TargetRef): Promise<ModelMetadata> {
    const loaded = this.resolve(target);
    const versions = [...(this.models.get(target.model)?.keys() ?? [])].sort(compareVersions);
    return {
      name: target.model,
      versions,
      platform: ONNX_PLATFORM,
      inputs: loaded.inputs.map(copySpec),
      outputs: loaded.outputs.map(copySpec),
    };
  }

  async ready(target: TargetRef): Promise<boolean> {
    this.assertOpen();
    const versions = this.models.get(target.model);
    if (versions === undefined) return false;
    return target.version === undefined ? versions.size > 0 : versions.has(target.version);
  }

  async health(): Promise<boolean> {
    return !this.closed;
  }

  /** Stops taking calls, lets runs already started finish, then releases every session. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inflight]);
    const sessions = [...this.models.values()].flatMap((versions) => [...versions.values()]);
    await Promise.allSettled(sessions.map((v) => v.session.release()));
  }
}

function copySpec(spec: TensorSpec): TensorSpec {
  return { name: spec.name, datatype: spec.datatype, shape: [...spec.shape] };
}

/**
 * The call's inputs as ORT feeds, checked against the model: onnxruntime silently ignores feeds it
 * does not know, and its datatype and shape errors are clearer when named here.
 */
function buildFeeds(
  specs: readonly TensorSpec[],
  inputs: readonly NamedTensor[],
  where: string,
): Record<string, ort.Tensor> {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of inputs) {
    const spec = byName.get(input.name);
    if (spec === undefined) {
      const expected = specs.map((s) => `"${s.name}"`).join(", ");
      throw new InvalidRequestError(`${where} has no input "${input.name}" (inputs: ${expected})`);
    }
    if (Object.hasOwn(feeds, input.name)) {
      throw new InvalidRequestError(`${where}: input "${input.name}" given more than once`);
    }
    checkAgainstSpec(input, spec, where);
    feeds[input.name] = toOrtTensor(input, `${where} input "${input.name}"`);
  }
  const missing = specs.filter((s) => !Object.hasOwn(feeds, s.name)).map((s) => `"${s.name}"`);
  if (missing.length > 0) {
    throw new InvalidRequestError(`${where}: missing input ${missing.join(", ")}`);
  }
  return feeds;
}

function checkAgainstSpec(input: NamedTensor, spec: TensorSpec, where: string): void {
  const what = `${where} input "${input.name}"`;
  if (input.datatype !== spec.datatype) {
    throw new InvalidRequestError(
      `${what}: datatype ${input.datatype}, the model expects ${spec.datatype}`,
    );
  }
  // An empty reported shape may mean "unknown"; onnxruntime then checks the rank itself.
  if (spec.shape.length === 0) return;
  const fits =
    input.shape.length === spec.shape.length &&
    spec.shape.every((dim, i) => dim === -1 || dim === input.shape[i]);
  if (!fits) {
    throw new InvalidRequestError(
      `${what}: shape [${input.shape}] does not match the model's [${spec.shape}] (-1 = any size)`,
    );
  }
}

/** The outputs to fetch: the requested ones (deduplicated, checked), or all when none are named. */
function outputNames(
  specs: readonly TensorSpec[],
  requested: readonly string[] | undefined,
  where: string,
): string[] {
  const all = specs.map((s) => s.name);
  if (requested === undefined || requested.length === 0) return all;
  const unknown = requested.filter((name) => !all.includes(name));
  if (unknown.length > 0) {
    const list = all.map((n) => `"${n}"`).join(", ");
    throw new InvalidRequestError(`${where} has no output "${unknown[0]}" (outputs: ${list})`);
  }
  return [...new Set(requested)];
}
