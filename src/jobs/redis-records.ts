/**
 * The Redis job store's record keeping beside BullMQ (docs/async.md "Several replicas on Redis"):
 * {@link RedisJobRecords} reads and writes the records and their indexes, every state change
 * through the one Lua script; listing, the expiry sweep of the listing indexes and the start-up
 * check that the jobs Redis does not evict are the functions below it.
 */
import { Redis } from "ioredis";
import { decodeCursor, encodeCursor } from "./cursor.js";
import type { JobLogger } from "./store-hooks.js";
import { queueFullError } from "./transitions.js";
import {
  isFinal,
  JOB_STATUSES,
  type JobPage,
  type JobRecord,
  type JobStatus,
  type ListQuery,
} from "./types.js";

/**
 * KEYS: job key. ARGV: allowed current statuses (comma list), new record, new status, prefix,
 * ms to expire (0 = keep), global score. Returns [1, new] when it moved, [0, current] when the
 * current status was not allowed, nil for no record.
 */
export const TRANSITION = `
local cur = redis.call('GET', KEYS[1])
if not cur then return nil end
local job = cjson.decode(cur)
local allowed = false
for s in string.gmatch(ARGV[1], '[^,]+') do if s == job.status then allowed = true end end
if not allowed then return {0, cur} end
local p, id, t, old, new = ARGV[4], job.id, job.tenant, job.status, ARGV[3]
redis.call('SET', KEYS[1], ARGV[2])
if tonumber(ARGV[5]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[5]) end
local member = t .. '|' .. id
if old ~= new then
  local seq = redis.call('ZSCORE', p .. 't:' .. t, id)
  redis.call('ZREM', p .. 't:' .. t .. ':' .. old, id)
  if seq then redis.call('ZADD', p .. 't:' .. t .. ':' .. new, seq, id) end
  redis.call('ZREM', p .. 'g:' .. old, member)
end
redis.call('ZADD', p .. 'g:' .. new, ARGV[6], member)
return {1, ARGV[2]}
`;

export const SWEEP_MS = 30_000;
const SWEEP_BATCH = 1000;

interface Transitioner {
  transition(
    key: string,
    allowed: string,
    doc: string,
    status: string,
    prefix: string,
    ttlMs: number,
    score: number,
  ): Promise<[number, string] | null>;
}

/** Drops expired finished jobs from the indexes (their records expire by themselves). */
export async function expireFinished(redis: Redis, prefix: string): Promise<void> {
  const now = Date.now();
  for (const status of ["succeeded", "failed", "cancelled"] as const) {
    const key = `${prefix}g:${status}`;
    const members = await redis.zrangebyscore(key, "-inf", now, "LIMIT", 0, SWEEP_BATCH);
    if (members.length === 0) continue;
    const multi = redis.multi().zrem(key, ...members);
    for (const member of members) {
      const cut = member.lastIndexOf("|");
      const tenant = member.slice(0, cut);
      const id = member.slice(cut + 1);
      multi.zrem(`${prefix}t:${tenant}`, id).zrem(`${prefix}t:${tenant}:${status}`, id);
    }
    await multi.exec();
  }
}

/** Warns when the jobs Redis may evict keys: BullMQ needs `maxmemory-policy noeviction`. */
export async function warnOnEviction(redis: Redis, logger: JobLogger): Promise<void> {
  try {
    const answer = (await redis.config("GET", "maxmemory-policy")) as string[];
    const policy = answer[1];
    if (policy !== undefined && policy !== "noeviction") {
      logger.warn(
        { maxmemoryPolicy: policy },
        "the jobs Redis may evict keys (maxmemory-policy is not noeviction): jobs can be lost; give jobs a Redis of their own with jobs.redis.url",
      );
    }
  } catch {
    // CONFIG may be disabled (managed Redis): nothing to check then.
  }
}

/**
 * A page of a tenant's jobs, newest first, from its listing index; ids whose record expired are
 * dropped from the index on the way.
 */
export async function listJobs(redis: Redis, prefix: string, query: ListQuery): Promise<JobPage> {
  const index =
    query.status === undefined
      ? `${prefix}t:${query.tenant}`
      : `${prefix}t:${query.tenant}:${query.status}`;
  const max = query.after === undefined ? "+inf" : `(${decodeCursor(query.after)}`;
  const entries = await redis.zrevrangebyscore(
    index,
    max,
    "-inf",
    "WITHSCORES",
    "LIMIT",
    0,
    query.limit + 1,
  );
  const ids: string[] = [];
  const scores: number[] = [];
  for (let i = 0; i + 1 < entries.length; i += 2) {
    ids.push(entries[i] ?? "");
    scores.push(Number(entries[i + 1]));
  }
  const shown = ids.slice(0, query.limit);
  const docs = shown.length === 0 ? [] : await redis.mget(shown.map((id) => `${prefix}job:${id}`));
  const data: JobRecord[] = [];
  const gone: string[] = [];
  docs.forEach((doc, i) => {
    if (doc === null) gone.push(shown[i] ?? "");
    else data.push(JSON.parse(doc) as JobRecord);
  });
  if (gone.length > 0) await redis.zrem(index, ...gone);
  const last = scores[shown.length - 1];
  const next = ids.length > query.limit && last !== undefined ? encodeCursor(last) : null;
  return { data, next };
}

