/**
 * Where replicas meet to share run-time traffic weights: Redis. One hash,
 * `<keyPrefix>weights`, holds per model the split an operator set and the `traffic` block it was
 * set against; every change is announced on the channel `<keyPrefix>weights:changed` with the
 * model's name. The announcement carries no weights: a replica reads the hash after it, so what it
 * applies is always what Redis holds, whatever order two concurrent changes were announced in.
 * Every command fails fast (see connectRedis); callers treat a failure as "Redis unavailable".
 */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { z } from "zod";
import type { Logger } from "../logger.js";
import { connectRedis } from "../redis/connect.js";
import type { SplitEntry } from "./split.js";

/** A model's shared run-time split. */
export interface SharedWeights {
  weights: SplitEntry[];
  /** `trafficBase` of the `traffic` block the weights were set against. */
  base: string;
}

/** Most versions one stored split may name; a longer record is unreadable (skipped). */
const MAX_ENTRIES = 1000;

const recordSchema = z.object({
  weights: z
    .array(z.object({ version: z.string().min(1), weight: z.number().int().min(0) }))
    .min(1)
    .max(MAX_ENTRIES),
  base: z.string(),
});

// Write (or delete) and announce in one step, so an announcement never runs ahead of its write.
const SET = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', KEYS[2], ARGV[1])
return 1`;
// Deletes only the record the caller saw, so a split set meanwhile against the new block stays.
const CLEAR = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('PUBLISH', KEYS[2], ARGV[1])
return 1`;

/**
 * The fingerprint of a model's `traffic` block (absent = none): shared weights apply only where
 * the file's block is the one they were set against, as a reload keeps them only then.
 */
export function trafficBase(traffic: readonly SplitEntry[] | undefined): string {
  return createHash("sha256")
    .update(JSON.stringify(traffic ?? null))
    .digest("hex")
    .slice(0, 16);
}

/** Options of a WeightsStore. */
export interface WeightsStoreOptions {
  url: string;
  keyPrefix: string;
  logger?: Pick<Logger, "warn">;
  /** Per command; default 500 ms. */
  commandTimeoutMs?: number;
}

/** A stored record as read: the parsed weights and the exact text (for a compare-and-delete). */
export interface StoredWeights extends SharedWeights {
  raw: string;
}

/** The Redis side of shared weights: a command connection and a subscriber connection. */
export class WeightsStore {
  readonly #client: Redis;
  readonly #subscriber: Redis;
  readonly #key: string;
  readonly #channel: string;
  #closing = false;

  constructor(options: WeightsStoreOptions) {
    this.#key = `${options.keyPrefix}weights`;
    this.#channel = `${options.keyPrefix}weights:changed`;
    const timeout = options.commandTimeoutMs ?? 500;
    this.#client = connectRedis(options.url, timeout);
    this.#subscriber = connectRedis(options.url, timeout);
    let down = false;
    // One line per outage, not one per reconnect attempt.
    const fail = (err: unknown) => {
      if (down || this.#closing) return;
      down = true;
      options.logger?.warn(
        { err: err instanceof Error ? err.message : String(err) },
        "redis unavailable: run-time traffic weights cannot be changed until it is back",
      );
    };
    for (const client of [this.#client, this.#subscriber]) {
      client.on("error", fail);
      client.on("close", () => fail(new Error("connection closed")));
    }
    this.#client.on("ready", () => {
      down = false;
    });
  }

  /** True while commands are being sent (connected). */
  get connected(): boolean {
    return this.#client.status === "ready";
  }

  /**
   * Calls `onChange(model)` for every announced change, and `onConnected()` each time either
   * connection is (re)established: announcements made while one was down are lost, so the caller
   * reads everything again then (a read fails until the command connection is up, hence both).
   */
  listen(onChange: (model: string) => void, onConnected: () => void): void {
    this.#subscriber.on("message", (channel: string, model: string) => {
      if (channel === this.#channel) onChange(model);
    });
    this.#subscriber.on("ready", () => {
      this.#subscriber.subscribe(this.#channel).then(onConnected, () => undefined);
    });
    this.#client.on("ready", onConnected);
  }

  /** Every model's stored split; unreadable records are skipped. */
  async readAll(): Promise<Map<string, StoredWeights>> {
    const all = await this.#client.hgetall(this.#key);
    const out = new Map<string, StoredWeights>();
    for (const [model, raw] of Object.entries(all)) {
      const parsed = parseRecord(raw);
      if (parsed !== undefined) out.set(model, parsed);
    }
    return out;
  }

  /** One model's stored split, or undefined when there is none (or it is unreadable). */
  async read(model: string): Promise<StoredWeights | undefined> {
    const raw = await this.#client.hget(this.#key, model);
    return raw === null ? undefined : parseRecord(raw);
  }

  /** Stores `model`'s split and announces it; returns the stored text. */
  async write(model: string, record: SharedWeights): Promise<string> {
    const raw = JSON.stringify({ weights: record.weights, base: record.base });
    await this.#client.eval(SET, 2, this.#key, this.#channel, model, raw);
    return raw;
  }

  /** Deletes `model`'s split if it is still `raw`, and announces it; true when deleted. */
  async clear(model: string, raw: string): Promise<boolean> {
    return (await this.#client.eval(CLEAR, 2, this.#key, this.#channel, model, raw)) === 1;
  }

  /** Closes both connections (pending commands fail fast). */
  close(): void {
    this.#closing = true;
    this.#client.disconnect();
    this.#subscriber.disconnect();
  }
}

function parseRecord(raw: string): StoredWeights | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const parsed = recordSchema.safeParse(value);
  return parsed.success ? { ...parsed.data, raw } : undefined;
}
