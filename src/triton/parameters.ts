/**
 * Request `parameters` on their way to a Triton backend (docs/triton.md "Parameters and
 * sequences"): plain values (as the v2 fronts decode them) back into KServe `InferParameter`s,
 * and the sequence parameters that make a request stateful.
 */
import type { WireInferParameter } from "../grpc/proto.js";

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
