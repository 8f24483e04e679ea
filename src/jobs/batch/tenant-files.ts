/**
 * Per-tenant file spaces under `jobs.dataDir` (docs/access.md "Tenants"). Without auth (tenant "")
 * names are used as given. A tenant's names live under `tenants/<tenant, base64url>/`: its uploads,
 * downloads and its batches' input and output paths all resolve there, so another tenant can
 * neither read nor overwrite them. Clients always see their own names, never the prefix.
 */
import { errorsPath } from "../io/jsonl-sink.js";
import type { BatchLocation } from "../io/open.js";
import type { BatchSpec } from "./types.js";

/** The folder of every tenant's space, under the data dir. */
const TENANTS_DIR = "tenants";

/** `tenant`'s prefix: "" without auth, else `tenants/<base64url>/` (any tenant id is safe there). */
export function tenantPrefix(tenant: string): string {
  return tenant === "" ? "" : `${TENANTS_DIR}/${Buffer.from(tenant).toString("base64url")}/`;
}

/** A client's file name as stored. */
export function inTenantSpace(tenant: string, name: string): string {
  return tenantPrefix(tenant) + name;
}

/** A stored path as the tenant named it. */
export function asTenantNamed(tenant: string, path: string): string {
  const prefix = tenantPrefix(tenant);
  return path.startsWith(prefix) ? path.slice(prefix.length) : path;
}

function mapPath(location: BatchLocation, map: (path: string) => string): BatchLocation {
  return "path" in location ? { ...location, path: map(location.path) } : location;
}

/** `spec` with its file input and output inside the tenant's space. */
export function specInTenantSpace(spec: BatchSpec, tenant: string): BatchSpec {
  if (tenant === "") return spec;
  const map = (path: string) => inTenantSpace(tenant, path);
  return { ...spec, input: mapPath(spec.input, map), output: mapPath(spec.output, map) };
}

/** A stored location as the tenant named it. */
export function locationAsNamed(tenant: string, location: BatchLocation): BatchLocation {
  return mapPath(location, (path) => asTenantNamed(tenant, path));
}

/**
 * Where a batch's failed records go: beside a file output, else `batches/<id>.errors.jsonl` in the
 * tenant's space (a Postgres output has no path to sit beside).
 */
export function batchErrorsPath(output: BatchLocation, id: string, tenant: string): string {
  return "path" in output
    ? errorsPath(output.path)
    : inTenantSpace(tenant, `batches/${id}.errors.jsonl`);
}
