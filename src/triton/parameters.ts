/**
 * Request `parameters` on their way to a Triton backend and answer parameters on their way back
 * (docs/triton.md "Parameters and sequences"): plain values (as the v2 fronts decode them) to and
 * from KServe `InferParameter`s, and the sequence parameters that make a request stateful.
 */
import type { WireInferParameter } from "../protocols/kserve/proto.js";

/** Parameters the gateway itself sets on calls to Triton; a client's never replace them. */
const OWN_REST_PARAMETERS = new Set(["binary_data_output"]);

/**
 * Plain parameter values as gRPC `InferParameter`s: booleans, integers (int64), other numbers
 * (double), strings. An int64 beyond 2^53 arrives from the fronts as its decimal string and
 * travels on as a string parameter.
 */
export function toWireParameters(
  parameters: Readonly<Record<string, unknown>> | undefined,
): Record<string, WireInferParameter> {
  const out: Record<string, WireInferParameter> = {};
  if (parameters === undefined) return out;
  for (const [key, value] of Object.entries(parameters)) {
    if (typeof value === "boolean") out[key] = { bool_param: value };
    else if (typeof value === "number" && Number.isInteger(value))
      out[key] = { int64_param: String(value) };
    else if (typeof value === "number") out[key] = { double_param: value };
    else if (typeof value === "string") out[key] = { string_param: value };
  }
  return out;
}

/** A client's parameters for Triton's REST JSON, without those the gateway sets itself. */
export function restParameters(
  parameters: Readonly<Record<string, unknown>> | undefined,
): Record<string, unknown> {
  if (parameters === undefined) return {};
  return Object.fromEntries(
    Object.entries(parameters).filter(([key]) => !OWN_REST_PARAMETERS.has(key)),
  );
}

/** True when the parameters make a request part of a sequence (a non-zero, non-empty sequence_id). */
export function isSequenceRequest(
  parameters: Readonly<Record<string, unknown>> | undefined,
): boolean {
  const id = parameters?.sequence_id;
  return id !== undefined && id !== 0 && id !== "" && id !== "0" && id !== false;
}

/** The sequence id of plain parameters as an affinity key, or undefined outside a sequence. */
export function sequenceKey(
  parameters: Readonly<Record<string, unknown>> | undefined,
): string | undefined {
  return isSequenceRequest(parameters) ? String(parameters?.sequence_id) : undefined;
}

/** The sequence id of gRPC `InferParameter`s as an affinity key, or undefined. */
export function wireSequenceKey(
  parameters: Readonly<Record<string, WireInferParameter>>,
): string | undefined {
  const p = parameters.sequence_id;
  const choice = p?.parameter_choice;
  return choice === undefined ? undefined : sequenceKey({ sequence_id: p?.[choice] });
}

/**
 * Which of `n` replicas serves a sequence: always the same one for the same id (FNV-1a of the
 * id), so its state stays on one server; undefined outside a sequence.
 */
export function sequenceReplica(
  parameters: Readonly<Record<string, unknown>> | undefined,
  n: number,
): number | undefined {
  const key = sequenceKey(parameters);
  if (key === undefined || n < 1) return undefined;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % n;
}

/** Per-tensor parameters of a request: input name / requested output name -> plain values. */
export interface TensorParameters {
  inputs?: Record<string, Record<string, unknown>>;
  outputs?: Record<string, Record<string, unknown>>;
}

/** Keys the gateway itself reads on tensors (binary data, classification); never passed on. */
const GATEWAY_TENSOR_KEYS = new Set([
  "binary_data",
  "binary_data_size",
  "binary_data_output",
  "classification",
]);

/** Plain values of one parameters object without the gateway's keys; undefined when empty. */
function clientParameters(raw: unknown): Record<string, unknown> | undefined {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return undefined;
  const entries = Object.entries(raw)
    .filter(([key]) => !GATEWAY_TENSOR_KEYS.has(key))
    .map(([key, v]) => [key, typeof v === "bigint" ? v.toString() : v] as const)
    .filter(([, v]) => ["boolean", "number", "string"].includes(typeof v));
  return entries.length === 0 ? undefined : Object.fromEntries(entries);
}

