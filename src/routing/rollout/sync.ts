/**
 * One replica's part in a rollout shared through Redis (docs/traffic.md "Progressive rollout": "with `redis` configured,
 * replicas share it"). Every poll the replica
 * 1. reads the shared state and adopts it when the interval number moved (or creates it from its
 *    own state when there is none: the first replica, or a Redis that came back empty);
 * 2. publishes a rollback it made on its own numbers (a rollback always wins);
 * 3. reports its numbers for the current interval;
 * 4. takes or renews the lease; the lease holder merges every replica's numbers, judges them on a
 *    scratch controller exactly as a lone gateway would (mid-interval error check; the full check
 *    once the interval is over) and writes the outcome by compare-and-set, so no interval is ever
 *    judged twice. Only then does it apply the outcome itself.
 * While Redis is unavailable nothing advances: the weights hold where they are (a rollback on the
 * replica's own numbers still happens, and is published once Redis is back).
 */
import type { RolloutConfig } from "../../config/schema.js";
import type { Logger } from "../../logger.js";
import {
  type RolloutArms,
  RolloutController,
  type RolloutSharedInfo,
  type RolloutSnapshot,
  type RolloutState,
} from "./controller.js";
import { ArmStats } from "./stats.js";
import type { ReplicaReport, RolloutStore, SharedRollout } from "./store.js";

/** Options of a RolloutSync. */
export interface RolloutSyncOptions {
  model: string;
  config: RolloutConfig;
  /** The replica's controller, created `external` (no timer of its own). */
  controller: RolloutController;
  store: RolloutStore;
  /** From `store.keyOf(model, config)`. */
  key: string;
  /** Unique per gateway process. */
  replica: string;
  /** Between polls; default `defaultPollMs(config)`. */
  pollMs?: number;
  /** Wall-clock ms for interval timing; default Redis's clock (RolloutStore.time). */
  now?: () => number;
  logger?: Pick<Logger, "debug">;
  /** Told when this replica's own rollback has been written to Redis (to count it once). */
  onPublishedRollback?: (snapshot: RolloutSnapshot) => void;
}

/** A tenth of the interval, within 50 ms – 5 s: a decision lands at most that late. */
export function defaultPollMs(config: RolloutConfig): number {
  return Math.min(5000, Math.max(50, (config.intervalSeconds * 1000) / 10));
}

/**
 * How far a rollout has got, for comparing two states of the same rollout: a rollback beats
 * everything, done beats its last step, a later step beats an earlier one.
 */
export function progress(state: RolloutState): number {
  if (state.phase === "rolledBack") return Number.POSITIVE_INFINITY;
  return state.step * 2 + (state.phase === "done" ? 1 : 0);
}

/** Adds up every replica's numbers for one interval. */
export function mergeReports(reports: readonly ReplicaReport[]): RolloutArms {
  const arms = { from: new ArmStats(), to: new ArmStats() };
  for (const report of reports) {
    arms.from.add(report.from);
    arms.to.add(report.to);
  }
  return arms;
}

/** Keeps one replica's controller in step with the shared rollout. */
export class RolloutSync {
  readonly #o: RolloutSyncOptions;
  readonly #pollMs: number;
  #epoch: number | undefined;
  #leader = false;
  #replicas = 0;
  #available = false;
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #closed = false;

  constructor(options: RolloutSyncOptions) {
    this.#o = options;
    this.#pollMs = options.pollMs ?? defaultPollMs(options.config);
    options.controller.describeShared(() => this.info());
  }

  /** How this replica takes part, for `/admin/routes`. */
  info(): RolloutSharedInfo {
    return {
      redis: this.#available ? "connected" : "unavailable",
      leader: this.#leader,
      key: this.#o.key,
      interval: this.#epoch ?? -1,
      replicas: this.#replicas,
    };
  }

  /** Polls now and then every `pollMs` until closed. */
  start(): void {
    this.#schedule(0);
  }

  /** One round (see the module comment); never rejects. */
  async poll(): Promise<void> {
    try {
      await this.#round();
      this.#available = true;
    } catch (err) {
      this.#available = false;
      this.#leader = false;
      this.#o.logger?.debug(
        { model: this.#o.model, err: err instanceof Error ? err.message : String(err) },
        "shared rollout poll failed",
      );
    }
  }

