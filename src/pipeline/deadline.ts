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
 */
export async function runWithDeadline<T>(
  call: BackendCall,
  fn: (call: BackendCall) => Promise<T>,
): Promise<T> {
  const remaining = Math.min(call.deadline - Date.now(), MAX_TIMER_MS);
  if (remaining <= 0) throw new BackendTimeoutError("deadline passed before the backend call");
  const controller = new AbortController();
  const parent = call.signal;
  const onParentAbort = () => controller.abort(parent.reason);
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener("abort", onParentAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new BackendTimeoutError(`deadline of ${remaining} ms passed`);
      controller.abort(err);
      reject(err);
    }, remaining);
  });
  try {
    return await Promise.race([fn({ ...call, signal: controller.signal }), expired]);
  } finally {
    clearTimeout(timer);
    parent.removeEventListener("abort", onParentAbort);
  }
}
