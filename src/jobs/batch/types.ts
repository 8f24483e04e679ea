/**
 * A batch as the runner, the store and the API share it (docs/batch.md).
 */
import type { BatchLocation, OutputCheckpoints } from "../io/open.js";
import type { IoFormat, RecordError } from "../io/types.js";

/** Every status a batch goes through. */
export const BATCH_STATUSES = [
  "validating",
  "queued",
  "running",
  "finalizing",
  "succeeded",
  "failed",
  "cancelling",
  "cancelled",
] as const;

/** A batch's status. */
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/** True for a status a batch never leaves. */
export function isFinal(status: BatchStatus): boolean {
  return status === "succeeded" || status === "failed" || status === "cancelled";
}

/** What a batch runs: the request, checked. */
export interface BatchSpec {
  readonly model: string;
  readonly version?: string;
  readonly input: BatchLocation;
  readonly output: BatchLocation;
  readonly format?: IoFormat;
  readonly idField?: string;
  readonly columns?: Readonly<Record<string, readonly string[]>> | readonly string[];
  readonly maxErrors?: number;
  readonly webhook?: { readonly url: string };
}

/** Record counts: `done` counts finished records, failed ones included. */
export interface BatchCounts {
  total: number | null;
  done: number;
  failed: number;
}

/** A batch as stored. */
export interface BatchRecord {
  id: string;
  tenant: string;
  status: BatchStatus;
  spec: BatchSpec;
  /** The version that answered, once known. */
  version?: string;
  counts: BatchCounts;
  /** The last durable position of the output and errors sinks. */
  checkpoints?: OutputCheckpoints;
  /** Where the errors file is, relative to the data dir. */
  errorsPath: string;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  error?: RecordError;
  /** How many shards the batch runs as (Redis only). */
  shards?: number;
  /** Records per second over the current run, for the ETA. */
  recordsPerSecond?: number;
}

/** A page of batches, newest first. */
export interface BatchPage {
  readonly data: BatchRecord[];
  readonly next: string | null;
}

/** What the API and the scheduler need of a batch runner (in process, or shards on Redis). */
export interface Batches {
  /** The jobs config in force. */
  readonly config: import("../config.js").JobsConfig;
  /** The data directory batch paths are relative to. */
  readonly dataDir: string;
  create(spec: BatchSpec, tenant: string): BatchRecord | Promise<BatchRecord>;
  /** JOB_NOT_FOUND when unknown or another tenant's. */
  get(id: string, tenant: string): BatchRecord | Promise<BatchRecord>;
  list(tenant: string, limit: number, after?: string): BatchPage | Promise<BatchPage>;
  cancel(id: string, tenant: string): BatchRecord | Promise<BatchRecord>;
  /** Counts by status (metrics). */
  counts(): Partial<Record<string, number>> | Promise<Partial<Record<string, number>>>;
  /** Stops running work at its last checkpoint. */
  close(): Promise<void>;
}
