/**
 * The progressive rollouts of the configured models. A controller lives as long as its model's
 * `rollout` block is unchanged: a reload that leaves the rollout alone keeps its step, weights and
 * statistics; a changed or removed block starts over or ends it.
 */
import type { GatewayConfig } from "../config/schema.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics/registry.js";
import { RolloutController, type RolloutSnapshot } from "../routing/rollout.js";

/** Keeps one RolloutController per model with a `rollout` block. */
export class RolloutRegistry {
  private controllers = new Map<string, { key: string; controller: RolloutController }>();

  constructor(
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  /** Brings the controllers in line with `config`; unchanged ones keep their state. */
  sync(config: GatewayConfig): void {
    const next = new Map<string, { key: string; controller: RolloutController }>();
    for (const [model, modelConfig] of Object.entries(config.models)) {
      const rollout = modelConfig.rollout;
      if (rollout === undefined) continue;
      const key = JSON.stringify(rollout);
      const kept = this.controllers.get(model);
      if (kept !== undefined && kept.key === key) {
        next.set(model, kept);
        continue;
      }
      const controller = new RolloutController({
        model,
        config: rollout,
        onChange: (snapshot) => this.changed(snapshot),
      });
      this.report(controller.snapshot());
      next.set(model, { key, controller });
    }
    for (const [model, old] of this.controllers) {
      if (next.get(model) !== old) old.controller.close();
    }
    this.controllers = next;
  }

  /** The model's controller, when it has a rollout. */
  get(model: string): RolloutController | undefined {
    return this.controllers.get(model)?.controller;
  }

  close(): void {
    for (const { controller } of this.controllers.values()) controller.close();
    this.controllers.clear();
  }

  private changed(snapshot: RolloutSnapshot): void {
    this.report(snapshot);
    if (snapshot.phase === "rolledBack") {
      this.metrics.rollbacks.inc({ model: snapshot.model, version: snapshot.to });
      this.logger.warn({ rollout: snapshot }, "rollout rolled back");
    } else {
      this.logger.info({ rollout: snapshot }, "rollout step");
    }
  }

  private report(snapshot: RolloutSnapshot): void {
    this.metrics.rolloutWeight.set(
      { model: snapshot.model, version: snapshot.to },
      snapshot.weight,
    );
  }
}
