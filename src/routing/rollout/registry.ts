/**
 * The progressive rollouts of the configured models. A controller lives as long as its model's
 * `rollout` block (and the `redis` settings) are unchanged: a reload that leaves the rollout alone
 * keeps its step, weights and statistics; a changed or removed block starts over or ends it. With
 * `redis` configured, replicas share each rollout through it (sync.ts).
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { GatewayConfig } from "../../config/schema.js";
import type { Logger } from "../../logger.js";
import type { Metrics } from "../../metrics/registry.js";
import { type RolloutChangeOrigin, RolloutController, type RolloutSnapshot } from "./controller.js";
import { RolloutStore } from "./store.js";
import { RolloutSync } from "./sync.js";

interface Live {
  key: string;
  controller: RolloutController;
  sync: RolloutSync | undefined;
}

/** Options of a RolloutRegistry. */
export interface RolloutRegistryOptions {
  /** This process's id among replicas sharing rollouts; default host:pid:random. */
  replica?: string;
  /** Poll period of shared rollouts; default a tenth of the interval (see defaultPollMs). */
  pollMs?: number;
}

/** Keeps one RolloutController per model with a `rollout` block. */
export class RolloutRegistry {
  private controllers = new Map<string, Live>();
  private store: { settings: string; instance: RolloutStore } | undefined;
  private readonly replica: string;
  /** Syncs and stores being closed; `close()` waits for them. */
  private readonly closing = new Set<Promise<void>>();

  constructor(
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly options: RolloutRegistryOptions = {},
  ) {
    this.replica = options.replica ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  }

  /** Brings the controllers in line with `config`; unchanged ones keep their state. */
  sync(config: GatewayConfig): void {
    const previous = this.store;
    const store = this.storeFor(config);
    const next = new Map<string, Live>();
    for (const [model, modelConfig] of Object.entries(config.models)) {
      const rollout = modelConfig.rollout;
      if (rollout === undefined) continue;
      const key = JSON.stringify([rollout, config.redis ?? null]);
      const kept = this.controllers.get(model);
      if (kept !== undefined && kept.key === key) {
        next.set(model, kept);
        continue;
      }
      const controller = new RolloutController({
        model,
        config: rollout,
        external: store !== undefined,
        onChange: (snapshot, origin) => this.changed(snapshot, origin),
      });
      let sync: RolloutSync | undefined;
      if (store !== undefined) {
        sync = new RolloutSync({
          model,
          config: rollout,
          controller,
          store,
          key: store.keyOf(model, rollout),
          replica: this.replica,
          logger: this.logger,
          onPublishedRollback: (snapshot) => this.countRollback(snapshot),
          ...(this.options.pollMs === undefined ? {} : { pollMs: this.options.pollMs }),
        });
        sync.start();
      }
      this.report(controller.snapshot());
      next.set(model, { key, controller, sync });
    }
    for (const [model, old] of this.controllers) {
      if (next.get(model) !== old) this.retire(old);
    }
    this.controllers = next;
    // After the syncs that used it were retired, so they can still hand their leases on.
    if (previous !== undefined && previous !== this.store) this.retireStore(previous.instance);
  }

  /** The model's controller, when it has a rollout. */
  get(model: string): RolloutController | undefined {
    return this.controllers.get(model)?.controller;
  }

  /** Stops every rollout (weights stay), hands shared leases on and closes the Redis connection. */
  async close(): Promise<void> {
    for (const live of this.controllers.values()) this.retire(live);
    this.controllers.clear();
    if (this.store !== undefined) this.retireStore(this.store.instance);
    this.store = undefined;
    while (this.closing.size > 0) await Promise.all([...this.closing]);
  }

  /** The Redis store for `config`, replaced when the `redis` settings change. */
  private storeFor(config: GatewayConfig): RolloutStore | undefined {
    // No connection at all unless some model has a rollout to share.
    const needed = Object.values(config.models).some((m) => m.rollout !== undefined);
    if (config.redis === undefined || !needed) {
      this.store = undefined;
      return undefined;
    }
    const settings = JSON.stringify(config.redis);
    if (this.store?.settings !== settings) {
      this.store = {
        settings,
        instance: new RolloutStore({ ...config.redis, logger: this.logger }),
      };
    }
    return this.store.instance;
  }

  private retire(live: Live): void {
    live.controller.close();
    if (live.sync !== undefined) this.track(live.sync.close());
  }

  /** Closes `store` once the syncs still using it have stopped. */
  private retireStore(store: RolloutStore): void {
    const pending = [...this.closing];
    this.track(Promise.allSettled(pending).then(() => store.close()));
  }

  private track(work: Promise<unknown>): void {
    const done: Promise<void> = work.then(
      () => undefined,
      () => undefined,
    );
    this.closing.add(done);
    void done.finally(() => this.closing.delete(done));
  }

  private changed(snapshot: RolloutSnapshot, origin: RolloutChangeOrigin): void {
    this.report(snapshot);
    // Counted where it was decided only, so summing over replicas counts each rollback once; a
    // replica's own rollback of a shared rollout counts when it is published (onPublishedRollback).
    if (snapshot.phase === "rolledBack" && origin === "decided") {
      this.countRollback(snapshot);
    } else if (snapshot.phase === "rolledBack" && origin === "local") {
      this.logger.warn({ rollout: snapshot }, "rollout rolled back on this replica's numbers");
    } else {
      this.logger.info({ rollout: snapshot, origin }, "rollout step");
    }
  }

  private countRollback(snapshot: RolloutSnapshot): void {
    this.metrics.rollbacks.inc({ model: snapshot.model, version: snapshot.to });
    this.logger.warn({ rollout: snapshot }, "rollout rolled back");
  }

  private report(snapshot: RolloutSnapshot): void {
    this.metrics.rolloutWeight.set(
      { model: snapshot.model, version: snapshot.to },
      snapshot.weight,
    );
  }
}
