/**
 * Single flight (Go's golang.org/x/sync/singleflight): concurrent calls for the same key share
 * one computation and its outcome, answer or error. Nothing is remembered once it settles, so the
 * map holds only keys being computed and a failure is never replayed to later callers.
 *
 * Cancellation is per caller: a caller whose signal aborts stops waiting at once, and the shared
 * computation's signal aborts only when every caller has gone, so one client hanging up does not
 * fail the others waiting on the same answer.
 */

interface Flight<T> {
  readonly promise: Promise<T>;
  readonly controller: AbortController;
  /** Callers still waiting on the promise. */
  waiting: number;
}

/** What one caller gets: the value, and whether it joined a computation another caller started. */
export interface FlightResult<T> {
  value: T;
  joined: boolean;
}

/** Shares in-progress computations by key. */
export class SingleFlight<T> {
  private readonly flights = new Map<string, Flight<T>>();

  /** Keys being computed now. */
  get size(): number {
    return this.flights.size;
  }

  /**
   * Runs `compute` for `key`, or joins the run already in progress for it. `compute` gets a
   * signal that aborts (with the last caller's abort reason) once every caller's `signal` has
   * aborted. A caller whose `signal` aborts rejects with `abortReason(signal)`.
   */
  run(
    key: string,
    signal: AbortSignal,
    compute: (signal: AbortSignal) => Promise<T>,
    abortReason: (signal: AbortSignal) => unknown,
  ): Promise<FlightResult<T>> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    const existing = this.flights.get(key);
    const flight = existing ?? this.start(key, compute);
    flight.waiting += 1;
    return new Promise<FlightResult<T>>((resolve, reject) => {
      let waiting = true;
      const leave = (): boolean => {
        if (!waiting) return false;
        waiting = false;
        flight.waiting -= 1;
        signal.removeEventListener("abort", onAbort);
        return true;
      };
      const onAbort = () => {
        if (!leave()) return;
        if (flight.waiting === 0) {
          // Nobody wants the answer any more: stop the work and let the next caller start afresh.
          if (this.flights.get(key) === flight) this.flights.delete(key);
          flight.controller.abort(signal.reason);
        }
        reject(abortReason(signal));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      flight.promise.then(
        (value) => {
          if (leave()) resolve({ value, joined: existing !== undefined });
        },
        (err: unknown) => {
          if (leave()) reject(err);
        },
      );
    });
  }

  private start(key: string, compute: (signal: AbortSignal) => Promise<T>): Flight<T> {
    const controller = new AbortController();
    // The async wrapper turns a synchronous throw into a rejection like any other.
    const promise = (async () => compute(controller.signal))();
    const flight: Flight<T> = { promise, controller, waiting: 0 };
    this.flights.set(key, flight);
    const done = () => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    };
    // Also marks the rejection handled when every caller has already left.
    promise.then(done, done);
    return flight;
  }
}
