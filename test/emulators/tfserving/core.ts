/**
 * What the emulator's REST and gRPC sides share: servable lookup with TF Serving's messages
 * (`Servable not found for request: Latest(m)`), the one "serving_default" signature of each
 * model (aliases = the ONNX tensor names), the signature checks of TF Serving's Predict, the call
 * record and the EmulatorMode gate, and the metadata/status documents.
 */
import type * as ort from "onnxruntime-node";
import type { CallRecord } from "../control.js";
import { ModeGate } from "../mode-gate.js";
import type { LoadedModel, ModelRunner, OrtValueInfo } from "../runner.js";
import { DT_OF_ORT, dtName } from "./dtypes.js";
import { invalidArgument, TfError } from "./errors.js";

export const SERVING_DEFAULT = "serving_default";
export const PREDICT_METHOD = "tensorflow/serving/predict";
const INIT_OP = "__saved_model_init_op";

/** Where a request points: a model and optionally a version number or a label. */
export interface ServableRequest {
  model: string;
  version?: string;
  label?: string;
}

/** An input after decoding, in the signature's terms. */
export interface FedInput {
  alias: string;
  dtype: string;
  tensor: ort.Tensor;
}

function shapeJson(dims: readonly number[]) {
  return { dim: dims.map((d) => ({ size: String(d), name: "" })), unknown_rank: false };
}

/** The emulator's state shared by REST and gRPC. */
export class TfServingCore {
  /** The call record and the EmulatorMode switches. */
  readonly gate = new ModeGate({
    unavailable: () => new TfError("UNAVAILABLE", "Servable is not available (emulated)"),
    error: () => new TfError("INTERNAL", "Internal error (emulated failure)"),
  });

  constructor(
    readonly runner: ModelRunner,
    /** model -> label -> version. */
    private readonly labels: Readonly<Record<string, Readonly<Record<string, string>>>> = {},
  ) {}

  /** The servable a request names, or TF Serving's error. */
  find(req: ServableRequest): LoadedModel {
    let version = req.version;
    if (req.label !== undefined) {
      version = this.labels[req.model]?.[req.label];
      if (version === undefined) {
        throw invalidArgument(`Unrecognized servable version label: ${req.label}`);
      }
    }
    const found = this.runner.get(req.model, version);
    if (found === undefined) {
      const what =
        version === undefined ? `Latest(${req.model})` : `Specific(${req.model}, ${version})`;
      throw new TfError("NOT_FOUND", `Servable not found for request: ${what}`);
    }
    return found;
  }

  /** The versions a status request covers, or TF Serving's NOT_FOUND. */
  statusVersions(req: ServableRequest): string[] {
    const all = this.runner.versions(req.model);
    if (all.length === 0) {
      throw new TfError("NOT_FOUND", `Could not find any versions of model ${req.model}`);
    }
    if (req.version === undefined && req.label === undefined) return all;
    const version = req.version ?? this.find(req).version;
    if (!all.includes(version)) {
      throw new TfError("NOT_FOUND", `Could not find version ${version} of model ${req.model}`);
    }
    return [version];
  }

  /** The signature a request names; only serving_default computes. */
  checkSignature(name: string): void {
    const signature = name === "" ? SERVING_DEFAULT : name;
    if (signature === INIT_OP) {
      throw invalidArgument(
        `Expected prediction signature method_name to be one of {${PREDICT_METHOD}, tensorflow/serving/classify, tensorflow/serving/regress}. Was: `,
      );
    }
    if (signature !== SERVING_DEFAULT) {
      throw invalidArgument(`Serving signature name: "${signature}" not found in signature def`);
    }
  }

  /** Records an inference call; the caller sets its batch size and cancellation later. */
  record(protocol: "rest" | "grpc", req: ServableRequest): CallRecord {
    return this.gate.record(protocol, req.model, req.version ?? req.label, undefined);
  }

