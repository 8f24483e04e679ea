/**
 * Bounds a session run by the call's deadline and abort signal.
 *
 * onnxruntime cannot cancel a run: onnxruntime-node executes `run` synchronously on the main
 * thread (inside a setImmediate), so a run that has started always finishes. What this gives is
 * that a call whose deadline has passed or whose caller has gone is not started at all, and that
 * the caller gets its BACKEND_TIMEOUT without waiting for a run still queued behind others.
 */
import { MAX_TIMER_MS } from "../../config/schema.js";
import { BackendTimeoutError } from "../../errors.js";

/** Throws BackendTimeoutError when the deadline has passed or the signal has fired. */
export function checkDeadline(deadline: number, signal: AbortSignal, what: string): void {
  if (signal.aborted) throw new BackendTimeoutError(`${what}: the request was cancelled`);
  if (Date.now() >= deadline) throw new BackendTimeoutError(`${what}: the deadline passed`);
}

/**
 * The work's result, unless the deadline passes or the signal fires first: then a
 * BackendTimeoutError (and the work's own later outcome is dropped).
 */
export function raceDeadline<T>(
  work: Promise<T>,
  deadline: number,
  signal: AbortSignal,
  what: string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    };
    const onAbort = (): void => {
      finish();
      reject(new BackendTimeoutError(`${what}: the request was cancelled`));
    };
    // Attached first so a run that fails after we gave up is never an unhandled rejection;
    // settling an already settled promise is a no-op.
    work.then(
      (value) => {
        finish();
        resolve(value);
      },
      (err: unknown) => {
        finish();
        reject(err);
      },
    );
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener("abort", onAbort, { once: true });
    const delay = deadline - Date.now();
    if (Number.isNaN(delay) || delay <= 0) {
      finish();
      reject(new BackendTimeoutError(`${what}: the deadline passed`));
      return;
    }
    if (delay <= MAX_TIMER_MS) {
      timer = setTimeout(() => {
        finish();
        reject(new BackendTimeoutError(`${what}: the deadline passed`));
      }, delay);
    }
  });
}
