/**
 * What both job stores do the same way around a state change: the record a finished job gets,
 * the refusal past `maxQueued`, zeroed counts, and stopping the runs still going at close. The
 * stores differ only in how they make a change durable (a SQLite transaction, a Lua script).
 */
import { OverloadedError } from "../errors.js";
import { JOB_STATUSES, type JobOutcome, type JobRecord, type JobStatus } from "./types.js";

/** The statuses a job ends in. */
export type FinalStatus = "succeeded" | "failed" | "cancelled";

/**
 * `job` moved to `status` at `now`, kept for `ttlMs`; a run's `outcome` adds the version that
 * answered and its result or error (a cancel has none).
 */
export function finishedRecord(
  job: JobRecord,
  status: FinalStatus,
  now: number,
  ttlMs: number,
  outcome?: JobOutcome,
): JobRecord {
  const done: JobRecord = { ...job, status, finishedAt: now, expiresAt: now + ttlMs };
  if (outcome?.version !== undefined) done.version = outcome.version;
  if (outcome?.kind === "succeeded" && status === "succeeded") done.result = outcome.result;
  if (outcome?.kind === "failed" && status === "failed") done.error = outcome.error;
  return done;
}

/** The refusal of a submit while `maxQueued` jobs wait (clients retry after 5 s). */
export function queueFullError(maxQueued: number): OverloadedError {
  return new OverloadedError(`${maxQueued} async jobs are queued; try again later`, 5);
}

/** Every status at zero, for a count to fill in. */
export function zeroCounts(): Record<JobStatus, number> {
  return Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
}

/**
 * Lets the runs behind `pending` finish for up to `graceMs`, then aborts those still `running`
 * (they run again after a restart, or on another replica) and waits for them to end.
 */
export async function stopRuns(
  pending: Promise<unknown>,
  graceMs: number,
  running: Iterable<AbortController>,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise((resolve) => {
    timer = setTimeout(resolve, graceMs);
  });
  await Promise.race([pending, grace]);
  clearTimeout(timer);
  for (const controller of running) controller.abort(new Error("gateway stopping"));
  await pending;
}
