/**
 * When the last live request (not an async job or a batch record) started, process-wide, so the
 * job throttle (throttle.ts) holds back only while live traffic is flowing and runs jobs at full
 * speed otherwise. One number and one clock read per request.
 */
let lastLiveAt = Number.NEGATIVE_INFINITY;

/** Marks a live request starting now. */
export function noteLiveRequest(): void {
  lastLiveAt = performance.now();
}

/** True when a live request started within the last `windowMs`. */
export function liveWithin(windowMs: number): boolean {
  return performance.now() - lastLiveAt <= windowMs;
}