/** A state change's answer: moved, or not (with the record as it is, if there is one). */
export type Moved = { ok: true } | { ok: false; job: JobRecord | undefined };

/** Job records, their listing indexes and Idempotency-Keys under `{prefix}jobs:`. */
export class RedisJobRecords {
  /** The key prefix of every job key (`{keyPrefix}jobs:`). */
  readonly prefix: string;
  readonly #redis: Redis & Transitioner;
  readonly #ttlMs: number;

  constructor(url: string, keyPrefix: string, ttlMs: number) {
    this.prefix = `${keyPrefix}jobs:`;
    this.#ttlMs = ttlMs;
    // Fails fast while Redis is down: a submit or a poll answers 503 instead of hanging.
    const redis = new Redis(url, { maxRetriesPerRequest: 1 }) as Redis & Transitioner;
    redis.defineCommand("transition", { numberOfKeys: 1, lua: TRANSITION });
    redis.on("error", () => undefined);
    this.#redis = redis;
  }

  /** Checks the connection, then warns when the jobs Redis may evict keys. */
  async open(logger: JobLogger): Promise<void> {
    await this.#redis.ping();
    await warnOnEviction(this.#redis, logger);
  }

  /**
   * Takes the tenant's Idempotency-Key for `job`, unless it names a live job: then that job.
   * A key whose job expired becomes this submit's.
   */
  async claimIdempotencyKey(job: JobRecord, key: string): Promise<JobRecord | undefined> {
    const r = this.#redis;
    const idemKey = `${this.prefix}idem:${job.tenant}:${key}`;
    for (let attempt = 0; attempt < 3; attempt++) {
      const set = await r.set(idemKey, job.id, "PX", this.#ttlMs, "NX");
      if (set === "OK") return undefined;
      const existing = await r.get(idemKey);
      const found = existing === null ? undefined : await this.load(existing, job.tenant);
      if (found !== undefined) return found;
      await r.del(idemKey);
    }
    return undefined;
  }

  /** Stores a new queued job and lists it; throws OverloadedError past `maxQueued`. */
  async insert(job: JobRecord, maxQueued: number): Promise<void> {
    const r = this.#redis;
    const p = this.prefix;
    if ((await r.zcard(`${p}g:queued`)) >= maxQueued) throw queueFullError(maxQueued);
    const seq = await r.incr(`${p}seq`);
    await r
      .multi()
      .set(this.#key(job.id), JSON.stringify(job))
      .zadd(`${p}t:${job.tenant}`, seq, job.id)
      .zadd(`${p}t:${job.tenant}:queued`, seq, job.id)
      .zadd(`${p}g:queued`, job.createdAt, `${job.tenant}|${job.id}`)
      .exec();
  }

  /** Drops a record whose queue entry could not be made. */
  async remove(id: string): Promise<void> {
    await this.#redis.del(this.#key(id));
  }

  /** The record; with `tenant`, only when it is that tenant's. */
  async load(id: string, tenant?: string): Promise<JobRecord | undefined> {
    const text = await this.#redis.get(this.#key(id));
    if (text === null) return undefined;
    const job = JSON.parse(text) as JobRecord;
    return tenant === undefined || job.tenant === tenant ? job : undefined;
  }

  list(query: ListQuery): Promise<JobPage> {
    return listJobs(this.#redis, this.prefix, query);
  }

  /** Stores `job` if the current record's status is one of `allowed`, moving its indexes. */
  async transition(job: JobRecord, allowed: JobStatus[]): Promise<Moved> {
    const final = isFinal(job.status);
    const answer = await this.#redis.transition(
      this.#key(job.id),
      allowed.join(","),
      JSON.stringify(job),
      job.status,
      this.prefix,
      final ? this.#ttlMs : 0,
      final ? job.expiresAt : job.createdAt,
    );
    if (answer === null) return { ok: false, job: undefined };
    if (answer[0] === 1) return { ok: true };
    return { ok: false, job: JSON.parse(answer[1]) as JobRecord };
  }

  /** Jobs per status, every replica's. */
  async counts(): Promise<Record<JobStatus, number>> {
    await this.expire();
    const multi = this.#redis.multi();
    for (const status of JOB_STATUSES) multi.zcard(`${this.prefix}g:${status}`);
    const results = (await multi.exec()) ?? [];
    const out = {} as Record<JobStatus, number>;
    JOB_STATUSES.forEach((status, i) => {
      out[status] = Number(results[i]?.[1] ?? 0);
    });
    return out;
  }

  /** Drops expired finished jobs from the indexes. */
  expire(): Promise<void> {
    return expireFinished(this.#redis, this.prefix);
  }

  /** Tells every replica (the one running it) that the job was cancelled. */
  async publishCancel(id: string): Promise<void> {
    await this.#redis.publish(`${this.prefix}cancel`, id);
  }

  disconnect(): void {
    this.#redis.disconnect();
  }

  #key(id: string): string {
    return `${this.prefix}job:${id}`;
  }
}