  /**
   * Checks the inputs against the signature like TF Serving's Predict (every alias exactly once,
   * the signature's dtype) and the model's shapes, checks the output filter, runs the model.
   */
  async predict(
    model: LoadedModel,
    inputs: readonly FedInput[],
    filter: readonly string[],
  ): Promise<{ alias: string; dtype: string; tensor: ort.Tensor }[]> {
    const sent = inputs.map((i) => i.alias).sort();
    const wanted = model.inputs.map((i) => i.name).sort();
    if (sent.join("\0") !== wanted.join("\0")) {
      const extra = sent.filter((a) => !wanted.includes(a));
      const missing = wanted.filter((a) => !sent.includes(a));
      throw invalidArgument(
        `input size does not match signature: ${sent.length}!=${wanted.length} len({${sent.join(",")}}) != len({${wanted.join(",")}}). Sent extra: {${extra.join(",")}}. Missing but required: {${missing.join(",")}}.`,
      );
    }
    const feeds: Record<string, ort.Tensor> = {};
    for (const [index, input] of inputs.entries()) {
      const spec = model.inputs.find((i) => i.name === input.alias) as OrtValueInfo;
      const dtype = DT_OF_ORT[spec.type] ?? spec.type;
      if (input.dtype !== dtype) {
        throw invalidArgument(
          `Expects arg[${index}] to be ${dtName(dtype)} but ${dtName(input.dtype)} is provided`,
        );
      }
      const shape = input.tensor.dims.map(Number);
      const fits =
        shape.length === spec.dims.length && spec.dims.every((d, i) => d === -1 || d === shape[i]);
      if (!fits) {
        throw invalidArgument(
          `Incompatible shapes: input "${input.alias}" has shape [${shape.join(",")}] but the signature expects [${spec.dims.map((d) => (d === -1 ? "?" : d)).join(",")}]`,
        );
      }
      feeds[input.alias] = input.tensor;
    }
    const outputs = model.outputs.map((o) => o.name);
    const seen = new Set<string>();
    for (const alias of filter) {
      if (seen.has(alias)) throw invalidArgument(`duplicate output tensor alias: ${alias}`);
      seen.add(alias);
      if (!outputs.includes(alias)) {
        throw invalidArgument(
          `output tensor alias not found in signature: ${alias} Outputs expected to be in the set {${outputs.join(",")}}.`,
        );
      }
    }
    const names = filter.length === 0 ? outputs : [...filter];
    let results: Record<string, ort.Tensor>;
    try {
      results = await this.runner.run(model, feeds, names);
    } catch (err) {
      throw invalidArgument(err instanceof Error ? err.message : String(err));
    }
    return names.map((alias) => {
      const tensor = results[alias];
      if (tensor === undefined) throw new TfError("INTERNAL", `output ${alias} missing`);
      return { alias, dtype: DT_OF_ORT[tensor.type] ?? tensor.type, tensor };
    });
  }

  /** The SignatureDefMap of a model version, as JSON-printed protos print it. */
  signatureDefMap(model: LoadedModel) {
    const info = (v: OrtValueInfo, name: string) => ({
      dtype: DT_OF_ORT[v.type] ?? "DT_INVALID",
      tensor_shape: shapeJson(v.dims),
      name,
    });
    return {
      signature_def: {
        [INIT_OP]: {
          inputs: {},
          outputs: {
            [INIT_OP]: {
              dtype: "DT_INVALID",
              tensor_shape: { dim: [], unknown_rank: true },
              name: "NoOp",
            },
          },
          method_name: "",
        },
        [SERVING_DEFAULT]: {
          inputs: Object.fromEntries(
            model.inputs.map((v) => [v.name, info(v, `${SERVING_DEFAULT}_${v.name}:0`)]),
          ),
          outputs: Object.fromEntries(
            model.outputs.map((v, i) => [v.name, info(v, `StatefulPartitionedCall:${i}`)]),
          ),
          method_name: PREDICT_METHOD,
        },
      },
    };
  }
}
