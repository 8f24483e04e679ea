/**
 * Webhook deliveries as the stores keep them, and the retry schedule both stores follow
 * (docs/async.md "Webhooks"): retry n waits retryBaseMs × 4^(n−1), ±20% jitter, at most one hour,
 * up to maxAttempts deliveries; a 410 stops.
 */
import { randomUUID } from "node:crypto";

/** One event to deliver to one URL; `id` is the `webhook-id`, the same on every attempt. */
export interface Delivery {
  id: string;
  jobId: string;
  url: string;
  /** The JSON body, fixed at the event: every attempt sends the same bytes. */
  payload: string;
  /** Deliveries made so far. */
  attempts: number;
}

/**
 * How one attempt ended: delivered (2xx), retry (anything else), gone (410: the receiver wants no
 * more) or refused (the host is no longer allowed: retrying cannot help).
 */
export type AttemptResult = "delivered" | "retry" | "gone" | "refused";

/** Makes one attempt. Never throws. */
export type Sender = (delivery: Delivery) => Promise<AttemptResult>;

/** The delivery settings the stores need. */
export interface DeliveryPolicy {
  maxAttempts: number;
  retryBaseMs: number;
  /** Attempts in flight at once in this process. */
  concurrency: number;
  /**
   * How long an attempt in flight keeps its delivery from being picked again: longer than the
   * attempt's timeout, so only a process that died mid-attempt has its delivery retried.
   */
  leaseMs: number;
}

/** How a delivery ended for good, for `infergate_webhook_deliveries_total{outcome}`. */
export type DeliveryOutcome = "delivered" | "retry" | "failed" | "gone" | "refused";

const MAX_RETRY_DELAY_MS = 3_600_000;

/** A new delivery id in Standard Webhooks' `msg_` style. */
export function newDeliveryId(): string {
  return `msg_${randomUUID().replaceAll("-", "")}`;
}

/**
 * The wait before retry `n` (1 = the first retry, after the first failed delivery):
 * base × 4^(n−1) with ±20% jitter, capped at one hour.
 */
export function retryDelayMs(
  n: number,
  baseMs: number,
  random: () => number = Math.random,
): number {
  const exact = baseMs * 4 ** Math.max(0, n - 1);
  const jittered = exact * (0.8 + 0.4 * random());
  return Math.round(Math.min(jittered, MAX_RETRY_DELAY_MS));
}

/** What to do after an attempt: done (with the outcome to count) or retry after a delay. */
export function nextStep(
  result: AttemptResult,
  attemptsMade: number,
  policy: DeliveryPolicy,
): { done: true; outcome: DeliveryOutcome } | { done: false; delayMs: number } {
  if (result === "delivered" || result === "gone" || result === "refused") {
    return { done: true, outcome: result };
  }
  if (attemptsMade >= policy.maxAttempts) return { done: true, outcome: "failed" };
  return { done: false, delayMs: retryDelayMs(attemptsMade, policy.retryBaseMs) };
}
