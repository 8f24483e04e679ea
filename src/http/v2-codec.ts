/**
 * Wire codec of the KServe v2 REST infer call (docs/api.md, docs/tensors.md): the JSON body, optionally followed by
 * binary tensor blobs (`Inference-Header-Content-Length`), to an InferRequest; an InferResponse to
 * JSON or JSON + blobs. Tensor conversion itself is the tensor module's.
 */
import { InvalidRequestError } from "../errors.js";
import type { InferRequest, InferResponse } from "../gateway/types.js";
import { isRecord } from "../is-record.js";
import {
  binaryBody,
  checkOutputBytes,
  type Datatype,
  DEFAULT_LIMITS,
  DecodeBudget,
  type DecodeLimits,
  isDatatype,
  type NamedTensor,
  type Tensor,
  tensorFromJsonData,
  tensorFromRaw,
  tensorJsonText,
  tensorToRaw,
} from "../tensor/index.js";
import { parseJson } from "./request.js";

const encoder = new TextEncoder();

/** A v2 body split into its JSON value and the binary blobs after it. */
export interface V2Body {
  json: unknown;
  /** Bytes after the JSON; undefined when the request used no binary extension. */
  binary: Uint8Array | undefined;
}

/**
 * Splits a body at `Inference-Header-Content-Length` (absent = all JSON) and parses the JSON part
 * within `limits`.
 */
export function splitV2Body(
  bytes: Uint8Array,
  headerValue: string | undefined,
  limits: DecodeLimits = DEFAULT_LIMITS,
): V2Body {
  if (headerValue === undefined) return { json: parseJson(bytes, limits), binary: undefined };
  const jsonLength = /^\s*\d+\s*$/.test(headerValue) ? Number(headerValue) : Number.NaN;
  if (!(jsonLength <= bytes.byteLength)) {
    throw new InvalidRequestError(
      `Inference-Header-Content-Length must be a byte count no larger than the body (${bytes.byteLength} bytes)`,
    );
  }
  return {
    json: parseJson(bytes.subarray(0, jsonLength), limits),
    binary: bytes.subarray(jsonLength),
  };
}

/** A decoded v2 request and which outputs to answer as binary. */
export interface DecodedV2Request {
  request: InferRequest;
  binaryOutput: (name: string) => boolean;
}

function isShape(value: unknown): value is number[] {
  return (
    Array.isArray(value) &&
    value.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0)
  );
}

/**
 * A `parameters` object. An integer beyond 2^53 (read exactly as a bigint) stays exact as its
 * decimal string, as the gRPC front keeps int64 parameters: a bigint would break JSON further on.
 */
function optionalParameters(value: unknown, where: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw new InvalidRequestError(`${where} "parameters" must be an object`);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === "bigint") value[key] = v.toString();
  }
  return value;
}

function optionalBool(value: unknown, what: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "boolean") throw new InvalidRequestError(`"${what}" must be a boolean`);
  return value;
}

/** Reads binary blobs in input order; the sizes must cover the binary part exactly. */
class BlobReader {
  private offset = 0;
  constructor(private readonly binary: Uint8Array | undefined) {}

  take(name: string, size: unknown): Uint8Array {
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
      throw new InvalidRequestError(`input "${name}": "binary_data_size" must be a byte count`);
    }
    if (this.binary === undefined) {
      throw new InvalidRequestError(
        `input "${name}" has "binary_data_size" but the request has no Inference-Header-Content-Length header`,
      );
    }
    if (this.offset + size > this.binary.byteLength) {
      throw new InvalidRequestError(
        `input "${name}": binary_data_size ${size} runs past the end of the body's binary data`,
      );
    }
    const blob = this.binary.subarray(this.offset, this.offset + size);
    this.offset += size;
    return blob;
  }

  finish(): void {
    if (this.binary !== undefined && this.offset !== this.binary.byteLength) {
      throw new InvalidRequestError(
        `the body has ${this.binary.byteLength} bytes of binary data but the inputs' binary_data_size add up to ${this.offset}`,
      );
    }
  }
}

function decodeInput(
  raw: unknown,
  index: number,
  blobs: BlobReader,
  budget: DecodeBudget,
): NamedTensor {
  if (!isRecord(raw)) throw new InvalidRequestError(`inputs[${index}] must be an object`);
  const name = raw.name;
  if (typeof name !== "string" || name.length === 0) {
    throw new InvalidRequestError(`inputs[${index}] needs a "name"`);
  }
  const datatype = raw.datatype;
  if (!isDatatype(datatype)) throw new InvalidRequestError(`invalid datatype for input "${name}"`);
  if (!isShape(raw.shape)) {
    throw new InvalidRequestError(
      `input "${name}": "shape" must be a list of non-negative integers`,
    );
  }
  const size = optionalParameters(raw.parameters, `input "${name}"`).binary_data_size;
  const hasData = raw.data !== undefined;
  if (hasData === (size !== undefined)) {
    throw new InvalidRequestError(
      `input "${name}" must set exactly one of "data" and "parameters.binary_data_size"`,
    );
  }
  try {
    const tensor =
      size !== undefined
        ? tensorFromRaw(datatype, raw.shape, blobs.take(name, size), budget)
        : fromJson(name, datatype, raw.shape, raw.data, budget);
    return { name, datatype: tensor.datatype, shape: tensor.shape, data: tensor.data };
  } catch (err) {
    if (err instanceof InvalidRequestError && !err.message.startsWith(`input "${name}"`)) {
      throw new InvalidRequestError(`input "${name}": ${err.message}`, { cause: err });
    }
    throw err;
  }
}

