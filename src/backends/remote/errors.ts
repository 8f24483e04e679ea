/**
 * Backend statuses (HTTP and gRPC) to the gateway's typed errors (docs/backends.md "Errors"): the
 * backend's bad-input answers become INVALID_REQUEST with its message; unavailability (503,
 * UNAVAILABLE, 429, connection refused) BACKEND_UNAVAILABLE; deadlines BACKEND_TIMEOUT; the rest
 * BACKEND_ERROR. Every adapter maps through here, so the same failure reads the same everywhere.
 */
import {
  BackendError,
  BackendTimeoutError,
  BackendUnavailableError,
  type GatewayError,
  InvalidRequestError,
} from "../../errors.js";
import { GrpcCode } from "../../grpc-status.js";

/** What is known of an error answer's body, for its summary when its text is not passed on. */
export interface AnswerBody {
  contentType?: string | undefined;
  /** The body's size in bytes. */
  bytes: number;
}

/**
 * An HTTP error answer of backend `backend` as a GatewayError. `message` is the backend's
 * explanation (its JSON error field, or its text); it reaches the client only when it is short
 * plain text, else a summary built from `body` replaces it (see quotable).
 */
export function errorFromHttpStatus(
  backend: string,
  status: number,
  message: string,
  body?: AnswerBody,
): GatewayError {
  const quoted = message === "" ? `HTTP ${status}` : quotable(message);
  const summarised = `answered ${status} (${summary(message, body)})`;
  const text = quoted ?? `backend ${summarised}`;
  if (status === 400 || status === 422) return new InvalidRequestError(text);
  if (status === 408 || status === 504)
    return new BackendTimeoutError(`backend "${backend}" timed out: ${text}`);
  if (status === 429 || status === 503 || status === 507) {
    return new BackendUnavailableError(`backend "${backend}" unavailable: ${text}`);
  }
  return new BackendError(
    quoted === undefined
      ? `backend "${backend}" ${summarised}`
      : `backend "${backend}" answered ${status}: ${quoted}`,
  );
}

/** A gRPC status from backend `backend` as a GatewayError. */
export function errorFromGrpcStatus(backend: string, code: number, raw: string): GatewayError {
  const details = quotable(raw) ?? `backend answered gRPC status ${code} (${summary(raw)})`;
  switch (code) {
    case GrpcCode.INVALID_ARGUMENT:
    case GrpcCode.FAILED_PRECONDITION:
    case GrpcCode.OUT_OF_RANGE:
      return new InvalidRequestError(details);
    case GrpcCode.DEADLINE_EXCEEDED:
      return new BackendTimeoutError(`backend "${backend}" timed out: ${details}`);
    case GrpcCode.UNAVAILABLE:
    case GrpcCode.RESOURCE_EXHAUSTED:
      return new BackendUnavailableError(`backend "${backend}" unavailable: ${details}`);
    default:
      return new BackendError(`backend "${backend}" failed (gRPC ${code}): ${details}`);
  }
}

/** Longest backend text passed on to a client. */
export const MAX_QUOTED_CHARS = 200;

/** C0/C1 control characters (tab and newline aside), bidi overrides and escapes. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
/** Something that looks like markup: an HTML page or fragment. */
const MARKUP = /<\s*[!/a-z][^>]*>/i;

/**
 * A backend's text as far as it is fit to show a client: plain text, cut to MAX_QUOTED_CHARS
 * (a longer explanation keeps its start, where backends put the point). Undefined when it holds
 * markup or control characters: a proxy's HTML page or terminal escapes are none of the client's
 * business and could mislead it.
 */
export function quotable(text: string): string | undefined {
  const trimmed = text.trim();
  if (CONTROL.test(trimmed) || MARKUP.test(trimmed)) return undefined;
  return trimmed.length > MAX_QUOTED_CHARS ? `${trimmed.slice(0, MAX_QUOTED_CHARS)}…` : trimmed;
}

/** `text/html, 5 KB`: what an unquotable answer was, without any of its content. */
function summary(text: string, body?: AnswerBody): string {
  const bytes = body?.bytes ?? Buffer.byteLength(text);
  const size = bytes < 1024 ? `${bytes} bytes` : `${Math.round(bytes / 1024)} KB`;
  const type = body?.contentType?.split(";")[0]?.trim();
  return type === undefined || type === "" ? size : `${type}, ${size}`;
}

/** The AnswerBody of a raw HTTP answer. */
export function answerBody(res: {
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
}): AnswerBody {
  const type = res.headers["content-type"];
  return { contentType: Array.isArray(type) ? type[0] : type, bytes: res.body.byteLength };
}
