/**
 * What both of the emulator's protocols share: model lookup with Triton's NOT_FOUND messages, the
 * request checks Triton's core makes against the model (inputs, datatypes, shapes, outputs), the
 * call record and the EmulatorMode gate, and running the model: an ONNX one from models/, or one
 * of the stateful models of ./sequences.ts.
 */
import type * as ort from "onnxruntime-node";
import type { CallRecord } from "../control.js";
import { ModeGate } from "../mode-gate.js";
import type { LoadedModel, ModelRunner, OrtValueInfo } from "../runner.js";
import { type InputLabel, V2_TYPE } from "./convert.js";
import { invalidArg, TritonError } from "./errors.js";
import { SequenceModel } from "./sequences.js";

/** Triton's platform string for ONNX Runtime models. */
export const PLATFORM = "onnxruntime_onnx";

/** An input as it arrived: its header, and how to turn its payload into a tensor once checked. */
export interface WireInput {
  name: string;
  datatype: string;
  shape: number[];
  decode(at: InputLabel): ort.Tensor;
  /** The input's raw bytes, when it came as raw contents or binary data. */
  raw?: Uint8Array;
}

/** One computed output. */
export interface Output {
  name: string;
  datatype: string;
  shape: number[];
  tensor: ort.Tensor;
  /**
   * The output's raw bytes when they are not the tensor's: an echo model's BYTES (see
   * `infer`). Binary and raw answers send these.
   */
  raw?: Uint8Array;
  /** Parameters the model set on this output. */
  parameters?: Record<string, unknown>;
}

/** A model the emulator serves: ONNX (with a session) or stateful. */
export type EmulatedModel = LoadedModel | SequenceModel;

/** A computed answer: its outputs, and the parameters the model set on the response. */
export interface Answer {
  outputs: Output[];
  parameters?: Record<string, unknown>;
}

