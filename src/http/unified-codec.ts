/**
 * Wire codec of the unified API (docs/api.md): the predict body to an InferRequest using the
 * model's input specs, and an InferResponse to the `{"model","version","outputs":{name: nested}}`
 * body.
 * Tensor conversion itself is the tensor module's; this file only decides which form a value is.
 */
import { InvalidRequestError } from "../errors.js";
import type { InferResponse } from "../gateway/types.js";
import { isRecord } from "../is-record.js";
import {
  checkOutputBytes,
  DEFAULT_LIMITS,
  DecodeBudget,
  type DecodeLimits,
  isDatatype,
  type NamedTensor,
  type Tensor,
  type TensorSpec,
  tensorFromJsonData,
  tensorFromNested,
  tensorJsonText,
} from "../tensor/index.js";
import { type ClassRequests, unifiedOutputRequests } from "../triton/classification.js";

/** The parsed top level of a predict body, path parameters applied. */
export interface PredictBody {
  model: string;
  /** A version id or label; undefined lets the service use the header, default or split. */
  version: string | undefined;
  id: string | undefined;
  /** Undecoded: decoding needs the model's metadata. */
  inputs: unknown;
  outputs: string[] | undefined;
  /** Outputs requested as classes (`{"name", "classification": K}`). */
  classes: ClassRequests;
}

/** Model and version named in the URL path; they win over the body. */
export interface PathNames {
  model: string | undefined;
  version: string | undefined;
}

function optionalName(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string" && value.length > 0) return value;
  // Versions are strings, but `"version": 2` is an easy mistake with one obvious meaning.
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return String(value);
  throw new InvalidRequestError(`"${field}" must be a non-empty string`);
}

function parseOutputs(value: unknown): { names: string[] | undefined; classes: ClassRequests } {
  if (value === undefined || value === null) return { names: undefined, classes: new Map() };
  if (!Array.isArray(value))
    throw new InvalidRequestError(`"outputs" must be a list of output names`);
  // An output may also be `{"name", "classification": K}` (docs/triton.md "Classification").
  const { names, classes } = unifiedOutputRequests(value);
  return { names: names.length > 0 ? names : undefined, classes };
}

/** Validates the predict body's top level. */
export function parsePredictBody(body: unknown, path: PathNames): PredictBody {
  if (!isRecord(body)) throw new InvalidRequestError("request body must be a JSON object");
  const model = path.model ?? optionalName(body.model, "model");
  if (model === undefined) {
    throw new InvalidRequestError(`"model" is required (in the body or the URL path)`);
  }
  const version = path.version ?? optionalName(body.version, "version");
  const idValue = body.id;
  if (idValue !== undefined && idValue !== null && typeof idValue !== "string") {
    throw new InvalidRequestError(`"id" must be a string`);
  }
  const inputs = body.inputs;
  if (!Array.isArray(inputs) && !isRecord(inputs)) {
    throw new InvalidRequestError(
      `"inputs" is required: an object of input name -> tensor, or a tensor`,
    );
  }
  const outputs = parseOutputs(body.outputs);
  return {
    model,
    version,
    id: typeof idValue === "string" ? idValue : undefined,
    inputs,
    outputs: outputs.names,
    classes: outputs.classes,
  };
}

const TENSOR_KEYS = new Set(["datatype", "shape", "data"]);

/**
 * An explicit `{datatype, shape, data}` tensor rather than an object of inputs: only those keys, with
 * `data`. A model may name an input `data` or `shape`, so an object whose keys are all input names
 * stays an inputs object.
 */
function isExplicitTensor(value: Record<string, unknown>, specs: readonly TensorSpec[]): boolean {
  const keys = Object.keys(value);
  if (!("data" in value) || !keys.every((k) => TENSOR_KEYS.has(k))) return false;
  return !keys.every((k) => specs.some((s) => s.name === k));
}

function isShape(value: unknown): value is number[] {
  return (
    Array.isArray(value) &&
    value.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0)
  );
}

