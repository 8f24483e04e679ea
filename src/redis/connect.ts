/**
 * The one way the gateway connects to Redis. Redis is an optimisation and a meeting point for
 * replicas, never a dependency: commands fail fast while it is down (no offline queue, no resend,
 * one attempt, a short timeout) and ioredis reconnects in the background with jittered backoff.
 */
import { Redis } from "ioredis";

/** Reconnect delay: exponential from 50 ms, capped at 1 s, with jitter so gateways spread out. */
export function reconnectDelay(attempt: number): number {
  const base = Math.min(50 * 2 ** Math.min(attempt, 10), 1000);
  return Math.round(base * (0.75 + Math.random() * 0.25));
}

/** A fail-fast client for `url`; add an 'error' listener, or ioredis logs every failed reconnect. */
export function connectRedis(url: string, commandTimeoutMs: number): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 1000,
    retryStrategy: reconnectDelay,
  });
}