/** The KServe v2 datatype of a model tensor. */
export function datatypeOf(info: OrtValueInfo): string {
  return V2_TYPE[info.type] ?? info.type.toUpperCase();
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/** The emulator's state shared by REST and gRPC. */
export class TritonCore {
  /** The call record and the EmulatorMode switches. */
  readonly gate = new ModeGate({
    unavailable: () =>
      new TritonError("UNAVAILABLE", "Server not ready: model unavailable (emulated)"),
    error: () => new TritonError("INTERNAL", "internal error (emulated failure)"),
  });

  /** The stateful models, each with its live sequences. */
  readonly sequences = new Map<string, SequenceModel>(
    SequenceModel.names().flatMap((name) => {
      const model = SequenceModel.create(name);
      return model === undefined ? [] : [[name, model] as const];
    }),
  );

  constructor(readonly runner: ModelRunner) {}

  /** Version ids of a model, ascending. */
  versions(model: string): string[] {
    return this.sequences.has(model) ? ["1"] : this.runner.versions(model);
  }

  /**
   * The model version a request names (empty/undefined = latest), or Triton's NOT_FOUND.
   * A version that is not an integer is INVALID_ARG, as in Triton.
   */
  find(model: string, version: string | undefined): EmulatedModel {
    if (version !== undefined && version !== "" && !/^-?\d+$/.test(version)) {
      throw invalidArg(
        `failed to get model version from specified version string '${version}' (details: stoll)`,
      );
    }
    const latest = version === undefined || version === "" || version === "-1";
    if (this.versions(model).length === 0) {
      throw new TritonError("NOT_FOUND", `Request for unknown model: '${model}' is not found`);
    }
    const stateful = this.sequences.get(model);
    const found =
      stateful !== undefined
        ? latest || version === stateful.version
          ? stateful
          : undefined
        : this.runner.get(model, latest ? undefined : version);
    if (found === undefined) {
      throw new TritonError(
        "NOT_FOUND",
        `Request for unknown model: '${model}' version ${version} is not found`,
      );
    }
    return found;
  }

  /** Records an inference call; the caller marks it cancelled when its client goes away. */
  record(
    protocol: "rest" | "grpc",
    model: string,
    version: string | undefined,
    batch?: number,
  ): CallRecord {
    return this.gate.record(protocol, model, version === "" ? undefined : version, batch);
  }

  /**
   * Checks the request against the model like Triton's core, runs it (a stateful model with the
   * request's parameters), returns the outputs.
   */
  async infer(
    model: EmulatedModel,
    inputs: readonly WireInput[],
    requested: readonly string[] | undefined,
    parameters: Readonly<Record<string, unknown>> = {},
  ): Promise<Answer> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of inputs) {
      const spec = model.inputs.find((i) => i.name === input.name);
      if (spec === undefined) {
        throw invalidArg(`unexpected inference input '${input.name}' for model '${model.name}'`);
      }
      if (feeds[input.name] !== undefined) {
        throw invalidArg(`input '${input.name}' already exists in request`);
      }
      const expected = datatypeOf(spec);
      if (input.datatype !== expected) {
        throw invalidArg(
          `inference input '${input.name}' data-type is '${input.datatype}', but model '${model.name}' expects '${expected}'`,
        );
      }
      const fits =
        input.shape.length === spec.dims.length &&
        spec.dims.every((d, i) => d === -1 || d === input.shape[i]);
      if (!fits) {
        throw invalidArg(
          `unexpected shape for input '${input.name}' for model '${model.name}'. Expected ${shapeText(spec.dims)}, got ${shapeText(input.shape)}`,
        );
      }
      feeds[input.name] = input.decode({ input: input.name, model: model.name });
    }
    const missing = model.inputs.filter((i) => feeds[i.name] === undefined);
    if (missing.length > 0) {
      throw invalidArg(
        `expected ${model.inputs.length} inputs but got ${inputs.length} inputs for model '${model.name}'. Got input(s) [${inputs.map((i) => `'${i.name}'`).join(", ")}], but missing required input(s) [${missing.map((i) => `'${i.name}'`).join(", ")}]. Please provide all required input(s).`,
      );
    }
    for (const name of requested ?? []) {
      if (!model.outputs.some((o) => o.name === name)) {
        throw invalidArg(`unexpected inference output '${name}' for model '${model.name}'`);
      }
    }
    const names = requested === undefined || requested.length === 0 ? undefined : [...requested];
    if (model instanceof SequenceModel) {
      const feed = feeds.INPUT;
      if (feed === undefined) throw new TritonError("INTERNAL", "INPUT missing");
      const answer = model.run(feed, parameters);
      const { output } = answer;
      return {
        outputs: [
          {
            name: "OUTPUT",
            datatype: "INT32",
            shape: output.dims.map(Number),
            tensor: output,
            parameters: answer.outputParameters,
          },
        ],
        parameters: answer.parameters,
      };
    }
    let results: Record<string, ort.Tensor>;
    try {
      results = await this.runner.run(model, feeds, names);
    } catch (err) {
      throw new TritonError(
        "INTERNAL",
        `onnx runtime error: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const order = names ?? model.outputs.map((o) => o.name);
    // The echo_* models and simple_identity are one Identity node. onnxruntime-node strings end
    // at a NUL byte and hold only UTF-8, so for BYTES the emulator answers as a Triton identity
    // backend does: the input's bytes, unchanged (when they came raw).
    const identity = model.name.startsWith("echo_") || model.name === "simple_identity";
    const echoRaw = identity && inputs[0]?.datatype === "BYTES" ? inputs[0].raw : undefined;
    const outputs = order.map((name) => {
      const tensor = results[name];
      if (tensor === undefined) throw new TritonError("INTERNAL", `output '${name}' missing`);
      return {
        name,
        datatype: V2_TYPE[tensor.type] ?? tensor.type,
        shape: tensor.dims.map(Number),
        tensor,
        ...(echoRaw === undefined ? {} : { raw: echoRaw }),
      };
    });
    return { outputs };
  }

  /** Model metadata as KServe v2 reports it. */
  metadata(model: EmulatedModel) {
    const spec = (info: OrtValueInfo) => ({
      name: info.name,
      datatype: datatypeOf(info),
      shape: info.dims,
    });
    return {
      name: model.name,
      versions: this.versions(model.name),
      platform: PLATFORM,
      inputs: model.inputs.map(spec),
      outputs: model.outputs.map(spec),
    };
  }
}
