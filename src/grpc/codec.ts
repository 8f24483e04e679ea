/**
 * KServe v2 gRPC `ModelInferRequest` / `ModelInferResponse` <-> the canonical InferRequest /
 * InferResponse. Bad client input throws InvalidRequestError (INVALID_ARGUMENT on the wire).
 */
import { InternalError, InvalidRequestError } from "../errors.js";
import type { InferRequest, InferResponse } from "../gateway/types.js";
import { CONTENTS_FIELDS, lengthPrefixed, TYPED_FIELD } from "../protocols/kserve/contents.js";
import type {
  WireInferInputTensor,
  WireInferOutputTensor,
  WireInferParameter,
  WireInt64,
  WireModelInferRequest,
  WireModelInferResponse,
  WireTensorContents,
} from "../protocols/kserve/proto.js";
import {
  checkOutputBytes,
  type Datatype,
  DEFAULT_LIMITS,
  DecodeBudget,
  type DecodeLimits,
  elementCount,
  isDatatype,
  type NamedTensor,
  type Tensor,
  tensorFromJsonData,
  tensorFromRaw,
  tensorToRaw,
} from "../tensor/index.js";
import { fromWireParameters, toWireParameters } from "../triton/parameters.js";

/** A decoded request and whether it carried `raw_input_contents` (the answer then goes raw too). */
export interface DecodedInferRequest {
  request: InferRequest;
  raw: boolean;
}

/**
 * Decodes and checks a `ModelInferRequest` into the canonical request. Every input's declared
 * shape is charged against `limits` (elements, tensor bytes, BYTES elements) before its data is
 * converted; over a limit is PAYLOAD_TOO_LARGE (RESOURCE_EXHAUSTED on the wire).
 */
export function decodeInferRequest(
  wire: WireModelInferRequest,
  limits: DecodeLimits = DEFAULT_LIMITS,
): DecodedInferRequest {
  const model = wire.model_name;
  const budget = new DecodeBudget(limits);
  const raw = wire.raw_input_contents.length > 0;
  if (raw && wire.raw_input_contents.length !== wire.inputs.length) {
    throw new InvalidRequestError(
      `the number of inputs (${wire.inputs.length}) does not match the number of raw input contents (${wire.raw_input_contents.length}) for model '${model}'`,
    );
  }
  const seen = new Set<string>();
  const inputs = wire.inputs.map((input, i): NamedTensor => {
    if (input.name === "")
      throw new InvalidRequestError(`input ${i} has no name for model '${model}'`);
    if (seen.has(input.name)) {
      throw new InvalidRequestError(
        `input '${input.name}' is given more than once for model '${model}'`,
      );
    }
    seen.add(input.name);
    // Triton's rule and wording: raw and typed contents never mix within one request.
    if (raw && input.contents !== null) {
      throw new InvalidRequestError(
        `contents field must not be specified when using raw_input_contents for '${input.name}' for model '${model}'`,
      );
    }
    const bytes = wire.raw_input_contents[i];
    return decodeInput(input, bytes, budget);
  });
  const outputs = wire.outputs.map((o, i) => {
    if (o.name === "")
      throw new InvalidRequestError(`requested output ${i} has no name for model '${model}'`);
    return o.name;
  });
  const request: InferRequest = { inputs };
  if (wire.id !== "") request.id = wire.id;
  if (outputs.length > 0) request.outputs = [...new Set(outputs)];
  const parameters = decodeParameters(wire.parameters);
  if (parameters !== undefined) request.parameters = parameters;
  return { request, raw };
}

function decodeInput(
  input: WireInferInputTensor,
  rawBytes: Uint8Array | undefined,
  budget: DecodeBudget,
): NamedTensor {
  const { name } = input;
  if (!isDatatype(input.datatype)) {
    throw new InvalidRequestError(`invalid datatype '${input.datatype}' for input '${name}'`);
  }
  const datatype = input.datatype;
  const shape = decodeShape(input.shape, name);
  const tensor = withInputName(name, () =>
    rawBytes !== undefined
      ? tensorFromRaw(datatype, shape, rawBytes, budget)
      : tensorFromContents(datatype, shape, input.contents, budget),
  );
  return { name, datatype: tensor.datatype, shape: tensor.shape, data: tensor.data };
}

/** Shapes arrive as int64 decimal strings; dimensions must be non-negative safe integers. */
function decodeShape(shape: readonly WireInt64[], name: string): number[] {
  return shape.map((dim) => {
    const n = Number(dim);
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new InvalidRequestError(`invalid shape dimension ${dim} for input '${name}'`);
    }
    return n;
  });
}

