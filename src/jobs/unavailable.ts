/**
 * A failure of a job store itself (Redis down, disk full) is a 503 the client may retry, not an
 * internal error; gateway errors (not found, invalid) pass through as they are.
 */
import { BackendUnavailableError, GatewayError } from "../errors.js";

/** Runs a store call, turning a store failure into BACKEND_UNAVAILABLE. */
export async function unavailableOnFailure<T>(fn: () => Promise<T>, what = "job"): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new BackendUnavailableError(`the ${what} store is unavailable; try again later`, {
      cause: err,
      retryAfterSeconds: 1,
    });
  }
}
