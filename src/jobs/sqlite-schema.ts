/**
 * The embedded job store's table (docs/async.md "Embedded store"): one row per job, its record as
 * JSON, with the columns the store queries by (tenant listing, status, idempotency key, expiry).
 */
import { isFinal, type JobRecord } from "./types.js";

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  status TEXT NOT NULL,
  idem TEXT,
  expires_at INTEGER NOT NULL,
  doc TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idem ON jobs(tenant, idem) WHERE idem IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, seq);
CREATE INDEX IF NOT EXISTS jobs_tenant ON jobs(tenant, seq);
CREATE INDEX IF NOT EXISTS jobs_expiry ON jobs(expires_at);
`;

/** The `expires_at` column: queued and running jobs never expire, so they stay listed. */
export function expiryColumn(job: JobRecord): number {
  return isFinal(job.status) ? job.expiresAt : Number.MAX_SAFE_INTEGER;
}
