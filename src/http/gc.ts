/**
 * A full garbage collection on demand, for giving memory back after a burst of large request
 * bodies (see body-budget.ts). V8 collects when it allocates, so after a burst of uploads ends
 * and traffic is light, hundreds of MiB of dead body buffers can stay resident for minutes.
 * `--expose-gc` is switched on just long enough to fetch the `gc` function (the way Jest's leak
 * detector does it), so the gateway needs no node flag for it.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let cached: (() => void) | null | undefined;

/** V8's full collection, or undefined where it cannot be had. */
export function fullGc(): (() => void) | undefined {
  if (cached === undefined) {
    const exposed: unknown = (globalThis as { gc?: unknown }).gc;
    if (typeof exposed === "function") {
      cached = exposed as () => void;
    } else {
      try {
        setFlagsFromString("--expose-gc");
        const gc: unknown = runInNewContext("gc");
        cached = typeof gc === "function" ? (gc as () => void) : null;
      } catch {
        cached = null;
      } finally {
        setFlagsFromString("--no-expose-gc");
      }
    }
  }
  return cached ?? undefined;
}
