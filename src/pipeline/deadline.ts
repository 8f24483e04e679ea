/**
 * Deadlines: a call gets a signal that aborts when its deadline passes or the client goes away,
 * and the caller gets BACKEND_TIMEOUT at the deadline even when a backend ignores the signal
 * (Triton and TF Serving ignore client deadlines: triton#6920, tfs#1265). The gateway applies one
 * deadline to a whole request — retries and fallbacks included — so this wraps the whole chain,
 * not each backend call.
 */
import type { BackendCall } from "../backends/types.js";
import { MAX_TIMER_MS } from "../config/schema.js";
import { BackendTimeoutError } from "../errors.js";

/**
 * Runs `fn` with a copy of `call` whose signal aborts at `call.deadline` (with a
 * BackendTimeoutError as reason) or when `call.signal` aborts; rejects with BACKEND_TIMEOUT at the
 * deadline whether or not `fn` has settled.
 *
 * `own` is the controller behind `call.signal` when that controller belongs to this request
 * alone (a front's per-request one): then the deadline aborts it directly, and `fn` gets `call`
 * itself, instead of a second controller linked to the first and a copy of the call. An
 * AbortController and its listener were a visible share of a cached answer's cost.
 *
 * One promise settled by whichever comes first, rather than `Promise.race` against a timer promise
 * inside an async function: this runs once per request, and the race's extra promises and
 * reactions were a measurable share of the hot path's allocations.
 */
export function runWithDeadline<T>(
  call: BackendCall,
  fn: (call: BackendCall) => Promise<T>,
  own?: AbortController,
): Promise<T> {
  const remaining = Math.min(call.deadline - Date.now(), MAX_TIMER_MS);
  if (remaining <= 0) {
    return Promise.reject(new BackendTimeoutError("deadline passed before the backend call"));
  }
  const parent = call.signal;
  const shared = own !== undefined && own.signal === parent;
  const controller = shared ? own : new AbortController();
  const onParentAbort = () => controller.abort(parent.reason);
  if (!shared) {
    if (parent.aborted) controller.abort(parent.reason);
    else parent.addEventListener("abort", onParentAbort, { once: true });
  }
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const err = new BackendTimeoutError(`deadline of ${remaining} ms passed`);
      controller.abort(err);
      settle();
      reject(err);
    }, remaining);
    const settle = () => {
      clearTimeout(timer);
      if (!shared) parent.removeEventListener("abort", onParentAbort);
    };
    let pending: Promise<T>;
    try {
      pending = fn(shared ? call : { ...call, signal: controller.signal });
    } catch (err) {
      settle();
      reject(err);
      return;
    }
    pending.then(
      (value) => {
        settle();
        resolve(value);
      },
      (err: unknown) => {
        settle();
        reject(err);
      },
    );
  });
}
