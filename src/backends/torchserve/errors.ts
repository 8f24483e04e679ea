/**
 * TorchServe's error answers as typed errors. REST errors carry `{"code","type","message"}`
 * (TorchServe's inference API); gRPC details end with a line naming the Java exception class, which is noise
 * for a client. TorchServe answers a failed token check with 400 (`InvalidKeyException`), which
 * is the gateway's misconfiguration, not the client's bad input: it becomes BACKEND_ERROR.
 */
import {
  BackendError,
  BackendUnavailableError,
  type GatewayError,
  InvalidRequestError,
} from "../../errors.js";
import { type AnswerBody, errorFromHttpStatus, quotable } from "../remote/errors.js";

/** The exception type TorchServe's TokenAuthorizationHandler throws for a bad or missing token. */
export const TOKEN_FAILURE_TYPE = "InvalidKeyException";

/** Longest backend message quoted in an error. */
const MAX_MESSAGE = 1000;

/** The parts of TorchServe's error body, when the body is one. */
export interface TorchServeErrorBody {
  type: string | undefined;
  message: string;
}

/** Reads `{"code","type","message"}`; any other body becomes its (truncated) text. */
export function readErrorBody(body: Uint8Array): TorchServeErrorBody {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8");
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && "message" in parsed) {
      const type = "type" in parsed && typeof parsed.type === "string" ? parsed.type : undefined;
      return { type, message: truncate(String(parsed.message)) };
    }
  } catch {
    // Not JSON: quote the text.
  }
  return { type: undefined, message: truncate(text.trim()) };
}

/** A TorchServe REST error answer as a GatewayError. */
export function errorFromHttpAnswer(
  backend: string,
  status: number,
  body: Uint8Array,
  described?: AnswerBody,
): GatewayError {
  const { type, message } = readErrorBody(body);
  if (type === TOKEN_FAILURE_TYPE) {
    return new BackendError(
      `backend "${backend}" rejected the gateway's token: ${quotable(message) ?? "(unquotable text)"}`,
    );
  }
  return errorFromHttpStatus(backend, status, message, described);
}

/**
 * What TorchServe says when it cannot queue a job (no free worker, or the job queue is full): over
 * REST a 503, over gRPC an INTERNAL (InferenceImpl wraps it in InternalServerException).
 */
const NO_WORKER = /has no worker to serve inference request/;

/**
 * A gRPC-mapped error made to mean what TorchServe meant: a job it could not queue is
 * BACKEND_UNAVAILABLE (retryable, as the REST 503 is), not BACKEND_ERROR; the trailing exception
 * class line is removed from INVALID_REQUEST messages, which reach the client verbatim.
 */
export function fromTorchServeGrpc(err: GatewayError): GatewayError {
  if (err instanceof BackendError && NO_WORKER.test(err.message)) {
    return new BackendUnavailableError(err.message.replace(/\n[\w.]+\(\)\s*$/, ""), { cause: err });
  }
  if (!(err instanceof InvalidRequestError)) return err;
  const cleaned = err.message.replace(/\n(?:[a-z]\w*\.)+\w+(?:\.\(\))?\s*$/, "");
  return cleaned === err.message ? err : new InvalidRequestError(cleaned);
}

function truncate(text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}...` : text;
}
