/**
 * What clients see of a batch (docs/batch.md "The batch object").
 */
import type { BatchLocation } from "../io/open.js";
import { asTenantNamed, locationAsNamed } from "./tenant-files.js";
import type { BatchRecord } from "./types.js";

function locationView(location: BatchLocation): unknown {
  // A Postgres URL may carry a password: clients see the host and database only.
  if (!("postgres" in location)) return location;
  const { url, ...rest } = location.postgres;
  let where = "postgres";
  try {
    const parsed = new URL(url);
    where = `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    // Checked at submit; an unparsable one is shown without its URL.
  }
  return { postgres: { url: where, ...rest } };
}

/** The batch object. */
export function batchView(batch: BatchRecord): Record<string, unknown> {
  const { counts } = batch;
  const rate = batch.recordsPerSecond ?? 0;
  const left = counts.total === null ? null : Math.max(0, counts.total - counts.done);
  const view: Record<string, unknown> = {
    id: batch.id,
    status: batch.status,
    model: batch.spec.model,
    version: batch.version ?? batch.spec.version ?? null,
    counts: { total: counts.total, done: counts.done, failed: counts.failed },
    recordsPerSecond: Math.round(rate * 10) / 10,
    etaSeconds: left === null || rate <= 0 ? null : Math.ceil(left / rate),
    createdAt: new Date(batch.createdAt).toISOString(),
  };
  if (batch.startedAt !== undefined) view.startedAt = new Date(batch.startedAt).toISOString();
  if (batch.finishedAt !== undefined) view.finishedAt = new Date(batch.finishedAt).toISOString();
  // Paths as the tenant named them (stored inside its file space, see tenant-files.ts).
  view.input = locationView(locationAsNamed(batch.tenant, batch.spec.input));
  view.output = locationView(locationAsNamed(batch.tenant, batch.spec.output));
  view.errors = { path: asTenantNamed(batch.tenant, batch.errorsPath) };
  if (batch.error !== undefined) view.error = batch.error;
  return view;
}
