import { describe, expect, it } from "vitest";
import { checkReferences, effectiveProtocol } from "./references.js";

const backends = {
  tfs: { type: "tfserving", url: "http://tfs:8501" },
  triton: { type: "triton", grpc: "triton:8001" },
};

function withModel(model: Record<string, unknown>): unknown {
  return { backends, models: { fraud: { versions: { "1": { backend: "tfs" } }, ...model } } };
}

describe("checkReferences", () => {
  it("accepts a config whose references all resolve", () => {
    const doc = withModel({
      versions: { "1": { backend: "tfs" }, "2": { backend: "triton" } },
      labels: { stable: "1", canary: 2 },
      default: 1,
      traffic: [
        { version: "1", weight: 0 },
        { version: 2, weight: 10 },
      ],
      fallback: [{ backend: "triton" }],
    });
    expect(checkReferences(doc)).toEqual([]);
  });

  it("reports traffic, labels and default naming missing versions", () => {
    const doc = withModel({
      labels: { canary: "9" },
      default: "7",
      traffic: [
        { version: "1", weight: 90 },
        { version: "3", weight: 10 },
      ],
    });
    expect(checkReferences(doc)).toEqual([
      'models.fraud.labels.canary: unknown version "9"',
      'models.fraud.default: unknown version "7"',
      'models.fraud.traffic[1].version: unknown version "3"',
    ]);
  });

  it("reports versions and fallbacks naming missing backends", () => {
    const doc = withModel({
      versions: { "1": { backend: "tfs" }, "2": { backend: "trtion" } },
      fallback: [{ backend: "tfs" }, { backend: "local" }],
    });
    expect(checkReferences(doc)).toEqual([
      'models.fraud.versions.2.backend: unknown backend "trtion"',
      'models.fraud.fallback[1].backend: unknown backend "local"',
    ]);
  });

  it("does not let a backend name match an inherited property", () => {
    const doc = withModel({ versions: { "1": { backend: "toString" } } });
    expect(checkReferences(doc)).toEqual([
      'models.fraud.versions.1.backend: unknown backend "toString"',
    ]);
  });

  it("rejects a label that shadows a version id", () => {
    const doc = withModel({
      versions: { "1": { backend: "tfs" }, "2": { backend: "tfs" } },
      labels: { "2": "1" },
    });
    expect(checkReferences(doc)).toEqual([
      'models.fraud.labels.2: label "2" shadows a version of that id',
    ]);
  });

  it("rejects traffic whose weights are all 0", () => {
    const doc = withModel({ traffic: [{ version: "1", weight: 0 }] });
    expect(checkReferences(doc)).toEqual([
      "models.fraud.traffic: all weights are 0; at least one must be positive",
    ]);
  });

  it("rejects a version listed twice in traffic, even spelled as a number", () => {
    const doc = withModel({
      traffic: [
        { version: "1", weight: 50 },
        { version: 1, weight: 50 },
      ],
    });
    expect(checkReferences(doc)).toEqual([
      'models.fraud.traffic[1].version: version "1" already appears in traffic[0]',
    ]);
  });

  it("checks that remote backends have the address their protocol needs", () => {
    const doc = {
      backends: {
        none: { type: "torchserve" },
        restNoUrl: { type: "tfserving", grpc: "tfs:8500", protocol: "rest" },
        grpcNoGrpc: { type: "triton", url: "http://triton:8000", protocol: "grpc" },
        fine: { type: "triton", url: "http://triton:8000", protocol: "rest" },
        local: { type: "onnx", modelDir: "./m" },
      },
      models: {},
    };
    expect(checkReferences(doc)).toEqual([
      "backends.none: a torchserve backend needs url or grpc",
      "backends.restNoUrl.url: required when protocol is rest",
      "backends.grpcNoGrpc.grpc: required when protocol is grpc",
    ]);
  });

  it("skips what the schema rejects instead of guessing", () => {
    const doc = {
      backends: "nope",
      models: {
        a: { versions: [], default: "1", traffic: [{ version: "1", weight: 1 }] },
        b: { versions: { "1": { backend: "x" } }, default: { not: "an id" }, traffic: [null, 7] },
        c: "not a model",
      },
    };
    expect(checkReferences(doc)).toEqual([]);
    expect(checkReferences(null)).toEqual([]);
    expect(checkReferences([])).toEqual([]);
  });
});

describe("effectiveProtocol", () => {
  it("uses an explicit protocol", () => {
    expect(
      effectiveProtocol({ type: "triton", grpc: "t:8001", url: "http://t", protocol: "rest" }),
    ).toBe("rest");
    expect(
      effectiveProtocol({ type: "tfserving", grpc: "t:8500", url: "http://t", protocol: "grpc" }),
    ).toBe("grpc");
  });

  it("defaults tfserving and torchserve to REST when url is set, else gRPC", () => {
    expect(effectiveProtocol({ type: "tfserving", url: "http://t", grpc: "t:8500" })).toBe("rest");
    expect(effectiveProtocol({ type: "torchserve", grpc: "t:7070" })).toBe("grpc");
  });

  it("defaults triton to gRPC when grpc is set, else REST", () => {
    expect(effectiveProtocol({ type: "triton", url: "http://t", grpc: "t:8001" })).toBe("grpc");
    expect(effectiveProtocol({ type: "triton", url: "http://t" })).toBe("rest");
  });
});

describe("torchserve targets", () => {
  it("must declare inputs and outputs, since TorchServe publishes no metadata", () => {
    const errors = checkReferences({
      backends: { ts: { type: "torchserve", url: "http://ts:8080" } },
      models: {
        m: {
          versions: {
            "1": { backend: "ts" },
            "2": {
              backend: "ts",
              inputs: [{ name: "x", datatype: "FP32", shape: [-1] }],
              outputs: [],
            },
          },
          fallback: [{ backend: "ts", inputs: [] }],
        },
      },
    });
    expect(errors).toEqual([
      "models.m.versions.1.inputs: required for a torchserve target (TorchServe publishes no metadata)",
      "models.m.versions.1.outputs: required for a torchserve target (TorchServe publishes no metadata)",
      "models.m.fallback[0].outputs: required for a torchserve target (TorchServe publishes no metadata)",
    ]);
  });
});

describe("shadow and rollout", () => {
  it("name existing versions, and rollout steps ascend to 100", () => {
    const errors = checkReferences({
      backends: { local: { type: "onnx", modelDir: "/m" } },
      models: {
        m: {
          versions: { "1": { backend: "local" }, "2": { backend: "local" } },
          shadow: { version: "3", percent: 10 },
          rollout: { from: "1", to: "1", steps: [5, 50, 25], intervalSeconds: 60 },
        },
      },
    });
    expect(errors).toEqual([
      'models.m.shadow.version: unknown version "3"',
      "models.m.rollout.to: must differ from rollout.from",
      "models.m.rollout.steps: must ascend and end at 100",
    ]);
  });
});
