/**
 * How often the primary replaces dead workers (docs/workers.md): each restart waits twice as long
 * as the one before while they come close together, and too many within a window means the
 * workers cannot stay up, so the gateway stops and leaves it to its process manager.
 */

/** Re-forks allowed within RESTART_WINDOW_MS; one more death and the gateway stops. */
export const MAX_RESTARTS = 5;
export const RESTART_WINDOW_MS = 60_000;
/** The first restart's wait; it doubles with each recent restart, up to MAX_RESTART_DELAY_MS. */
const FIRST_RESTART_DELAY_MS = 100;
const MAX_RESTART_DELAY_MS = 5000;

/** Restarts of the last window, oldest first. */
export class RestartPolicy {
  readonly #times: number[] = [];

  /** Restarts counted in the window ending at the last call. */
  get recent(): number {
    return this.#times.length;
  }

  /**
   * A worker died at `now`: how long to wait before forking its replacement, or undefined when
   * the window's restarts are used up (the restart is not counted then).
   */
  next(now: number): number | undefined {
    while (this.#times.length > 0 && (this.#times[0] as number) <= now - RESTART_WINDOW_MS) {
      this.#times.shift();
    }
    if (this.#times.length >= MAX_RESTARTS) return undefined;
    const delay = Math.min(MAX_RESTART_DELAY_MS, FIRST_RESTART_DELAY_MS * 2 ** this.#times.length);
    this.#times.push(now);
    return delay;
  }
}
