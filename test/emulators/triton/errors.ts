/**
 * Triton's error model as the emulator needs it: a TRITONSERVER_Error code with a message, and
 * the HTTP status (http_server.cc HttpCodeFromError) and gRPC status (GrpcStatusUtil::CodeToStatus)
 * each code becomes.
 */

/** The TRITONSERVER_Error codes the emulator raises. */
export type TritonCode = "INVALID_ARG" | "NOT_FOUND" | "UNAVAILABLE" | "INTERNAL" | "UNSUPPORTED";

/** An error Triton would answer with. */
export class TritonError extends Error {
  constructor(
    readonly code: TritonCode,
    message: string,
  ) {
    super(message);
  }
}

/** Triton's HTTP status per error code (UNKNOWN, ALREADY_EXISTS, CANCELLED are 400 too). */
export const HTTP_STATUS: Readonly<Record<TritonCode, number>> = {
  INVALID_ARG: 400,
  NOT_FOUND: 404,
  UNAVAILABLE: 503,
  INTERNAL: 500,
  UNSUPPORTED: 501,
};

/** Triton's gRPC status code per error code. */
export const GRPC_CODE: Readonly<Record<TritonCode, number>> = {
  INVALID_ARG: 3, // INVALID_ARGUMENT
  NOT_FOUND: 5,
  UNAVAILABLE: 14,
  INTERNAL: 13,
  UNSUPPORTED: 12, // UNIMPLEMENTED
};

/** Shorthand for the most common one. */
export function invalidArg(message: string): TritonError {
  return new TritonError("INVALID_ARG", message);
}
