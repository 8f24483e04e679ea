/**
 * The emulated TorchServe handler: the gateway's JSON convention (docs/backends.md
 * "TorchServe's handler convention") over a real onnxruntime session. The
 * body is the input as a nested array (one-input models) or an object of input name -> nested
 * array; the answer is a nested array (one-output models) or an object of output name -> nested
 * array. Input element types come from the ONNX model, checked as strictly as a handler that
 * builds a typed torch tensor: wrong kinds, out-of-range integers and wrong shapes are 400s.
 */
import * as ort from "onnxruntime-node";
import type { LoadedModel, ModelRunner, OrtValueInfo } from "../runner.js";
import { bigLiteral, halfToNumber, nestText, numberToHalf, parseRequestJson } from "./json.js";

/** A failure of the handler, answered with TorchServe's error body. */
export class HandlerError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const MAX_RANK = 16;
const INT_RANGES: Record<string, readonly [number, number]> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};
const BIG_RANGES: Record<string, readonly [bigint, bigint]> = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

/** The request body parsed and split into per-input JSON values. */
export interface ParsedRequest {
  values: Map<string, unknown>;
  /** Dimension 0 of the first input, when it is an array. */
  batchSize: number | undefined;
}

/** Parses a body for `model`; throws HandlerError(400) for anything but the convention. */
export function parseRequest(model: LoadedModel, body: Buffer): ParsedRequest {
  let doc: unknown;
  try {
    doc = parseRequestJson(body.toString("utf8"));
  } catch (err) {
    throw new HandlerError(400, `request body is not valid JSON: ${(err as Error).message}`);
  }
  const values = new Map<string, unknown>();
  const [only] = model.inputs;
  if (model.inputs.length === 1 && only !== undefined) {
    if (!Array.isArray(doc))
      throw new HandlerError(400, `expected a nested array for "${only.name}"`);
    values.set(only.name, doc);
  } else {
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
      throw new HandlerError(400, "expected an object of input name -> nested array");
    }
    for (const key of Object.keys(doc)) {
      if (!model.inputs.some((i) => i.name === key))
        throw new HandlerError(400, `unknown input "${key}"`);
    }
    for (const input of model.inputs) {
      const v = (doc as Record<string, unknown>)[input.name];
      if (v === undefined) throw new HandlerError(400, `missing input "${input.name}"`);
      values.set(input.name, v);
    }
  }
  const first = values.values().next().value;
  return { values, batchSize: Array.isArray(first) ? first.length : undefined };
}

/** Runs the model on a parsed request and returns the answer text. */
export async function handle(
  runner: ModelRunner,
  model: LoadedModel,
  req: ParsedRequest,
): Promise<string> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of model.inputs) feeds[input.name] = toOrt(input, req.values.get(input.name));
  let results: Record<string, ort.Tensor>;
  try {
    results = await runner.run(model, feeds);
  } catch (err) {
    throw new HandlerError(400, `inference failed: ${(err as Error).message}`);
  }
  const parts = model.outputs.map((o) => {
    const t = results[o.name];
    if (t === undefined) throw new HandlerError(500, `model gave no output "${o.name}"`);
    return [o.name, nestText(elementTexts(t), t.dims)] as const;
  });
  const [single] = parts;
  if (parts.length === 1 && single !== undefined) return single[1];
  return `{${parts.map(([name, text]) => `${JSON.stringify(name)}:${text}`).join(",")}}`;
}

