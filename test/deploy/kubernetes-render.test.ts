/**
 * The test renderer (test/support/kustomize.ts) against the real thing: where `kubectl` (which
 * embeds kustomize) is installed, every overlay must render to exactly the same objects. Where it
 * is not, only the renderer's own checks run.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { type KObject, mergeStrategic, renderKustomization } from "../support/kustomize.js";

const ROOT = join(import.meta.dirname, "../../deploy/kubernetes");
const OVERLAYS = ["staging", "production"];
const hasKubectl = spawnSync("kubectl", ["version", "--client"], { stdio: "ignore" }).status === 0;

const key = (o: KObject) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
const sorted = (objects: KObject[]) => [...objects].sort((a, b) => key(a).localeCompare(key(b)));

describe("the test kustomize renderer", () => {
  it.skipIf(!hasKubectl).each(OVERLAYS)("renders overlays/%s as kubectl kustomize does", (name) => {
    const run = spawnSync("kubectl", ["kustomize", join(ROOT, "overlays", name)], {
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(run.stderr).toBe("");
    const real = parseAllDocuments(run.stdout).map((d) => d.toJS() as KObject);
    expect(sorted(renderKustomization(join(ROOT, "overlays", name)))).toEqual(sorted(real));
  });

  it("merges lists of named items by name, deletes on null and replaces other lists", () => {
    const merged = mergeStrategic(
      { containers: [{ name: "a", x: 1 }, { name: "b" }], args: ["1"], keep: 1, drop: 2 },
      { containers: [{ name: "b", y: 2 }, { name: "c" }], args: ["2"], drop: null },
    );
    expect(merged).toEqual({
      containers: [{ name: "a", x: 1 }, { name: "b", y: 2 }, { name: "c" }],
      args: ["2"],
      keep: 1,
    });
  });

  it("refuses a kustomization feature it does not implement", () => {
    const dir = mkdtempSync(join(tmpdir(), "infergate-kustomize-"));
    try {
      mkdirSync(join(dir, "k"));
      writeFileSync(join(dir, "k", "kustomization.yaml"), "namePrefix: x-\nresources: []\n");
      expect(() => renderKustomization(join(dir, "k"))).toThrow(/namePrefix is not supported/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
