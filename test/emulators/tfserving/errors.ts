/**
 * TF Serving's errors: a tensorflow::Status code and message, answered as `{"error": msg}` with
 * the HTTP status TF Serving's REST handler maps the code to, or as the same gRPC status code.
 */

/** The tensorflow error codes the emulator uses, with their numbers (= gRPC status codes). */
export const TF_CODES = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

export type TfCode = keyof typeof TF_CODES;

/** TF Serving's REST status for each code (its REST handler's mapping). */
const HTTP_STATUS: Readonly<Record<TfCode, number>> = {
  INVALID_ARGUMENT: 400,
  DEADLINE_EXCEEDED: 504,
  NOT_FOUND: 404,
  RESOURCE_EXHAUSTED: 429,
  FAILED_PRECONDITION: 400,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
  UNAVAILABLE: 503,
};

/** A failed tensorflow::Status. */
export class TfError extends Error {
  constructor(
    readonly code: TfCode,
    message: string,
  ) {
    super(message);
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }

  get grpcCode(): number {
    return TF_CODES[this.code];
  }
}

/** errors::InvalidArgument. */
export function invalidArgument(message: string): TfError {
  return new TfError("INVALID_ARGUMENT", message);
}

/** Any thrown value as a TfError (an unexpected one is INTERNAL). */
export function asTfError(err: unknown): TfError {
  if (err instanceof TfError) return err;
  return new TfError("INTERNAL", err instanceof Error ? err.message : String(err));
}