function decodeExplicit(
  value: Record<string, unknown>,
  spec: TensorSpec | undefined,
  budget: DecodeBudget,
): Tensor {
  const datatype = value.datatype ?? spec?.datatype;
  if (datatype === undefined) {
    throw new InvalidRequestError(`"datatype" is required (the model does not declare this input)`);
  }
  if (!isDatatype(datatype)) {
    throw new InvalidRequestError(`unknown datatype ${JSON.stringify(datatype)}`);
  }
  if (value.shape === undefined) return tensorFromNested(value.data, datatype, budget);
  if (!isShape(value.shape)) {
    throw new InvalidRequestError(`"shape" must be a list of non-negative integers`);
  }
  return tensorFromJsonData(datatype, value.shape, value.data, budget);
}

function decodeTensor(
  name: string,
  value: unknown,
  specs: readonly TensorSpec[],
  budget: DecodeBudget,
): NamedTensor {
  const spec = specs.find((s) => s.name === name);
  try {
    const tensor =
      isRecord(value) && isExplicitTensor(value, specs)
        ? decodeExplicit(value, spec, budget)
        : tensorFromNested(value, spec?.datatype, budget);
    return { name, datatype: tensor.datatype, shape: tensor.shape, data: tensor.data };
  } catch (err) {
    if (err instanceof InvalidRequestError) {
      throw new InvalidRequestError(`input "${name}": ${err.message}`, { cause: err });
    }
    throw err;
  }
}

function inputNames(specs: readonly TensorSpec[]): string {
  return specs.map((s) => `"${s.name}"`).join(", ");
}

/**
 * The `inputs` value as named tensors: an object of input name -> tensor, or one bare tensor (a
 * nested array or an explicit tensor) for a model with exactly one input. Every tensor's shape is
 * charged to `budget` (the request's limits) before its data is built.
 */
export function decodeUnifiedInputs(
  model: string,
  inputs: unknown,
  specs: readonly TensorSpec[],
  budget: DecodeBudget = new DecodeBudget(),
): NamedTensor[] {
  const bare = Array.isArray(inputs) || (isRecord(inputs) && isExplicitTensor(inputs, specs));
  if (bare) {
    const only = specs.length === 1 ? specs[0] : undefined;
    if (only === undefined) {
      const declared =
        specs.length === 0
          ? "declares no inputs"
          : `has ${specs.length} inputs (${inputNames(specs)})`;
      throw new InvalidRequestError(
        `model "${model}" ${declared}; name them: "inputs": {"<name>": tensor}`,
      );
    }
    return [decodeTensor(only.name, inputs, specs, budget)];
  }
  if (!isRecord(inputs)) {
    throw new InvalidRequestError(
      `"inputs" must be an object of input name -> tensor, or a tensor`,
    );
  }
  const names = Object.keys(inputs);
  if (names.length === 0) throw new InvalidRequestError(`"inputs" is empty`);
  // A model without declared inputs (a backend without metadata) cannot be checked here.
  if (specs.length > 0) {
    for (const name of names) {
      if (!specs.some((s) => s.name === name)) {
        throw new InvalidRequestError(
          `unknown input "${name}" for model "${model}"; its inputs are ${inputNames(specs)}`,
        );
      }
    }
  }
  return names.map((name) => decodeTensor(name, inputs[name], specs, budget));
}

/**
 * The unified response body as JSON text; `id` only when the request carried one. The outputs
 * are checked against `maxOutputBytes` before anything is encoded; INT64/UINT64 beyond 2^53 are
 * written as their digits and non-finite floats as `NaN` / `Infinity` / `-Infinity`. Large
 * outputs are written in slices that let other requests run in between.
 */
export async function encodeUnifiedResponse(
  response: InferResponse,
  id: string | undefined,
  limits: DecodeLimits = DEFAULT_LIMITS,
): Promise<string> {
  checkOutputBytes(response.outputs, limits);
  const outputs: string[] = [];
  for (const output of response.outputs) {
    outputs.push(`${JSON.stringify(output.name)}:${await tensorJsonText(output, true)}`);
  }
  const head = id === undefined ? "" : `"id":${JSON.stringify(id)},`;
  return `{${head}"model":${JSON.stringify(response.model)},"version":${JSON.stringify(response.version)},"outputs":{${outputs.join(",")}}}`;
}
