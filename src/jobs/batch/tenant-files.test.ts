import { describe, expect, it } from "vitest";
import { errorsPath } from "../io/jsonl-sink.js";
import type { PostgresLocation } from "../io/open.js";
import { checkRelativePath } from "../io/paths.js";
import {
  asTenantNamed,
  batchErrorsPath,
  inTenantSpace,
  locationAsNamed,
  specInTenantSpace,
  tenantPrefix,
} from "./tenant-files.js";
import type { BatchSpec } from "./types.js";

describe("tenant file spaces", () => {
  it("uses names as given without auth", () => {
    expect(tenantPrefix("")).toBe("");
    expect(inTenantSpace("", "in.jsonl")).toBe("in.jsonl");
  });

  it("keeps any tenant id inside one folder of tenants/", () => {
    for (const tenant of ["..", "a/b", "../../etc", "team a", "é"]) {
      const stored = inTenantSpace(tenant, "in.jsonl");
      expect(() => checkRelativePath(stored)).not.toThrow();
      expect(stored.split("/")).toHaveLength(3);
      expect(stored.startsWith("tenants/")).toBe(true);
      expect(asTenantNamed(tenant, stored)).toBe("in.jsonl");
    }
    expect(tenantPrefix("team-a")).not.toBe(tenantPrefix("team-b"));
  });

  it("maps a spec's file paths in and its view's out, and leaves Postgres locations alone", () => {
    const postgres: PostgresLocation = { postgres: { url: "postgres://db/x", table: "t" } };
    const spec: BatchSpec = { model: "iris", input: { path: "in.jsonl" }, output: postgres };
    const stored = specInTenantSpace(spec, "team-a");
    expect(stored.input).toEqual({ path: inTenantSpace("team-a", "in.jsonl") });
    expect(stored.output).toBe(postgres);
    expect(locationAsNamed("team-a", stored.input)).toEqual({ path: "in.jsonl" });
    expect(specInTenantSpace(spec, "")).toBe(spec);
  });

  it("puts a Postgres batch's errors file in the tenant's space, a file batch's beside its output", () => {
    const postgres: PostgresLocation = { postgres: { url: "postgres://db/x", table: "t" } };
    expect(batchErrorsPath(postgres, "batch_1", "team-a")).toBe(
      inTenantSpace("team-a", "batches/batch_1.errors.jsonl"),
    );
    expect(batchErrorsPath(postgres, "batch_1", "")).toBe("batches/batch_1.errors.jsonl");
    const output = inTenantSpace("team-a", "out.jsonl");
    expect(batchErrorsPath({ path: output }, "b", "team-a")).toBe(errorsPath(output));
  });
});
