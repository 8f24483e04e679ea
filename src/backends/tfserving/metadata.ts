/**
 * TF Serving model metadata -> the gateway's ModelMetadata. The REST metadata API (JSON) and the
 * gRPC one (the Any-packed SignatureDefMap, decoded with keepCase/longs String/enums String) give
 * the same object shape, so one reader serves both. Input and output names are the signature's
 * aliases: the names PredictRequest uses, not the graph's tensor names.
 */
import { BackendError } from "../../errors.js";
import { isRecord } from "../../is-record.js";
import type { TensorSpec } from "../../tensor/types.js";
import type { ModelMetadata } from "../types.js";
import { datatypeOfDt } from "./dtypes.js";

/** TF Serving's platform name, as its model config calls it. */
export const TF_PLATFORM = "tensorflow";

/** The signature used when a target names none. */
export const DEFAULT_SIGNATURE = "serving_default";

/** A signature's tensors as TensorSpecs. */
export interface SignatureSpecs {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** `{"dim":[{"size":"-1"}],"unknown_rank":false}` -> `[-1]`. An unknown rank reads as `[-1]`. */
function shapeOf(shape: unknown, where: string): number[] {
  if (!isRecord(shape) || shape.unknown_rank === true) return [-1];
  const dims = shape.dim ?? [];
  if (!Array.isArray(dims)) throw new BackendError(`${where}: tensor_shape.dim is not a list`);
  return dims.map((dim: unknown) => {
    const size = isRecord(dim) ? Number(dim.size ?? 0) : Number.NaN;
    if (!Number.isSafeInteger(size) || size < -1) {
      throw new BackendError(`${where}: bad dimension ${JSON.stringify(dim)}`);
    }
    return size;
  });
}

function specsOf(infos: unknown, where: string): TensorSpec[] {
  if (infos === undefined || infos === null) return [];
  if (!isRecord(infos)) throw new BackendError(`${where} is not an object`);
  const specs: TensorSpec[] = [];
  // In the backend's order: a signature map has no order of its own, and the order TF Serving
  // (or the emulator) lists is as good as another and keeps declared orders stable.
  for (const alias of Object.keys(infos)) {
    const info = infos[alias];
    const at = `${where}.${alias}`;
    if (!isRecord(info)) throw new BackendError(`${at} is not a TensorInfo`);
    const datatype = datatypeOfDt(info.dtype);
    if (datatype === undefined) {
      throw new BackendError(`${at}: dtype ${String(info.dtype)} has no KServe datatype`);
    }
    specs.push({ name: alias, datatype, shape: shapeOf(info.tensor_shape, at) });
  }
  return specs;
}

/**
 * The tensors of signature `signature` in a SignatureDefMap object (`{signature_def: {...}}`).
 * Throws BackendError naming the signatures the model has when it is missing.
 */
export function signatureSpecs(
  signatureDefMap: unknown,
  signature: string,
  model: string,
): SignatureSpecs {
  const defs = isRecord(signatureDefMap) ? signatureDefMap.signature_def : undefined;
  if (!isRecord(defs)) {
    throw new BackendError(`model "${model}": the metadata holds no signature_def map`);
  }
  const def = defs[signature];
  if (!isRecord(def)) {
    const known = Object.keys(defs)
      .filter((k) => !k.startsWith("__"))
      .join(", ");
    throw new BackendError(
      `model "${model}" has no signature "${signature}" (it has: ${known || "none"})`,
    );
  }
  const where = `model "${model}" signature "${signature}"`;
  return {
    inputs: specsOf(def.inputs, `${where} inputs`),
    outputs: specsOf(def.outputs, `${where} outputs`),
  };
}

/** ModelMetadata from a signature's specs and the version the backend reported. */
export function toModelMetadata(
  model: string,
  version: string | undefined,
  specs: SignatureSpecs,
): ModelMetadata {
  return {
    name: model,
    versions: version === undefined || version === "" ? [] : [version],
    platform: TF_PLATFORM,
    inputs: specs.inputs,
    outputs: specs.outputs,
  };
}
