/**
 * Sorts onnxruntime failures into the client's fault (INVALID_REQUEST) and the backend's
 * (BACKEND_ERROR). onnxruntime-node throws plain Errors without status codes, so the message is
 * all there is to go on; the patterns are onnxruntime's own wording for bad feeds.
 */
import { BackendError, GatewayError, InvalidRequestError } from "../../errors.js";

/** onnxruntime messages that blame the request's tensors. */
const INPUT_FAULTS: readonly RegExp[] = [
  /invalid dimensions for input/i, // a fixed dimension differs
  /invalid rank for input/i,
  /unexpected input data type/i,
  /is missing in 'feeds'/i,
  /missing input/i,
  /invalid feed input name/i,
  /invalid output name/i,
  /attempting to broadcast/i, // inputs whose shapes do not fit together at run time
  /can broadcast/i, // "Can broadcast 0 by 0 or 1. 2 is invalid."
  /cannot be reshaped/i,
  /does not match data length/i, // the ort.Tensor constructor
];

/** True when onnxruntime's message says the request's tensors caused the failure. */
export function isInputFault(message: string): boolean {
  return INPUT_FAULTS.some((pattern) => pattern.test(message));
}

/** A failure of session.run as the GatewayError the client should see. */
export function runError(err: unknown, where: string): GatewayError {
  if (err instanceof GatewayError) return err;
  const message = err instanceof Error ? err.message : String(err);
  // onnxruntime ends some messages with a newline and prefixes others with its source location
  // ("/onnxruntime_src/...h:583 ..."); clients see a tidy single message without build paths.
  const clean = message.replace(/\/onnxruntime_src\/\S+:\d+\s*/g, "").trim();
  return isInputFault(clean)
    ? new InvalidRequestError(`${where}: ${clean}`, { cause: err })
    : new BackendError(`${where}: ${clean}`, { cause: err });
}
