/**
 * The one timer of an open batch (batcher.ts): it wakes to flush the batch `maxDelayMs` after its
 * first request, or earlier, at the earliest member deadline, to time that member out, so there is
 * never one timer per request.
 */
import { MAX_TIMER_MS } from "../config/schema.js";
import { BackendTimeoutError } from "../errors.js";
import type { SetTimer } from "../timer.js";
import type { Member, OpenBatch } from "./batch-send.js";

/** The error of a member whose deadline passed before its batch left. */
export function queuedTimeout(): BackendTimeoutError {
  return new BackendTimeoutError("deadline passed while waiting to be batched");
}

/**
 * Sets the batch's one timer: `flush` in `flushIn` ms, or `expire` earlier when a member's
 * deadline comes first. `minExpiry` keeps a timer that woke a little early from spinning.
 */
export function armBatch(
  batch: OpenBatch,
  flushIn: number,
  minExpiry: number,
  setTimer: SetTimer,
  flush: () => void,
  expire: () => void,
): void {
  batch.timer?.clear();
  const expireIn = Math.ceil(batch.earliestDeadline - Date.now());
  if (flushIn <= expireIn) {
    batch.timer = setTimer(flush, Math.max(flushIn, 0));
  } else {
    batch.timer = setTimer(expire, Math.min(Math.max(expireIn, minExpiry), MAX_TIMER_MS));
  }
}

/**
 * Times out (`leave`) the queued members whose deadline passed; returns the earliest deadline of
 * those left and whether any expired.
 */
export function expireMembers(
  batch: OpenBatch,
  leave: (member: Member) => void,
): { earliest: number; expired: boolean } {
  const now = Date.now();
  let earliest = Number.POSITIVE_INFINITY;
  let expired = false;
  for (const member of batch.members) {
    if (member.state !== "queued") continue;
    const deadline = member.request.call.deadline;
    if (deadline <= now) {
      leave(member);
      expired = true;
    } else if (deadline < earliest) {
      earliest = deadline;
    }
  }
  return { earliest, expired };
}
