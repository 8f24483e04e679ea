/**
 * The deadline policy: the backend call gets a signal that aborts when the request's deadline
 * passes or the client goes away, and the caller gets BACKEND_TIMEOUT at the deadline even when a
 * backend ignores the signal (Triton and TF Serving ignore client deadlines: triton#6920).
 */
import { MAX_TIMER_MS } from "../config/schema.js";
import { BackendTimeoutError } from "../errors.js";
import type { Policy } from "./types.js";

/** Enforces `call.deadline` on the wrapped call and propagates cancellation through `call.signal`. */
export function deadline(): Policy {
  return function deadlinePolicy(next) {
    return async (request) => {
      const remaining = Math.min(request.call.deadline - Date.now(), MAX_TIMER_MS);
      if (remaining <= 0) throw new BackendTimeoutError("deadline passed before the backend call");
      const controller = new AbortController();
      const parent = request.call.signal;
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
        const call = { ...request.call, signal: controller.signal };
        return await Promise.race([next({ target: request.target, call }), expired]);
      } finally {
        clearTimeout(timer);
        parent.removeEventListener("abort", onParentAbort);
      }
    };
  };
}
