import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendUnavailableError } from "../../errors.js";
import { findModelFiles } from "./repository.js";

describe("findModelFiles", () => {
  let dir = "";
  const touch = (...parts: string[]): void => {
    mkdirSync(join(dir, ...parts.slice(0, -1)), { recursive: true });
    writeFileSync(join(dir, ...parts), "");
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "infergate-repo-"));
    touch("b", "10", "model.onnx");
    touch("b", "2", "model.onnx");
    touch("b", "9", "model.onnx");
    touch("b", "latest", "model.onnx"); // not a number: not a version
    touch("b", "3", "weights.bin"); // no model.onnx: not loadable
    touch("a", "1", "model.onnx");
    touch(".cache", "1", "model.onnx"); // hidden
    touch("README.md"); // a file beside the models
    mkdirSync(join(dir, "empty"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("lists every <model>/<version>/model.onnx, models by name, versions numerically", async () => {
    const files = await findModelFiles(dir);
    expect(files).toEqual([
      { model: "a", version: "1", path: join(dir, "a", "1", "model.onnx") },
      { model: "b", version: "2", path: join(dir, "b", "2", "model.onnx") },
      { model: "b", version: "9", path: join(dir, "b", "9", "model.onnx") },
      { model: "b", version: "10", path: join(dir, "b", "10", "model.onnx") },
    ]);
  });

  it("finds the shipped models", async () => {
    const files = await findModelFiles(join(import.meta.dirname, "..", "..", "..", "models"));
    const found = files.map((f) => `${f.model}/${f.version}`);
    expect(found).toEqual([...found].sort());
    expect(found).toEqual(
      expect.arrayContaining(["iris/1", "mlp/1", "ops/1", "echo_fp32/1", "echo_bytes/1"]),
    );
    expect(found).toHaveLength(21);
  });

  it("names a missing modelDir in a BACKEND_UNAVAILABLE error", async () => {
    const missing = join(dir, "nowhere");
    const err = await findModelFiles(missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).message).toContain(missing);
  });
});
