/**
 * Where replicas meet to share a progressive rollout: Redis. Per rollout (model + the exact
 * `rollout` block) there are three keys under `<keyPrefix>rollout:<model>:<hash>`:
 * - the key itself, a hash {epoch, record}: the shared interval number and state, changed only by
 *   compare-and-set on the epoch, so two replicas can never both advance the same interval;
 * - `:stats:<epoch>`, a hash replica id → that replica's numbers for the interval;
 * - `:lease`, the id of the replica that judges the intervals, held for a few polls.
 * Every command fails fast (see connectRedis); callers treat a failure as "Redis unavailable".
 */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { z } from "zod";
import type { RolloutConfig } from "../../config/schema.js";
import type { Logger } from "../../logger.js";
import { connectRedis } from "../../redis/connect.js";
import type { RolloutState } from "./controller.js";
import type { ArmStatsData } from "./stats.js";

/** The shared record of one rollout. */
export interface SharedRollout {
  /** Interval number: +1 at every interval's end and at every rollback. */
  epoch: number;
  /** Wall-clock ms when the current interval started. */
  intervalStart: number;
  state: RolloutState;
}

/** One replica's numbers for an interval. */
export interface ReplicaReport {
  from: ArmStatsData;
  to: ArmStatsData;
}

/** A shared rollout is forgotten this long after the last gateway with its block touched it. */
export const SHARED_ROLLOUT_TTL_MS = 7 * 24 * 3600 * 1000;

const finite = z.number().refine(Number.isFinite);
const recordSchema = z.object({
  intervalStart: finite,
  state: z.object({
    phase: z.enum(["progressing", "done", "rolledBack"]),
    step: z.number().int().min(0),
    since: finite,
    lastDecision: z.string().optional(),
    baseline: z.object({ errorRate: finite, p99: finite.nullable() }).optional(),
  }),
});
const armSchema = z.object({
  requests: finite,
  errors: finite,
  max: finite,
  buckets: z.array(finite).max(20_000),
});
const reportSchema = z.object({ from: armSchema, to: armSchema });

// Compare-and-set on the epoch field ('' = the key must not exist yet); refreshes the TTL.
const REPLACE = `
local current = redis.call('HGET', KEYS[1], 'epoch')
if (current or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'epoch', ARGV[2], 'record', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`;
// Takes the lease when free, renews it when held by us.
const LEASE = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Options of a RolloutStore. */
export interface RolloutStoreOptions {
  url: string;
  keyPrefix: string;
  logger?: Pick<Logger, "warn" | "info">;
  /** Per command; default 500 ms (polls are seconds apart, so patience is cheap). */
  commandTimeoutMs?: number;
}

/** The Redis side of shared rollouts; one connection serves every model's rollout. */
export class RolloutStore {
  readonly #client: Redis;
  readonly #prefix: string;
  #closing = false;

  constructor(options: RolloutStoreOptions) {
    this.#prefix = options.keyPrefix;
    this.#client = connectRedis(options.url, options.commandTimeoutMs ?? 500);
    let down = false;
    // One line per outage, not one per reconnect attempt.
    const fail = (err: unknown) => {
      if (down || this.#closing) return;
      down = true;
      options.logger?.warn(
        { err: err instanceof Error ? err.message : String(err) },
        "redis unavailable: shared rollouts hold their weights until it is back",
      );
    };
    this.#client.on("error", fail);
    this.#client.on("close", () => fail(new Error("connection closed")));
    this.#client.on("ready", () => {
      down = false;
    });
  }

  /** True while commands are being sent (connected). */
  get connected(): boolean {
    return this.#client.status === "ready";
  }

  /** The key of `model`'s rollout with exactly this block: a changed block starts over. */
  keyOf(model: string, config: RolloutConfig): string {
    const hash = createHash("sha256").update(JSON.stringify(config)).digest("hex").slice(0, 16);
    return `${this.#prefix}rollout:${model}:${hash}`;
  }

  /** The shared record, or null when there is none (or it is unreadable); refreshes its TTL. */
  async read(key: string): Promise<SharedRollout | null> {
    const results = await this.#client
      .multi()
      .hgetall(key)
      .pexpire(key, SHARED_ROLLOUT_TTL_MS)
      .exec();
    const fields = results?.[0]?.[1];
    if (typeof fields !== "object" || fields === null) return null;
    const { epoch, record } = fields as Record<string, unknown>;
    const parsedEpoch = Number(epoch);
    if (!Number.isSafeInteger(parsedEpoch) || typeof record !== "string") return null;
    const parsed = recordSchema.safeParse(safeJson(record));
    if (!parsed.success) return null;
    return { epoch: parsedEpoch, ...parsed.data } as SharedRollout;
  }

  /** Writes `next` if the stored epoch is still `expected` (null: only if there is none). */
  async replace(key: string, expected: number | null, next: SharedRollout): Promise<boolean> {
    const record = JSON.stringify({ intervalStart: next.intervalStart, state: next.state });
    const result = await this.#client.eval(
      REPLACE,
      1,
      key,
      expected === null ? "" : String(expected),
      String(next.epoch),
      record,
      String(SHARED_ROLLOUT_TTL_MS),
    );
    return result === 1;
  }

  /**
   * Redis's clock in ms: every replica times the shared intervals by the same clock, so hosts'
   * clock skew cannot end an interval early or late.
   */
  async time(): Promise<number> {
    const [seconds, micros] = await this.#client.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /** Deletes an unreadable record (written by an incompatible gateway) so it can be recreated. */
  async discard(key: string): Promise<void> {
    await this.#client.del(key);
  }

  /** Stores this replica's numbers for interval `epoch`. */
  async report(
    key: string,
    epoch: number,
    replica: string,
    data: ReplicaReport,
    ttlMs: number,
  ): Promise<void> {
    const statsKey = `${key}:stats:${epoch}`;
    await this.#client
      .multi()
      .hset(statsKey, replica, JSON.stringify(data))
      .pexpire(statsKey, Math.ceil(ttlMs))
      .exec();
  }

  /** Every replica's numbers for interval `epoch`; unreadable ones are skipped. */
  async reports(key: string, epoch: number): Promise<ReplicaReport[]> {
    const all = await this.#client.hgetall(`${key}:stats:${epoch}`);
    const reports: ReplicaReport[] = [];
    for (const value of Object.values(all)) {
      const parsed = reportSchema.safeParse(safeJson(value));
      if (parsed.success) reports.push(parsed.data);
    }
    return reports;
  }

  /** Takes or renews the judging lease; true when `replica` holds it. */
  async lease(key: string, replica: string, ttlMs: number): Promise<boolean> {
    const result = await this.#client.eval(
      LEASE,
      1,
      `${key}:lease`,
      replica,
      String(Math.ceil(ttlMs)),
    );
    return result === 1;
  }

  /** Gives the lease up if `replica` holds it, so another replica takes over at once. */
  async release(key: string, replica: string): Promise<void> {
    await this.#client.eval(RELEASE, 1, `${key}:lease`, replica);
  }

  /** Closes the connection (pending commands fail fast). */
  close(): void {
    this.#closing = true;
    this.#client.disconnect();
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
