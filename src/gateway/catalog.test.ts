import { describe, expect, it } from "vitest";
import { ScriptedAdapter } from "../../test/support/scripted-adapter.js";
import type { ModelMetadata } from "../backends/types.js";
import { BackendUnavailableError } from "../errors.js";
import { METADATA_RETRY_MS, MetadataCatalog } from "./catalog.js";

const IRIS: ModelMetadata = {
  name: "iris_onnx",
  versions: ["1"],
  platform: "onnxruntime_onnx",
  inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
  outputs: [{ name: "label", datatype: "INT64", shape: [-1] }],
};
const LOCAL: ModelMetadata = { ...IRIS, platform: "local" };
const VERSION = { model: "iris", version: "2", modelConfig: { versions: { "1": {}, "2": {} } } };
const down = () => new BackendUnavailableError("connection refused");

function catalogOf(primary: ScriptedAdapter, fallback: ScriptedAdapter, clock: { now: number }) {
  const catalog = new MetadataCatalog(
    new Map([
      [primary.name, primary],
      [fallback.name, fallback],
    ]),
    () => clock.now,
  );
  const chain = [
    { target: { backend: primary.name, model: "iris_onnx" } },
    { target: { backend: fallback.name, model: "iris" } },
  ];
  return { catalog, chain };
}

describe("MetadataCatalog", () => {
  it("publishes the primary's tensors under the gateway's name and versions", async () => {
    const primary = new ScriptedAdapter("triton", [IRIS]);
    const { catalog, chain } = catalogOf(primary, new ScriptedAdapter("local", [LOCAL]), {
      now: Date.now(),
    });
    const meta = await catalog.publish(VERSION, chain, Date.now() + 1000);
    expect(meta).toEqual({ ...IRIS, name: "iris", versions: ["1", "2"] });
    // Built once: the same object again, no second fetch.
    expect(await catalog.publish(VERSION, chain, Date.now() + 1000)).toBe(meta);
    expect(primary.metadataCalls).toBe(1);
  });

  it("stands in the first fallback while the primary cannot say, and remembers the failure for a while", async () => {
    const clock = { now: Date.now() };
    const primary = new ScriptedAdapter("triton", [down(), down(), IRIS]);
    const fallback = new ScriptedAdapter("local", [LOCAL]);
    const { catalog, chain } = catalogOf(primary, fallback, clock);
    expect((await catalog.publish(VERSION, chain, Date.now() + 1000)).platform).toBe("local");
    expect(primary.metadataCalls).toBe(1);
    // Within the retry interval the primary is not asked again.
    clock.now += METADATA_RETRY_MS - 1;
    expect((await catalog.publish(VERSION, chain, Date.now() + 1000)).platform).toBe("local");
    expect(primary.metadataCalls).toBe(1);
    clock.now += 2;
    expect((await catalog.publish(VERSION, chain, Date.now() + 1000)).platform).toBe("local");
    expect(primary.metadataCalls).toBe(2);
    // Once it answers, the primary takes over.
    clock.now += METADATA_RETRY_MS + 1;
    expect((await catalog.publish(VERSION, chain, Date.now() + 1000)).platform).toBe(
      "onnxruntime_onnx",
    );
    expect(fallback.metadataCalls).toBe(1);
  });

  it("skips a primary whose breaker is open without asking it", async () => {
    const primary = new ScriptedAdapter("triton", [IRIS]);
    const { catalog, chain } = catalogOf(primary, new ScriptedAdapter("local", [LOCAL]), {
      now: Date.now(),
    });
    const open = [{ ...chain[0], breaker: { state: "open" } }, chain[1]] as typeof chain;
    expect((await catalog.publish(VERSION, open, Date.now() + 1000)).platform).toBe("local");
    expect(primary.metadataCalls).toBe(0);
  });

  it("gives a hanging primary half the time left, so the fallback still answers in time", async () => {
    const primary = new ScriptedAdapter("triton", ["hang"]);
    const { catalog, chain } = catalogOf(primary, new ScriptedAdapter("local", [LOCAL]), {
      now: Date.now(),
    });
    const due = Date.now() + 200;
    const meta = await catalog.publish(VERSION, chain, due);
    expect(meta.platform).toBe("local");
    expect(Date.now()).toBeLessThan(due);
  });

  it("throws the last target's error when no target can say, and BACKEND_TIMEOUT past the deadline", async () => {
    const { catalog, chain } = catalogOf(
      new ScriptedAdapter("triton", [down()]),
      new ScriptedAdapter("local", [down()]),
      { now: Date.now() },
    );
    await expect(catalog.publish(VERSION, chain, Date.now() + 1000)).rejects.toMatchObject({
      code: "BACKEND_UNAVAILABLE",
    });
    const late = catalogOf(
      new ScriptedAdapter("triton", ["hang"]),
      new ScriptedAdapter("local", ["hang"]),
      { now: Date.now() },
    );
    await expect(late.catalog.publish(VERSION, late.chain, Date.now() + 50)).rejects.toMatchObject({
      code: "BACKEND_TIMEOUT",
    });
  });

  it("shares one fetch between concurrent callers", async () => {
    const primary = new ScriptedAdapter("triton", [IRIS]);
    const { catalog } = catalogOf(primary, new ScriptedAdapter("local", [LOCAL]), {
      now: Date.now(),
    });
    const target = { backend: "triton", model: "iris_onnx" };
    const [a, b] = await Promise.all([
      catalog.target(target, Date.now() + 1000),
      catalog.target(target, Date.now() + 1000),
    ]);
    expect(a).toBe(b);
    expect(primary.metadataCalls).toBe(1);
  });
});
