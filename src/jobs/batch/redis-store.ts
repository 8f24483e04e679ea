/**
 * Batch state on Redis: each batch object as one JSON string, a per-tenant index (a sorted set by
 * creation order) for listing, and one checkpoint per shard (`<id>:shard:<n>`), which the batch's
 * counts are summed from.
 */
import { Redis } from "ioredis";
import { decodeCursor, encodeCursor } from "../cursor.js";
import type { OutputCheckpoints } from "../io/open.js";
import type { BatchCounts, BatchPage, BatchRecord } from "./types.js";

/** A shard's durable progress. */
export interface ShardState {
  readonly checkpoints: OutputCheckpoints;
  readonly counts: BatchCounts;
  readonly version: string;
}

/** Batches and shard checkpoints in Redis. */
export class RedisBatchStore {
  readonly #redis: Redis;
  readonly #p: string;

  constructor(url: string, keyPrefix: string) {
    this.#p = `${keyPrefix}batches:`;
    // Fails fast while Redis is down: the API answers 503 instead of hanging.
    this.#redis = new Redis(url, { maxRetriesPerRequest: 1 });
    this.#redis.on("error", () => undefined);
  }

  async load(id: string): Promise<BatchRecord | undefined> {
    const text = await this.#redis.get(`${this.#p}${id}`);
    return text === null ? undefined : (JSON.parse(text) as BatchRecord);
  }

  async save(batch: BatchRecord): Promise<BatchRecord> {
    await this.#redis.set(`${this.#p}${batch.id}`, JSON.stringify(batch));
    return batch;
  }

  /** Stores a new batch and lists it under its tenant. */
  async add(batch: BatchRecord): Promise<void> {
    const seq = await this.#redis.incr(`${this.#p}seq`);
    await this.save(batch);
    await this.#redis.zadd(`${this.#p}index:${batch.tenant}`, seq, batch.id);
  }

  /** A page of the tenant's batches, newest first. */
  async list(tenant: string, limit: number, after?: string): Promise<BatchPage> {
    const max = after === undefined ? "+inf" : `(${decodeCursor(after)}`;
    const ids = await this.#redis.zrevrangebyscore(
      `${this.#p}index:${tenant}`,
      max,
      "-inf",
      "WITHSCORES",
      "LIMIT",
      0,
      limit + 1,
    );
    const page: BatchRecord[] = [];
    let lastSeq = 0;
    for (let i = 0; i < ids.length && page.length < limit; i += 2) {
      const batch = await this.load(ids[i] as string);
      lastSeq = Number(ids[i + 1]);
      if (batch !== undefined) page.push(batch);
    }
    return { data: page, next: ids.length > limit * 2 ? encodeCursor(lastSeq) : null };
  }

  async shardState(id: string, index: number): Promise<ShardState | undefined> {
    const text = await this.#redis.get(`${this.#p}${id}:shard:${index}`);
    return text === null ? undefined : (JSON.parse(text) as ShardState);
  }

  async saveShardState(id: string, index: number, state: ShardState): Promise<void> {
    await this.#redis.set(`${this.#p}${id}:shard:${index}`, JSON.stringify(state));
  }

  /** The batch with its counts summed from its shards' checkpoints (not stored). */
  async withShardCounts(batch: BatchRecord): Promise<BatchRecord> {
    const counts: BatchCounts = { total: batch.counts.total, done: 0, failed: 0 };
    let version = batch.version;
    const keys = Array.from(
      { length: batch.shards ?? 1 },
      (_, i) => `${this.#p}${batch.id}:shard:${i}`,
    );
    for (const text of await this.#redis.mget(...keys)) {
      if (text === null) continue;
      const state = JSON.parse(text) as ShardState;
      counts.done += state.counts.done;
      counts.failed += state.counts.failed;
      version ??= state.version;
    }
    const seconds = batch.startedAt === undefined ? 0 : (Date.now() - batch.startedAt) / 1000;
    return {
      ...batch,
      counts,
      ...(version === undefined ? {} : { version }),
      recordsPerSecond: seconds > 0 ? counts.done / seconds : 0,
    };
  }

  /** Drops a finished batch's shard checkpoints. */
  async dropShards(id: string, shards: number): Promise<void> {
    const keys = Array.from({ length: shards }, (_, i) => `${this.#p}${id}:shard:${i}`);
    if (keys.length > 0) await this.#redis.del(...keys);
  }

  disconnect(): void {
    this.#redis.disconnect();
  }
}
