/**
 * Triton's classification extension for any backend (docs/triton.md "Classification"): an output
 * requested with `classification: K` is answered as BYTES `"value:index[:label]"`, the K largest
 * values first, per row when the output has a batch dimension (rank above 1), as Triton does.
 */
import { readFileSync, statSync } from "node:fs";
import { InvalidRequestError } from "../errors.js";
import type { InferResponse, Route } from "../gateway/types.js";
import type { WireRequestedOutput } from "../protocols/kserve/proto.js";
import { DATATYPES, type Datatype, type NamedTensor } from "../tensor/index.js";
import { modelConfigOf } from "./gateway-view.js";

/** Requested output name -> K. */
export type ClassRequests = ReadonlyMap<string, number>;

/** Largest K taken (Triton's field is a uint32); more classes than an output has are capped. */
const MAX_CLASS_COUNT = 65_536;
/** A label file's largest size read (bytes). */
const MAX_LABEL_FILE_BYTES = 16 * 1024 * 1024;

const encoder = new TextEncoder();

/** K of one output's `classification` value, or an INVALID_REQUEST naming the output. */
export function classCount(output: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const k = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof k !== "number" || !Number.isInteger(k) || k < 0 || k > MAX_CLASS_COUNT) {
    throw new InvalidRequestError(
      `output '${output}': classification must be an integer from 0 to ${MAX_CLASS_COUNT}`,
    );
  }
  return k === 0 ? undefined : k;
}

/** The classification requests of v2 JSON `outputs` (`parameters.classification`). */
export function restClassRequests(json: unknown): ClassRequests {
  const out = new Map<string, number>();
  const outputs = (json as { outputs?: unknown } | null)?.outputs;
  if (!Array.isArray(outputs)) return out;
  for (const o of outputs as { name?: unknown; parameters?: { classification?: unknown } }[]) {
    if (typeof o?.name !== "string") continue;
    const k = classCount(o.name, o.parameters?.classification);
    if (k !== undefined) out.set(o.name, k);
  }
  return out;
}

/** The classification requests of gRPC requested outputs (`parameters["classification"]`). */
export function grpcClassRequests(outputs: readonly WireRequestedOutput[]): ClassRequests {
  const out = new Map<string, number>();
  for (const o of outputs) {
    const p = o.parameters.classification;
    const choice = p?.parameter_choice;
    if (p === undefined || choice === undefined) continue;
    const k = classCount(o.name, p[choice]);
    if (k !== undefined) out.set(o.name, k);
  }
  return out;
}

/** `std::to_string` of one element: six decimals for floats, plain digits for integers. */
function formatValue(tensor: NamedTensor, i: number): string {
  const v = tensor.data[i];
  if (typeof v === "bigint") return v.toString();
  if (typeof v !== "number") return "";
  if (tensor.datatype !== "FP32" && tensor.datatype !== "FP64") return String(v);
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  return v.toFixed(6);
}

/** Triton classifies the numeric datatypes it has a C++ type for: not BOOL, FP16, BF16, BYTES. */
const CLASSIFIABLE: ReadonlySet<Datatype> = new Set(
  DATATYPES.filter((d) => !["BOOL", "FP16", "BF16", "BYTES"].includes(d)),
);

/** One output's top-`k` classes as a BYTES tensor ([rows, k'] or [k']). */
export function classify(tensor: NamedTensor, k: number, labels?: readonly string[]): NamedTensor {
  if (!CLASSIFIABLE.has(tensor.datatype)) {
    throw new InvalidRequestError(
      `class result not available for output '${tensor.name}' due to unsupported type '${tensor.datatype}'`,
    );
  }
  const batched = tensor.shape.length > 1;
  const rows = batched ? (tensor.shape[0] ?? 0) : 1;
  const perRow = rows === 0 ? 0 : tensor.data.length / rows;
  const kept = Math.min(k, perRow);
  const data: Uint8Array[] = [];
  const order = Array.from({ length: perRow }, (_, i) => i);
  for (let r = 0; r < rows; r++) {
    const base = r * perRow;
    const value = (i: number) => tensor.data[base + i] as number | bigint;
    // Largest first; equal values keep index order.
    const sorted = [...order].sort((a, b) => {
      const va = value(a);
      const vb = value(b);
      return va > vb ? -1 : va < vb ? 1 : a - b;
    });
    for (const i of sorted.slice(0, kept)) {
      const label = labels?.[i];
      const text = `${formatValue(tensor, base + i)}:${i}${label === undefined ? "" : `:${label}`}`;
      data.push(encoder.encode(text));
    }
  }
  return { name: tensor.name, datatype: "BYTES", shape: batched ? [rows, kept] : [kept], data };
}

/** Label file contents by path, read once (bounded by the config's targets). */
const labelFiles = new Map<string, readonly string[]>();

function labelFile(path: string): readonly string[] {
  let labels = labelFiles.get(path);
  if (labels === undefined) {
    if (statSync(path).size > MAX_LABEL_FILE_BYTES) {
      throw new InvalidRequestError(
        `label file ${path} is larger than ${MAX_LABEL_FILE_BYTES} bytes`,
      );
    }
    labels = readFileSync(path, "utf8").split(/\r?\n/);
    if (labels.at(-1) === "") labels = labels.slice(0, -1);
    if (labelFiles.size < 1024) labelFiles.set(path, labels);
  }
  return labels;
}

/** The route's target's `labels` (a list, or a file with one label per line), if any. */
export function labelsOf(route: Route): readonly string[] | undefined {
  const labels = modelConfigOf(route)?.versions[route.version]?.labels;
  if (labels === undefined) return undefined;
  return typeof labels === "string" ? labelFile(labels) : labels;
}

/** The response with every classification-requested output replaced by its classes. */
export function classifyResponse(
  route: Route,
  response: InferResponse,
  requests: ClassRequests,
): InferResponse {
  if (requests.size === 0) return response;
  const labels = labelsOf(route);
  return {
    ...response,
    outputs: response.outputs.map((o) => {
      const k = requests.get(o.name);
      return k === undefined ? o : classify(o, k, labels);
    }),
  };
}

/**
 * `/v1` requested outputs: names, or `{"name", "classification": K}` objects. Returns the names
 * and the classification requests; anything else is an INVALID_REQUEST.
 */
export function unifiedOutputRequests(list: readonly unknown[]): {
  names: string[];
  classes: ClassRequests;
} {
  const classes = new Map<string, number>();
  const names = list.map((v) => {
    if (typeof v === "string") return v;
    const o = v as { name?: unknown; classification?: unknown } | null;
    const extra =
      o !== null && typeof o === "object"
        ? Object.keys(o).filter((key) => key !== "name" && key !== "classification")
        : [];
    if (o === null || typeof o !== "object" || typeof o.name !== "string" || extra.length > 0) {
      throw new InvalidRequestError(
        `"outputs" must list output names or {"name", "classification"} objects`,
      );
    }
    const k = classCount(o.name, o.classification);
    if (k !== undefined) classes.set(o.name, k);
    return o.name;
  });
  return { names, classes };
}
