/**
 * Run-time traffic weights (`POST /admin/models/{m}/traffic`) across a config reload: a model
 * whose `traffic` block the reload left unchanged keeps the weights an operator set, instead of
 * silently going back to the file's. A changed block, a removed model, or weights the new config
 * no longer accepts (a version gone) drop the override, with a log line.
 */
import type { GatewayConfig } from "../config/schema.js";
import type { InferenceService } from "./types.js";

/** Minimal logger (pino's signature). */
interface CarryLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

type Snapshot = InferenceService & { readonly config: GatewayConfig };

/** Copies `old`'s run-time weights onto `next` where the model's traffic block is unchanged. */
export function carryRuntimeWeights(old: Snapshot, next: Snapshot, logger: CarryLogger): void {
  for (const [model, routes] of Object.entries(old.routes().models)) {
    if (routes.traffic?.source !== "runtime") continue;
    const before = old.config.models[model];
    const after = Object.hasOwn(next.config.models, model) ? next.config.models[model] : undefined;
    if (after === undefined || JSON.stringify(before?.traffic) !== JSON.stringify(after.traffic)) {
      logger.info({ model }, "reload: run-time traffic weights dropped (traffic block changed)");
      continue;
    }
    try {
      next.setTraffic(model, routes.traffic.weights);
    } catch (err) {
      logger.warn({ model, err }, "reload: run-time traffic weights no longer valid; dropped");
    }
  }
}
