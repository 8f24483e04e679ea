/**
 * The per-target policy chain, outermost first (Envoy's named filter chain). Each entry is one
 * file of this folder; adding a policy is a new file and one line here. The chain and the slot's
 * state fingerprint are both derived from this list, so they cannot drift apart.
 */
import { answerCheckPolicy } from "./answer-check.js";
import { batchingPolicy } from "./batching.js";
import { breakerPolicy } from "./breaker.js";
import { cachePolicy } from "./cache.js";
import { concurrencyPolicy } from "./concurrency.js";
import { observePolicy } from "./observe.js";
import { retryPolicy } from "./retry.js";
import type { PolicySpec } from "./spec.js";

/** cache -> batching -> concurrency -> retry -> breaker -> observe -> answer-check -> adapter. */
export const POLICIES: readonly PolicySpec<unknown>[] = [
  cachePolicy,
  batchingPolicy,
  concurrencyPolicy,
  retryPolicy,
  breakerPolicy,
  observePolicy,
  answerCheckPolicy,
];
