/**
 * The job model shared by both job stores (embedded SQLite and BullMQ on Redis) and the HTTP front:
 * what a job holds, what clients see of it, and the store contract both stores pass
 * (test/jobs/conformance.ts).
 */

/** The states of an async job; the last three are final. */
export type JobStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";

export const JOB_STATUSES: readonly JobStatus[] = [
  "queued",
  "running",
  "succeeded",
  "failed",
  "cancelled",
];

/** True for a status a job never leaves. */
export function isFinal(status: JobStatus): boolean {
  return status === "succeeded" || status === "failed" || status === "cancelled";
}

/** The `{"code","message"}` error object of the unified API. */
export interface JobError {
  code: string;
  message: string;
}

/** A job as stored. Times are ms since epoch. */
export interface JobRecord {
  id: string;
  /** Owner; "" without auth. Other tenants get JOB_NOT_FOUND. */
  tenant: string;
  status: JobStatus;
  model: string;
  /** The version asked for at submit, then the version that answered. */
  version?: string;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** After this a finished job is gone (JOB_NOT_FOUND). */
  expiresAt: number;
  /** The predict request: body text as sent (exact INT64s stay exact) and routing headers. */
  request: { body: string; headers: Record<string, string>; path: PathParams };
  webhook?: { url: string };
  idempotencyKey?: string;
  /** The `/v1/predict` response body, as JSON text. */
  result?: string;
  error?: JobError;
}

/** Model and version from the submit URL path. */
export interface PathParams {
  model?: string;
  version?: string;
}

/** How a run ended, as the runner reports it. */
export type JobOutcome =
  | { kind: "succeeded"; result: string; version: string }
  | { kind: "failed"; error: JobError; version?: string };

/** Runs one job; `signal` aborts when the job is cancelled or the gateway stops. */
export type JobHandler = (job: JobRecord, signal: AbortSignal) => Promise<JobOutcome>;

/** A page of jobs, newest first. */
export interface JobPage {
  data: JobRecord[];
  next: string | null;
}

/** A listing request. */
export interface ListQuery {
  tenant: string;
  status?: JobStatus;
  limit: number;
  after?: string;
}

/** Told of every state change, for metrics, logs and webhooks. */
export type JobListener = (job: JobRecord, from: JobStatus | undefined) => void;

/**
 * A durable job queue: the store of jobs and results plus the machinery that runs them. Both
 * stores implement it; the engine (engine.ts) adds nothing store-specific.
 */
export interface JobStore {
  /** Which store this is, for logs. */
  readonly kind: "sqlite" | "redis";
  /**
   * Stores a new queued job, unless `job.idempotencyKey` names a live job of the same tenant:
   * then that job comes back with `created: false`. Throws OverloadedError past `maxQueued`.
   */
  add(job: JobRecord, maxQueued: number): Promise<{ job: JobRecord; created: boolean }>;
  /** The job, unless unknown, another tenant's or expired. */
  get(id: string, tenant: string): Promise<JobRecord | undefined>;
  list(query: ListQuery): Promise<JobPage>;
  /** Cancels a queued or running job; a finished one is returned unchanged. */
  cancel(id: string, tenant: string): Promise<JobRecord | undefined>;
  /** Starts running jobs with `handler`, at most `concurrency` at once in this process. */
  start(handler: JobHandler, concurrency: number): void;
  /** Jobs this process starts at once from now on (running ones above it finish first). */
  setConcurrency(concurrency: number): void;
  /** Jobs per status (this store's view: all replicas on Redis). */
  counts(): Promise<Record<JobStatus, number>>;
  /**
   * Stops taking jobs, lets running ones finish for up to `graceMs`, then aborts the rest (they
   * run again after a restart, or on another replica).
   */
  close(graceMs: number): Promise<void>;
}