function collect(
  tensors: readonly { name?: unknown; parameters?: unknown }[] | undefined,
  plain: (raw: unknown) => Record<string, unknown> | undefined,
): Record<string, Record<string, unknown>> | undefined {
  const out: Record<string, Record<string, unknown>> = {};
  for (const t of tensors ?? []) {
    const p = typeof t?.name === "string" ? plain(t.parameters) : undefined;
    if (p !== undefined && typeof t.name === "string") out[t.name] = p;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

function tensorParameters(
  inputs: Record<string, Record<string, unknown>> | undefined,
  outputs: Record<string, Record<string, unknown>> | undefined,
): TensorParameters | undefined {
  if (inputs === undefined && outputs === undefined) return undefined;
  return {
    ...(inputs === undefined ? {} : { inputs }),
    ...(outputs === undefined ? {} : { outputs }),
  };
}

/** The client's per-tensor parameters of a v2 JSON request body, or undefined. */
export function restTensorParameters(json: unknown): TensorParameters | undefined {
  const body = (json ?? {}) as { inputs?: unknown; outputs?: unknown };
  const list = (v: unknown) =>
    Array.isArray(v) ? (v as { name?: unknown; parameters?: unknown }[]) : undefined;
  return tensorParameters(
    collect(list(body.inputs), clientParameters),
    collect(list(body.outputs), clientParameters),
  );
}

/**
 * gRPC `InferParameter`s as plain values (those without a value are left out). A 64-bit integer
 * becomes a number when exactly representable, else stays its decimal string.
 */
export function fromWireParameters(
  wire: Readonly<Record<string, WireInferParameter>> | undefined,
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(wire ?? {}).flatMap(([key, p]) => {
      const choice = p.parameter_choice;
      if (choice === undefined) return [];
      const v = p[choice];
      const n = choice.endsWith("64_param") ? Number(String(v)) : undefined;
      return [[key, n !== undefined && Number.isSafeInteger(n) ? n : v]];
    }),
  );
}

/** The client's per-tensor parameters of a gRPC request, as plain values, or undefined. */
export function grpcTensorParameters(wire: {
  inputs: readonly { name: string; parameters: Record<string, WireInferParameter> }[];
  outputs: readonly { name: string; parameters: Record<string, WireInferParameter> }[];
}): TensorParameters | undefined {
  const plain = (raw: unknown) =>
    clientParameters(fromWireParameters(raw as Record<string, WireInferParameter>));
  return tensorParameters(collect(wire.inputs, plain), collect(wire.outputs, plain));
}

/** What a backend's answer carries back to the client: its parameters, those of its outputs. */
export interface AnswerParameters {
  parameters?: Record<string, unknown>;
  outputParameters?: Record<string, Record<string, unknown>>;
}

/**
 * The parameters of a Triton backend's answer (plain values, REST JSON or decoded gRPC), without
 * the binary-data keys that describe the backend's own encoding; only the keys that have some.
 */
export function readAnswerParameters(
  parameters: unknown,
  outputs: readonly { name?: unknown; parameters?: unknown }[],
): AnswerParameters {
  const top = clientParameters(parameters);
  const perOutput = collect(outputs, clientParameters);
  return {
    ...(top === undefined ? {} : { parameters: top }),
    ...(perOutput === undefined ? {} : { outputParameters: perOutput }),
  };
}

/** The answer parameters of a backend result, for the gateway's answer (none when empty). */
export function answerParameters(result: AnswerParameters): AnswerParameters {
  return {
    ...(result.parameters === undefined ? {} : { parameters: result.parameters }),
    ...(result.outputParameters === undefined ? {} : { outputParameters: result.outputParameters }),
  };
}