function fromJson(
  name: string,
  datatype: Datatype,
  shape: number[],
  data: unknown,
  budget: DecodeBudget,
): Tensor {
  // Like Triton: half floats have no JSON form on this protocol, only the binary extension.
  if (datatype === "FP16" || datatype === "BF16") {
    throw new InvalidRequestError(
      `input "${name}": receiving ${datatype} data via JSON is not supported; use the binary data format`,
    );
  }
  return tensorFromJsonData(datatype, shape, data, budget);
}

function decodeOutputs(value: unknown): {
  names: string[] | undefined;
  binary: Map<string, boolean>;
} {
  const binary = new Map<string, boolean>();
  if (value === undefined || value === null) return { names: undefined, binary };
  if (!Array.isArray(value)) throw new InvalidRequestError(`"outputs" must be a list`);
  const names: string[] = [];
  value.forEach((raw: unknown, index) => {
    if (!isRecord(raw) || typeof raw.name !== "string" || raw.name.length === 0) {
      throw new InvalidRequestError(`outputs[${index}] needs a "name"`);
    }
    names.push(raw.name);
    const flag = optionalBool(
      optionalParameters(raw.parameters, `output "${raw.name}"`).binary_data,
      "binary_data",
    );
    if (flag !== undefined) binary.set(raw.name, flag);
  });
  return { names: names.length > 0 ? names : undefined, binary };
}

/**
 * Decodes a v2 infer request body (JSON part plus optional binary part); every input's declared
 * shape is charged to `budget` before its data is built.
 */
export function decodeV2Request(
  json: unknown,
  binary: Uint8Array | undefined,
  budget: DecodeBudget = new DecodeBudget(),
): DecodedV2Request {
  if (!isRecord(json)) throw new InvalidRequestError("request body must be a JSON object");
  if (!Array.isArray(json.inputs) || json.inputs.length === 0) {
    throw new InvalidRequestError(`"inputs" must be a non-empty list`);
  }
  const blobs = new BlobReader(binary);
  const inputs = json.inputs.map((raw: unknown, index) => decodeInput(raw, index, blobs, budget));
  blobs.finish();
  const seen = new Set<string>();
  for (const input of inputs) {
    if (seen.has(input.name)) throw new InvalidRequestError(`input "${input.name}" appears twice`);
    seen.add(input.name);
  }
  if (json.id !== undefined && typeof json.id !== "string") {
    throw new InvalidRequestError(`"id" must be a string`);
  }
  const { binary_data_output: allBinary, ...parameters } = optionalParameters(
    json.parameters,
    "request",
  );
  const binaryDefault = optionalBool(allBinary, "binary_data_output") ?? false;
  const outputs = decodeOutputs(json.outputs);
  const request: InferRequest = { inputs };
  if (typeof json.id === "string") request.id = json.id;
  if (outputs.names !== undefined) request.outputs = outputs.names;
  if (Object.keys(parameters).length > 0) request.parameters = parameters;
  return {
    request,
    binaryOutput: (name) => outputs.binary.get(name) ?? binaryDefault,
  };
}

/** An encoded v2 infer response. */
export interface EncodedV2Response {
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
  /** Length of the JSON part when binary blobs follow it. */
  jsonLength: number | undefined;
}

/**
 * Encodes a v2 infer response; outputs marked binary travel as blobs after the JSON. The outputs
 * are checked against `maxOutputBytes` first; JSON `data` writes INT64/UINT64 beyond 2^53 as their
 * digits and non-finite floats as `NaN` / `Infinity` / `-Infinity`, as Triton does. Large outputs
 * are written in slices that let other requests run in between.
 */
export async function encodeV2Response(
  response: InferResponse,
  id: string | undefined,
  binaryOutput: (name: string) => boolean,
  limits: DecodeLimits = DEFAULT_LIMITS,
): Promise<EncodedV2Response> {
  checkOutputBytes(response.outputs, limits);
  const blobs: Uint8Array[] = [];
  const outputs: string[] = [];
  for (const output of response.outputs) {
    // The head's JSON without its closing brace, so `data` or `parameters` can follow it.
    const head = JSON.stringify({
      name: output.name,
      datatype: output.datatype,
      shape: output.shape,
    }).slice(0, -1);
    const own = response.outputParameters?.[output.name];
    if (binaryOutput(output.name)) {
      const raw = tensorToRaw(output);
      blobs.push(raw);
      const parameters = JSON.stringify({ ...own, binary_data_size: raw.byteLength });
      outputs.push(`${head},"parameters":${parameters}}`);
      continue;
    }
    if (output.datatype === "FP16" || output.datatype === "BF16") {
      throw new InvalidRequestError(
        `output "${output.name}": sending ${output.datatype} data via JSON is not supported; request it with "binary_data": true`,
      );
    }
    const parameters = own === undefined ? "" : `,"parameters":${JSON.stringify(own)}`;
    outputs.push(`${head}${parameters},"data":${await tensorJsonText(output, false)}}`);
  }
  const idText = id === undefined ? "" : `"id":${JSON.stringify(id)},`;
  const parametersText =
    response.parameters === undefined ? "" : `"parameters":${JSON.stringify(response.parameters)},`;
  const json = encoder.encode(
    `{"model_name":${JSON.stringify(response.model)},"model_version":${JSON.stringify(response.version)},${idText}${parametersText}"outputs":[${outputs.join(",")}]}`,
  );
  if (blobs.length === 0)
    return { body: json, contentType: "application/json", jsonLength: undefined };
  return {
    body: binaryBody(json, blobs),
    contentType: "application/octet-stream",
    jsonLength: json.byteLength,
  };
}
