/**
 * Pieces both Triton protocols share: reading the backend's tensor descriptions (metadata and
 * answers) into canonical specs and shapes. A malformed answer is the backend's fault, so every
 * check here throws BackendError, never InvalidRequestError.
 */
import { BackendError, InvalidRequestError } from "../../errors.js";
import { type Datatype, isDatatype, type Tensor, type TensorSpec } from "../../tensor/index.js";
import type { ModelMetadata } from "../types.js";

/** How long metadata, readiness and health calls may take; they carry no caller deadline. */
export const CONTROL_TIMEOUT_MS = 5_000;

/** A shape dimension as the backend sent it: a JSON number or an int64 decimal string (gRPC). */
type WireDim = number | string;

/** The backend's datatype name, checked. */
export function datatypeFrom(backend: string, value: unknown, what: string): Datatype {
  if (!isDatatype(value)) {
    throw new BackendError(
      `backend "${backend}" reported datatype ${JSON.stringify(value) ?? String(value)} for ${what}`,
    );
  }
  return value;
}

/**
 * A shape from the backend. `variable` allows -1 (metadata); a tensor's real shape must be all
 * non-negative safe integers.
 */
export function shapeFrom(
  backend: string,
  value: unknown,
  what: string,
  variable: boolean,
): number[] {
  if (!Array.isArray(value)) {
    throw new BackendError(`backend "${backend}" sent no shape for ${what}`);
  }
  return value.map((dim: unknown) => {
    // Number("") is 0, so strings must look like integers before they are converted.
    const n =
      typeof dim === "number" || (typeof dim === "string" && /^-?\d+$/.test(dim))
        ? Number(dim as WireDim)
        : Number.NaN;
    if (!Number.isSafeInteger(n) || n < (variable ? -1 : 0)) {
      throw new BackendError(
        `backend "${backend}" sent an invalid dimension ${String(dim)} in the shape of ${what}`,
      );
    }
    return n;
  });
}

/** One `{name, datatype, shape}` of a model's metadata. */
export function specFrom(backend: string, value: unknown, what: string): TensorSpec {
  if (typeof value !== "object" || value === null) {
    throw new BackendError(`backend "${backend}" sent a malformed ${what}`);
  }
  const record = value as Record<string, unknown>;
  const name = record.name;
  if (typeof name !== "string" || name === "") {
    throw new BackendError(`backend "${backend}" sent a ${what} without a name`);
  }
  const label = `${what} "${name}"`;
  return {
    name,
    datatype: datatypeFrom(backend, record.datatype, label),
    shape: shapeFrom(backend, record.shape, label, true),
  };
}

/** KServe v2 model metadata (REST JSON or decoded gRPC message) as ModelMetadata. */
export function metadataFrom(backend: string, model: string, value: unknown): ModelMetadata {
  if (typeof value !== "object" || value === null) {
    throw new BackendError(`backend "${backend}" sent malformed metadata for model "${model}"`);
  }
  const record = value as Record<string, unknown>;
  const list = (key: string): unknown[] => {
    const v = record[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      throw new BackendError(`backend "${backend}" sent metadata whose "${key}" is not a list`);
    }
    return v;
  };
  return {
    name: typeof record.name === "string" && record.name !== "" ? record.name : model,
    versions: list("versions").map(String),
    platform: typeof record.platform === "string" ? record.platform : "",
    inputs: list("inputs").map((v) => specFrom(backend, v, "input")),
    outputs: list("outputs").map((v) => specFrom(backend, v, "output")),
  };
}

/**
 * Runs a conversion of the backend's answer with the tensor module; its client-input errors mean
 * here that the backend sent bad data.
 */
export function fromBackend(backend: string, what: string, convert: () => Tensor): Tensor {
  try {
    return convert();
  } catch (err) {
    if (err instanceof InvalidRequestError) {
      throw new BackendError(`backend "${backend}" sent a malformed ${what}: ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  }
}
