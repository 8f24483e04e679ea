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

/** The effective `retry`, `breaker` or `batching` of a model, or undefined when it is off. */
export function effectivePolicy<P extends PolicyName>(
  config: GatewayConfig,
  model: ModelConfig,
  policy: P,
): Effective<P> | undefined {
  const fromDefaults = config.defaults[policy];
  const fromModel = model[policy];
  if (fromDefaults === undefined && fromModel === undefined) return undefined;
  return {
    ...POLICY_DEFAULTS[policy],
    ...stripUndefined(fromDefaults),
    ...stripUndefined(fromModel),
  } as Effective<P>;
}

function stripUndefined(block: object | undefined): Record<string, unknown> {
  return block === undefined
    ? {}
    : Object.fromEntries(Object.entries(block).filter(([, v]) => v !== undefined));
}
