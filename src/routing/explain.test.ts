import { describe, expect, it } from "vitest";
import { parseConfigText } from "../config/load.js";
import type { GatewayConfig } from "../config/schema.js";
import { explainRoute } from "./explain.js";

function config(): GatewayConfig {
  const result = parseConfigText(`
backends:
  tfs: { type: tfserving, url: "http://tfs:8501" }
  local: { type: onnx, modelDir: /models }
models:
  fraud:
    versions:
      "1": { backend: tfs, model: fraud_tf, version: "3" }
      "2": { backend: local, model: fraud_onnx }
    labels: { stable: "1", canary: "2" }
    default: "1"
    traffic:
      - { version: "1", weight: 90 }
      - { version: "2", weight: 10 }
    sticky: { header: x-user-id }
  plain:
    versions:
      "1": { backend: local }
`);
  if (!result.ok) throw new Error(result.errors.join("\n"));
  return result.config;
}

describe("explainRoute", () => {
  it("names the label the x-infergate-version header picked", () => {
    expect(
      explainRoute(config(), { model: "fraud", headers: { "X-Infergate-Version": "canary" } })
        .lines,
    ).toEqual([
      "model fraud",
      "x-infergate-version header names label canary -> version 2",
      "version 2 -> target local/fraud_onnx/latest",
    ]);
  });

  it("names an explicit version and lets it win over the header", () => {
    expect(
      explainRoute(config(), {
        model: "fraud",
        version: "1",
        headers: { "x-infergate-version": "2" },
      }).lines,
    ).toEqual(["model fraud", "requested version 1", "version 1 -> target tfs/fraud_tf/3"]);
  });

  it("explains a sticky pick by rendezvous hashing, the same one every run", () => {
    const first = explainRoute(config(), { model: "fraud", headers: { "x-user-id": "alice" } });
    expect(first.decision.kind).toBe("sticky");
    const v = first.decision.version;
    expect(first.lines[1]).toBe(
      `sticky header x-user-id=alice -> version ${v} by rendezvous hashing over 90/10 (versions 1/2)`,
    );
    expect(first.lines[2]).toBe(
      v === "1"
        ? "version 1 -> target tfs/fraud_tf/3"
        : "version 2 -> target local/fraud_onnx/latest",
    );
    expect(
      explainRoute(config(), { model: "fraud", headers: { "x-user-id": "alice" } }).lines,
    ).toEqual(first.lines);
  });

  it("lists every version of a weighted random split with its share", () => {
    expect(explainRoute(config(), { model: "fraud" }).lines).toEqual([
      "model fraud",
      "weighted random over 90/10 (versions 1/2) (no sticky header x-user-id on the request)",
      "version 1 (90%) -> target tfs/fraud_tf/3",
      "version 2 (10%) -> target local/fraud_onnx/latest",
    ]);
  });

  it("falls back to the default without a split", () => {
    expect(explainRoute(config(), { model: "plain" }).lines).toEqual([
      "model plain",
      "default -> version 1 (no traffic split)",
      "version 1 -> target local/plain/latest",
    ]);
  });

  it("throws MODEL_NOT_FOUND and VERSION_NOT_FOUND like the gateway", () => {
    expect(() => explainRoute(config(), { model: "nope" })).toThrow(
      expect.objectContaining({ code: "MODEL_NOT_FOUND" }),
    );
    expect(() => explainRoute(config(), { model: "fraud", version: "beta" })).toThrow(
      expect.objectContaining({ code: "VERSION_NOT_FOUND" }),
    );
  });
});
