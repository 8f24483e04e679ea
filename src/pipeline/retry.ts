/**
 * The retry policy: retries a target call that failed with BACKEND_UNAVAILABLE, with full-jitter
 * exponential backoff (AWS Architecture Blog, "Exponential Backoff and Jitter"), only while the
 * request's deadline leaves room for another attempt and the target's RetryBudget pays for it.
 */
import type { RetryConfig } from "../config/schema.js";
import { MAX_TIMER_MS } from "../config/schema.js";
import { GatewayError } from "../errors.js";
import { isBreakerOpen } from "./breaker.js";
import type { RetryBudget } from "./retry-budget.js";
import type { Policy } from "./types.js";

/**
 * A retry is skipped when less than this is left of the deadline after its backoff: an attempt
 * with a few milliseconds cannot answer and would only add load to a failing backend.
 */
export const MIN_ATTEMPT_MS = 5;

/** The backoff ceiling is this many times `backoffMs`, as Envoy's default max_interval. */
export const MAX_BACKOFF_FACTOR = 10;

/** Why a retry was sent or skipped; the label of `infergate_retries_total{result}`. */
export type RetryResult = "sent" | "budget" | "deadline";

/** What the retry policy needs. */
export interface RetryOptions {
  /**
   * `attempts` counts retries: extra calls after the first, as Envoy's `num_retries` (not gRPC's
   * `maxAttempts`, which includes the first). `attempts: 2` allows up to 3 calls and `attempts: 0`
   * (which the schema allows) turns retries off.
   */
  config: RetryConfig;
  /** The target's budget; the policy deposits once per request and withdraws once per retry. */
  budget: RetryBudget;
  /** Told about each retry decision after a retryable failure. */
  onRetry?: (result: RetryResult) => void;
  /** Uniform in [0, 1), for the jitter. Default `Math.random`. */
  random?: () => number;
  /** Waits `ms`, returning early when `signal` aborts. Default: a timer. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The epoch-millisecond clock `call.deadline` is measured on. Default `Date.now`. */
  now?: () => number;
}

/**
 * Whether a failed call may be retried: BACKEND_UNAVAILABLE (connection refused or reset, 503,
 * gRPC UNAVAILABLE) means the request never ran. A breaker rejection is excluded because it
 * stays open past any backoff, OVERLOADED because retrying our own shed load defeats shedding,
 * and timeouts and backend errors because the backend may have done the work.
 */
export function isRetryable(err: unknown): boolean {
  return err instanceof GatewayError && err.code === "BACKEND_UNAVAILABLE" && !isBreakerOpen(err);
}

/** The upper bound of the full-jitter backoff before retry number `retry` (1-based). */
export function backoffCeilingMs(backoffMs: number, retry: number): number {
  return Math.min(backoffMs * MAX_BACKOFF_FACTOR, backoffMs * 2 ** (retry - 1));
}

/** Resolves after `ms`, or as soon as `signal` aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.min(ms, MAX_TIMER_MS));
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Retries retryable failures up to `config.attempts` times. The first call always goes. Before
 * each retry: the backoff is drawn as `random() × min(10 × backoffMs, backoffMs × 2^(n-1))`; the
 * retry is skipped ("deadline") when the request was aborted or less than MIN_ATTEMPT_MS of the
 * deadline would be left after the backoff, and ("budget") when the budget refuses. A skipped retry
 * rethrows the last error. When the request aborts during the backoff, the abort reason is thrown
 * if it is a GatewayError (e.g. the service's BACKEND_TIMEOUT), else the last backend error.
 */
export function retry(options: RetryOptions): Policy {
  const { config, budget } = options;
  const onRetry = options.onRetry ?? (() => {});
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? abortableSleep;
  const now = options.now ?? Date.now;
  const retries = Math.max(0, Math.floor(config.attempts));
  return function retryPolicy(next) {
    return async (request) => {
      budget.deposit();
      const { signal, deadline } = request.call;
      let lastError: unknown;
      for (let retry = 0; retry <= retries; retry++) {
        if (retry > 0) {
          const delay = random() * backoffCeilingMs(config.backoffMs, retry);
          if (signal.aborted || deadline - now() - delay < MIN_ATTEMPT_MS) {
            onRetry("deadline");
            throw abortedError(signal, lastError);
          }
          if (!budget.tryWithdraw()) {
            onRetry("budget");
            throw lastError;
          }
          if (delay > 0) await sleep(delay, signal);
          if (signal.aborted) {
            onRetry("deadline");
            throw abortedError(signal, lastError);
          }
          onRetry("sent");
        }
        try {
          return await next(request);
        } catch (err) {
          if (!isRetryable(err)) throw err;
          lastError = err;
        }
      }
      throw lastError;
    };
  };
}

/** The error for a request that may not be retried because it is aborted or out of time. */
function abortedError(signal: AbortSignal, lastError: unknown): unknown {
  return signal.aborted && signal.reason instanceof GatewayError ? signal.reason : lastError;
}
