/** Request ids as both fronts read them from `x-request-id`. */

// Printable ASCII without spaces: anything else could not travel back in a response header.
const SAFE_ID = /^[\x21-\x7e]+$/;

/**
 * The request id to use for a client's `x-request-id` value: echoed when it is printable ASCII of
 * at most `limitLength` characters, else a fresh one. Shared by the HTTP and gRPC fronts.
 */
export function pickRequestId(
  given: string | undefined,
  limitLength = 255,
  generator: () => string = () => crypto.randomUUID(),
): string {
  return given !== undefined && given.length <= limitLength && SAFE_ID.test(given)
    ? given
    : generator();
}
