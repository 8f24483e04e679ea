/**
 * The Redis job store's record keeping beside BullMQ (docs/async.md "Several replicas on Redis"):
 * the one Lua script every state change goes through, listing and the expiry sweep of the
 * listing indexes, and the start-up check that the jobs Redis does not evict.
 */
import type { Redis } from "ioredis";
import { decodeCursor, encodeCursor } from "./cursor.js";
import type { JobLogger } from "./engine.js";
import type { JobPage, JobRecord, ListQuery } from "./types.js";

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

export interface Transitioner {
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