/** Runs a tensor conversion and names the input in any client error it reports. */
function withInputName(name: string, convert: () => Tensor): Tensor {
  try {
    return convert();
  } catch (err) {
    if (err instanceof InvalidRequestError) {
      throw new InvalidRequestError(`input '${name}': ${err.message}`, { cause: err });
    }
    throw err;
  }
}

function tensorFromContents(
  datatype: Datatype,
  shape: number[],
  contents: Partial<WireTensorContents> | null,
  budget: DecodeBudget,
): Tensor {
  const field = TYPED_FIELD[datatype];
  if (field === undefined) {
    throw new InvalidRequestError(`${datatype} data must be sent in raw_input_contents`);
  }
  for (const other of CONTENTS_FIELDS) {
    if (other !== field && (contents?.[other]?.length ?? 0) > 0) {
      throw new InvalidRequestError(`${datatype} data must be in ${field}, not ${other}`);
    }
  }
  const expected = elementCount(shape);
  const got = contents?.[field]?.length ?? 0;
  if (got !== expected) {
    throw new InvalidRequestError(
      `shape [${shape.join(",")}] needs ${expected} elements but ${field} has ${got}`,
    );
  }
  if (datatype === "BYTES") {
    // Elements are arbitrary bytes (not necessarily UTF-8), so they go through the raw BYTES
    // encoding rather than JSON strings; the tensor API then checks the shape as for any input.
    // Charged before the length-prefixed copy is made.
    const elements = contents?.bytes_contents ?? [];
    let size = 0;
    for (const e of elements) size += 4 + e.length;
    budget.claim(datatype, shape, size);
    return tensorFromRaw(datatype, shape, lengthPrefixed(elements));
  }
  // The tensor API checks every value against the datatype: int_contents 300 is no INT8, and
  // INT64/UINT64 decimal strings (longs: String) keep their full 64-bit precision.
  return tensorFromJsonData(datatype, shape, contents?.[field] ?? [], budget);
}

/** Request parameters as plain values; one without a value is the client's error. */
function decodeParameters(
  wire: Record<string, WireInferParameter>,
): Record<string, unknown> | undefined {
  const entries = Object.entries(wire);
  if (entries.length === 0) return undefined;
  for (const [key, p] of entries) {
    if (p.parameter_choice === undefined) {
      throw new InvalidRequestError(`parameter '${key}' has no value`);
    }
  }
  return fromWireParameters(wire);
}

/**
 * Encodes a canonical answer. Outputs go raw when the request went raw, and also whenever an
 * output is FP16/BF16 (no typed field); the protocol forbids mixing, so then every output is raw.
 */
export function encodeInferResponse(
  response: InferResponse,
  requestUsedRaw: boolean,
  requestId: string | undefined,
  limits: DecodeLimits = DEFAULT_LIMITS,
): WireModelInferResponse {
  checkOutputBytes(response.outputs, limits);
  const raw = requestUsedRaw || response.outputs.some((o) => TYPED_FIELD[o.datatype] === undefined);
  const outputs: WireInferOutputTensor[] = response.outputs.map((o) => ({
    name: o.name,
    datatype: o.datatype,
    shape: o.shape.map(String),
    parameters: toWireParameters(response.outputParameters?.[o.name]),
    contents: raw ? null : typedContents(o),
  }));
  return {
    model_name: response.model,
    model_version: response.version,
    id: response.id ?? requestId ?? "",
    parameters: toWireParameters(response.parameters),
    outputs,
    raw_output_contents: raw ? response.outputs.map((o) => tensorToRaw(o)) : [],
  };
}

/** The storage class of each datatype (see DataByType); BYTES is a plain array. */
const STORAGE: Readonly<Record<Datatype, new (...args: never[]) => object>> = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  FP16: Uint16Array,
  BF16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
  BYTES: Array,
};

/** One output's data in its typed field. A malformed backend tensor is our bug, not the client's. */
function typedContents(tensor: Tensor): Partial<WireTensorContents> {
  const { data, datatype } = tensor;
  const field = TYPED_FIELD[datatype];
  if (
    field === undefined ||
    !(data instanceof STORAGE[datatype]) ||
    data.length !== elementCount(tensor.shape)
  ) {
    throw new InternalError(
      new Error(
        `output data (${data.constructor.name}[${data.length}]) does not fit ${datatype} [${tensor.shape.join(",")}]`,
      ),
    );
  }
  if (Array.isArray(data)) return { bytes_contents: data };
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    return { [field]: Array.from(data, (v) => v.toString()) };
  }
  if (datatype === "BOOL") return { bool_contents: Array.from(data, (v) => v !== 0) };
  return { [field]: Array.from(data) };
}