  /** Stops polling and hands the lease on, so another replica judges the next interval at once. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#polling;
    if (this.#leader && this.#o.store.connected) {
      await this.#o.store.release(this.#o.key, this.#o.replica).catch(() => undefined);
    }
    this.#leader = false;
  }

  #schedule(ms: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#polling = this.poll().finally(() => {
        this.#polling = undefined;
        this.#schedule(this.#pollMs);
      });
    }, ms);
    this.#timer.unref();
  }

  async #round(): Promise<void> {
    const { store, key, controller, config, replica } = this.#o;
    if (!store.connected) throw new Error("redis is not connected");
    const now = this.#o.now?.() ?? (await store.time());
    let shared = await this.#readOrCreate(now);
    if (shared === null) return;
    const local = controller.state();
    if (this.#epoch !== undefined && progress(local) > progress(shared.state)) {
      // This replica is further along than the record: it rolled back on its own numbers (a
      // rollback always wins), or the record was lost and recreated behind the fleet. Rollouts
      // only move forward, so the furthest state is the true one: publish it.
      const next = this.#next(shared, local, now);
      // Lost the race: somebody wrote first; look again next poll.
      if (!(await store.replace(key, shared.epoch, next))) return;
      if (local.phase === "rolledBack") this.#o.onPublishedRollback?.(controller.snapshot());
      shared = next;
      this.#epoch = next.epoch;
    }
    if (shared.epoch !== this.#epoch) {
      controller.adopt(shared.state);
      this.#epoch = shared.epoch;
    }
    if (shared.state.phase !== "progressing") {
      this.#leader = false;
      return;
    }
    const intervalMs = config.intervalSeconds * 1000;
    await store.report(key, shared.epoch, replica, controller.localData(), 3 * intervalMs + 10_000);
    this.#leader = await store.lease(key, replica, Math.max(3 * this.#pollMs, 500));
    const reports = await store.reports(key, shared.epoch);
    this.#replicas = reports.length;
    if (!this.#leader) return;
    await this.#judge(shared, mergeReports(reports), now);
    if (controller.phase !== "progressing") {
      // Nothing left to judge: let the lease go rather than hold it until it expires.
      this.#leader = false;
      await store.release(key, replica);
    }
  }

  /** The shared record; the first replica writes its own state as interval 0. */
  async #readOrCreate(now: number): Promise<SharedRollout | null> {
    const { store, key, controller } = this.#o;
    const shared = await store.read(key);
    if (shared !== null) return shared;
    const epoch = this.#epoch === undefined ? 0 : this.#epoch + 1;
    const created = await this.#create(key, {
      epoch,
      intervalStart: now,
      state: controller.state(),
    });
    const again = await store.read(key);
    // Not created and still unreadable: a record no gateway can use; clear it for the next poll.
    if (!created && again === null) await store.discard(key);
    return again;
  }

  /** Writes the first record; a key of another Redis type is cleared for the next poll. */
  async #create(key: string, first: SharedRollout): Promise<boolean> {
    try {
      return await this.#o.store.replace(key, null, first);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.includes("WRONGTYPE")) throw err;
      await this.#o.store.discard(key);
      return false;
    }
  }

  /** The lease holder's judgement of the merged numbers, published before it is applied. */
  async #judge(shared: SharedRollout, arms: RolloutArms, now: number): Promise<void> {
    const { controller, config, model, store, key } = this.#o;
    const trial = new RolloutController({
      model,
      config,
      external: true,
      initial: controller.state(),
      now: () => now,
    });
    const ended = now >= shared.intervalStart + config.intervalSeconds * 1000;
    if (!trial.checkBreach(arms)) {
      if (!ended) return;
      trial.endInterval(arms);
    }
    const next = this.#next(shared, trial.state(), now);
    if (!(await store.replace(key, shared.epoch, next))) return;
    this.#epoch = next.epoch;
    // The replica rolled back on its own numbers during the write: keep that; the next poll
    // publishes it over the state just written.
    if (progress(controller.state()) > progress(next.state)) return;
    controller.adopt(next.state, "decided");
  }

  #next(shared: SharedRollout, state: SharedRollout["state"], now: number): SharedRollout {
    return { epoch: shared.epoch + 1, intervalStart: now, state };
  }
}
