/**
 * The messages between a WorkerPool (main thread) and its worker threads, and the ONNX payloads
 * they carry. Everything arriving from the other thread is `unknown` and narrowed here.
 *
 * A worker starts, then posts `ready` (with what it loaded) or `failed`; the pool posts one `run`
 * at a time and the worker answers it with `done` or `fail` carrying the same id.
 */
import {
  BackendError,
  BackendTimeoutError,
  BackendUnavailableError,
  type ErrorCode,
  type GatewayError,
  InvalidRequestError,
  toGatewayError,
} from "../../errors.js";
import { isRecord } from "../../is-record.js";
import { isDatatype } from "../../tensor/datatype.js";
import type { NamedTensor, TensorSpec } from "../../tensor/types.js";
import type { ModelFile } from "./repository.js";
import type { VersionSpecs } from "./sessions.js";
import { asNamedTensors } from "./tensor-transfer.js";

/**
 * Bumped on any change to these messages. A worker script built from older sources answers with
 * its own number, and the pool refuses it with a clear error instead of mis-parsing its messages.
 */
export const PROTOCOL_VERSION = 1;

/** A GatewayError as it crosses threads (class and cause do not survive a structured clone). */
export interface WireError {
  code: ErrorCode;
  message: string;
}

/** Main thread -> worker. */
export interface RunMessage {
  type: "run";
  id: number;
  job: unknown;
}

/** Worker -> main thread. */
export type FromWorker =
  | { type: "ready"; protocol: number; init: unknown }
  | { type: "failed"; error: WireError }
  | { type: "done"; id: number; result: unknown }
  | { type: "fail"; id: number; error: WireError };

/** Any thrown value as a WireError (unknown throwables as the backend's fault). */
export function toWireError(err: unknown): WireError {
  const gateway = toGatewayError(err);
  // INTERNAL's message is generic by design; across threads the real message is more useful, and
  // a failure inside the worker is the backend's, not a gateway bug.
  if (gateway.code === "INTERNAL") {
    return { code: "BACKEND_ERROR", message: err instanceof Error ? err.message : String(err) };
  }
  return { code: gateway.code, message: gateway.message };
}

/** A WireError back as the GatewayError class of its code. */
export function fromWireError(wire: WireError): GatewayError {
  switch (wire.code) {
    case "INVALID_REQUEST":
      return new InvalidRequestError(wire.message);
    case "BACKEND_UNAVAILABLE":
      return new BackendUnavailableError(wire.message);
    case "BACKEND_TIMEOUT":
      return new BackendTimeoutError(wire.message);
    default:
      return new BackendError(wire.message);
  }
}

function asWireError(value: unknown): WireError | undefined {
  if (!isRecord(value) || typeof value.message !== "string" || typeof value.code !== "string") {
    return undefined;
  }
  // fromWireError maps any code it does not know to BACKEND_ERROR.
  return { code: value.code as ErrorCode, message: value.message };
}

/** A worker's message, or undefined when it is not one of the protocol's. */
export function parseFromWorker(value: unknown): FromWorker | undefined {
  if (!isRecord(value)) return undefined;
  const error = asWireError(value.error);
  switch (value.type) {
    case "ready":
      return typeof value.protocol === "number"
        ? { type: "ready", protocol: value.protocol, init: value.init }
        : undefined;
    case "failed":
      return error === undefined ? undefined : { type: "failed", error };
    case "done":
      return typeof value.id === "number"
        ? { type: "done", id: value.id, result: value.result }
        : undefined;
    case "fail":
      return typeof value.id === "number" && error !== undefined
        ? { type: "fail", id: value.id, error }
        : undefined;
    default:
      return undefined;
  }
}

/** The main thread's message to a worker, or undefined when it is not a `run`. */
export function parseRunMessage(value: unknown): RunMessage | undefined {
  if (!isRecord(value) || value.type !== "run" || typeof value.id !== "number") return undefined;
  return { type: "run", id: value.id, job: value.job };
}

// ---------------------------------------------------------------------------------------------
// The ONNX payloads
// ---------------------------------------------------------------------------------------------

/** What an ONNX worker is started with (its workerData). */
export interface OnnxWorkerData {
  /** The backend's name, for error messages. */
  name: string;
  files: ModelFile[];
  intraOpNumThreads?: number;
}

/** One call for an ONNX worker: inputs already checked against the model on the main thread. */
export interface OnnxJob {
  model: string;
  version: string;
  /** How errors name the call, e.g. `model "iris" version "1"`. */
  where: string;
  inputs: NamedTensor[];
  fetches: string[];
}

/** A loaded model version, as an ONNX worker reports it in `ready`. */
export interface LoadedSpec extends VersionSpecs {
  model: string;
}

const isString = (v: unknown): v is string => typeof v === "string";

function asSpecs(value: unknown): TensorSpec[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const ok = value.every(
    (s) =>
      isRecord(s) &&
      isString(s.name) &&
      isDatatype(s.datatype) &&
      Array.isArray(s.shape) &&
      s.shape.every(Number.isSafeInteger),
  );
  return ok ? (value as TensorSpec[]) : undefined;
}

/** The workerData of an ONNX worker, checked. */
export function parseWorkerData(value: unknown): OnnxWorkerData {
  const files = isRecord(value) && Array.isArray(value.files) ? value.files : undefined;
  const ok =
    isRecord(value) &&
    isString(value.name) &&
    files?.every(
      (f) => isRecord(f) && isString(f.model) && isString(f.version) && isString(f.path),
    );
  if (!ok) throw new Error("onnx worker started without valid workerData");
  const threads = value.intraOpNumThreads;
  return {
    name: value.name as string,
    files: files as ModelFile[],
    ...(typeof threads === "number" ? { intraOpNumThreads: threads } : {}),
  };
}

/** An ONNX job, or undefined when the value is not one. */
export function parseOnnxJob(value: unknown): OnnxJob | undefined {
  if (!isRecord(value)) return undefined;
  const { model, version, where, fetches } = value;
  const inputs = asNamedTensors(value.inputs);
  const ok =
    isString(model) &&
    isString(version) &&
    isString(where) &&
    Array.isArray(fetches) &&
    fetches.every(isString);
  return ok && inputs !== undefined ? { model, version, where, inputs, fetches } : undefined;
}

/** The `ready` report of an ONNX worker, checked. */
export function parseLoadedSpecs(value: unknown): LoadedSpec[] {
  const ok =
    Array.isArray(value) &&
    value.every(
      (v) =>
        isRecord(v) &&
        isString(v.model) &&
        isString(v.version) &&
        asSpecs(v.inputs) !== undefined &&
        asSpecs(v.outputs) !== undefined,
    );
  if (!ok) throw new BackendError("an onnx worker reported its models in an unknown form");
  return value as LoadedSpec[];
}
