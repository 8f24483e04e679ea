/** The one injectable timer of the policies and controllers that schedule work (tests pass fakes). */

/** A cancellable timer. */
export interface TimerHandle {
  clear(): void;
}

/** Starts a one-shot timer. */
export type SetTimer = (fn: () => void, ms: number) => TimerHandle;

/** The default: an unref'd setTimeout, so pending work never keeps the process up. */
export const unrefTimer: SetTimer = (fn, ms) => {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return { clear: () => clearTimeout(timer) };
};
