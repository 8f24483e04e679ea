/**
 * The policy a model runs with: its own block merged key by key over `defaults`' block over the
 * built-in values. A policy is on when either the model or `defaults` has its block.
 */
import type { GatewayConfig, ModelConfig } from "./schema.js";
import { POLICY_DEFAULTS } from "./schema.js";

type PolicyName = keyof typeof POLICY_DEFAULTS;
type Effective<P extends PolicyName> = {
  -readonly [K in keyof (typeof POLICY_DEFAULTS)[P]]: number;
};

/** The effective `retry`, `breaker`, `batching` or `concurrency` of a model, or undefined when off. */
export function effectivePolicy<P extends PolicyName>(
  config: GatewayConfig,
  model: ModelConfig,
  policy: P,
): Effective<P> | undefined {
  if (config.defaults[policy] === undefined && model[policy] === undefined) return undefined;
  return mergedPolicy(config, model, policy);
}

/** A policy's merged keys whether or not either block is written (for always-on policies). */
export function mergedPolicy<P extends PolicyName>(
  config: GatewayConfig,
  model: ModelConfig,
  policy: P,
): Effective<P> {
  return {
    ...POLICY_DEFAULTS[policy],
    ...stripUndefined(config.defaults[policy]),
    ...stripUndefined(model[policy]),
  } as Effective<P>;
}

function stripUndefined(block: object | undefined): Record<string, unknown> {
  return block === undefined
    ? {}
    : Object.fromEntries(Object.entries(block).filter(([, v]) => v !== undefined));
}
