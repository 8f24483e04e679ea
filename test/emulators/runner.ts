/**
 * The emulators' compute: real onnxruntime sessions on the models in models/, used directly (not
 * through src/), so an emulator's answers are real and independent of the gateway's own codecs.
 */
import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import * as ort from "onnxruntime-node";

/** The repo's models directory. */
export const MODELS_DIR = resolve(import.meta.dirname, "../../models");

/** One tensor of a session's metadata, in onnxruntime's terms. */
export interface OrtValueInfo {
  name: string;
  /** onnxruntime element type: "float32", "int64", "string", "bool", "float16", ... */
  type: string;
  /** -1 for a variable dimension. */
  dims: number[];
}

/** A loaded model version. */
export interface LoadedModel {
  name: string;
  version: string;
  session: ort.InferenceSession;
  inputs: OrtValueInfo[];
  outputs: OrtValueInfo[];
}

/** Every model version under a Triton-layout directory, loaded into onnxruntime. */
export class ModelRunner {
  private constructor(private readonly models: Map<string, Map<string, LoadedModel>>) {}

  /** Loads `<dir>/<model>/<version>/model.onnx` for every model and version. */
  static async load(dir = MODELS_DIR): Promise<ModelRunner> {
    const models = new Map<string, Map<string, LoadedModel>>();
    for (const name of readdirSync(dir)) {
      if (!statSync(join(dir, name)).isDirectory()) continue;
      const versions = new Map<string, LoadedModel>();
      for (const version of readdirSync(join(dir, name))) {
        if (!/^\d+$/.test(version)) continue;
        const session = await ort.InferenceSession.create(join(dir, name, version, "model.onnx"), {
          logSeverityLevel: 4,
        });
        versions.set(version, {
          name,
          version,
          session,
          inputs: session.inputMetadata.map(info),
          outputs: session.outputMetadata.map(info),
        });
      }
      if (versions.size > 0) models.set(name, versions);
    }
    return new ModelRunner(models);
  }

  /** Model names. */
  names(): string[] {
    return [...this.models.keys()];
  }

  /** Version ids of a model, ascending. */
  versions(model: string): string[] {
    return [...(this.models.get(model)?.keys() ?? [])].sort((a, b) => Number(a) - Number(b));
  }

  /** A model version (undefined version = the latest), or undefined when not loaded. */
  get(model: string, version?: string): LoadedModel | undefined {
    const versions = this.models.get(model);
    if (versions === undefined) return undefined;
    return versions.get(version ?? this.versions(model).at(-1) ?? "");
  }

  /** Runs a model; `outputs` limits what is fetched (default all). */
  async run(
    model: LoadedModel,
    feeds: Record<string, ort.Tensor>,
    outputs?: readonly string[],
  ): Promise<Record<string, ort.Tensor>> {
    const names =
      outputs === undefined || outputs.length === 0
        ? model.outputs.map((o) => o.name)
        : [...outputs];
    return (await model.session.run(feeds, names)) as Record<string, ort.Tensor>;
  }

  async close(): Promise<void> {
    for (const versions of this.models.values()) {
      for (const m of versions.values()) await m.session.release();
    }
  }
}

function info(value: ort.InferenceSession.ValueMetadata): OrtValueInfo {
  if (!value.isTensor) return { name: value.name, type: "unsupported", dims: [] };
  return {
    name: value.name,
    type: value.type,
    dims: value.shape.map((d) => (typeof d === "number" && d >= 0 ? d : -1)),
  };
}
