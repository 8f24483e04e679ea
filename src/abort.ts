/**
 * What an aborted call fails with, shared by the policies, the cache and the backend clients: a
 * call cancelled by the deadline reports the deadline's error, any other cancellation a timeout.
 */
import { BackendTimeoutError, GatewayError } from "./errors.js";

/**
 * The error for a call that was aborted: the signal's reason when it is a GatewayError (the
 * deadline policy aborts with BackendTimeoutError), else a timeout.
 */
export function abortError(backend: string, signal: AbortSignal | undefined): GatewayError {
  const reason: unknown = signal?.reason;
  if (reason instanceof GatewayError) return reason;
  return new BackendTimeoutError(`call to backend "${backend}" was cancelled`);
}

/**
 * Settles as `promise` does, or rejects with abortError as soon as `signal` aborts, so a caller is
 * not held by work it no longer waits for (a shared fetch, a backend that ignores cancellation).
 */
export function settleByAbort<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  backend: string,
): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(backend, signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(backend, signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