function toOrt(info: OrtValueInfo, value: unknown): ort.Tensor {
  const { dims, flat } = flatten(info.name, value);
  if (dims.length !== info.dims.length || info.dims.some((d, i) => d !== -1 && d !== dims[i])) {
    throw new HandlerError(
      400,
      `input "${info.name}" has shape [${dims.join(",")}], the model expects [${info.dims.join(",")}]`,
    );
  }
  const bad = (i: number, what: string) =>
    new HandlerError(
      400,
      `input "${info.name}" element ${i}: expected ${what}, got ${String(flat[i])}`,
    );
  const type = info.type;
  if (type === "float32" || type === "float64" || type === "float16") {
    const nums = flat.map((v, i) => {
      const big = bigLiteral(v);
      if (big !== undefined) return Number(big);
      if (typeof v !== "number") throw bad(i, "a number");
      return v;
    });
    if (type === "float16")
      return new ort.Tensor("float16", Uint16Array.from(nums, numberToHalf), dims);
    return new ort.Tensor(
      type,
      type === "float32" ? Float32Array.from(nums) : Float64Array.from(nums),
      dims,
    );
  }
  const range = INT_RANGES[type];
  if (range !== undefined) {
    const nums = flat.map((v, i) => {
      if (typeof v !== "number" || !Number.isInteger(v) || v < range[0] || v > range[1]) {
        throw bad(i, `an integer in [${range[0]}, ${range[1]}]`);
      }
      return v;
    });
    return intTensor(type, nums, dims);
  }
  const bigRange = BIG_RANGES[type];
  if (bigRange !== undefined) {
    const nums = flat.map((v, i) => {
      const b = typeof v === "number" && Number.isInteger(v) ? BigInt(v) : bigLiteral(v);
      if (b === undefined || b < bigRange[0] || b > bigRange[1])
        throw bad(i, `an integer in [${bigRange[0]}, ${bigRange[1]}]`);
      return b;
    });
    return type === "int64"
      ? new ort.Tensor("int64", BigInt64Array.from(nums), dims)
      : new ort.Tensor("uint64", BigUint64Array.from(nums), dims);
  }
  if (type === "bool") {
    const bits = flat.map((v, i) => {
      if (typeof v !== "boolean") throw bad(i, "true or false");
      return v ? 1 : 0;
    });
    return new ort.Tensor("bool", Uint8Array.from(bits), dims);
  }
  if (type === "string") {
    const strings = flat.map((v, i) => {
      if (typeof v !== "string" || bigLiteral(v) !== undefined) throw bad(i, "a string");
      return v;
    });
    return new ort.Tensor("string", strings, dims);
  }
  throw new HandlerError(500, `input "${info.name}" has an unsupported type ${type}`);
}

/** Integers as an onnxruntime tensor of the (narrower than 64-bit) integer `type`. */
function intTensor(type: string, nums: number[], dims: number[]): ort.Tensor {
  switch (type) {
    case "int8":
      return new ort.Tensor("int8", Int8Array.from(nums), dims);
    case "uint8":
      return new ort.Tensor("uint8", Uint8Array.from(nums), dims);
    case "int16":
      return new ort.Tensor("int16", Int16Array.from(nums), dims);
    case "uint16":
      return new ort.Tensor("uint16", Uint16Array.from(nums), dims);
    case "int32":
      return new ort.Tensor("int32", Int32Array.from(nums), dims);
    default:
      return new ort.Tensor("uint32", Uint32Array.from(nums), dims);
  }
}

/** A nested array's shape and row-major leaves; ragged arrays are 400s. Iterative, rank-bounded. */
function flatten(name: string, value: unknown): { dims: number[]; flat: unknown[] } {
  const dims: number[] = [];
  let v = value;
  while (Array.isArray(v)) {
    if (dims.length === MAX_RANK)
      throw new HandlerError(400, `input "${name}" is nested too deeply`);
    dims.push(v.length);
    v = v[0];
  }
  let level: unknown[] = [value];
  for (let d = 0; d < dims.length; d++) {
    const next: unknown[] = [];
    for (const row of level) {
      if (!Array.isArray(row) || row.length !== dims[d]) {
        throw new HandlerError(400, `input "${name}" is a ragged array at depth ${d}`);
      }
      for (const x of row) next.push(x);
    }
    level = next;
  }
  for (const x of level) {
    if (Array.isArray(x)) throw new HandlerError(400, `input "${name}" is a ragged array`);
  }
  return { dims, flat: level };
}

/** Each element of an output as JSON text; int64 digits exact. */
function elementTexts(t: ort.Tensor): string[] {
  const data = t.data;
  switch (t.type) {
    case "bool":
      return Array.from(data as Uint8Array, (b) => (b ? "true" : "false"));
    case "string":
      return (data as string[]).map((s) => JSON.stringify(s));
    case "int64":
    case "uint64":
      return Array.from(data as BigInt64Array, (b) => b.toString());
    case "float16":
      return Array.from(data as Uint16Array, (h) => JSON.stringify(halfToNumber(h)));
    default:
      return Array.from(data as ArrayLike<number>, (x) => JSON.stringify(x));
  }
}
