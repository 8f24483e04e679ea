import { describe, expect, it } from "vitest";
import { z } from "zod";
import { describeType, formatIssues, formatPath } from "./format.js";
import { configSchema } from "./schema.js";

function linesFor(schema: z.ZodType, input: unknown): string[] {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) throw new Error("expected the input to be rejected");
  return formatIssues(result.error.issues);
}

const minimal = {
  backends: { local: { type: "onnx", modelDir: "./m" } },
  models: { m: { versions: { "1": { backend: "local" } } } },
};

describe("formatPath", () => {
  it("uses dots for keys and brackets for indices", () => {
    expect(formatPath(["models", "fraud", "traffic", 1, "version"])).toBe(
      "models.fraud.traffic[1].version",
    );
  });

  it("quotes keys that would be ambiguous with dots", () => {
    expect(formatPath(["models", "a.b", "default"])).toBe('models["a.b"].default');
    expect(formatPath(["labels", ""])).toBe('labels[""]');
  });

  it("names the document itself (root)", () => {
    expect(formatPath([])).toBe("(root)");
  });
});

describe("describeType", () => {
  it("distinguishes null and arrays from objects", () => {
    expect([null, [], {}, 1, "s", true].map(describeType)).toEqual([
      "null",
      "array",
      "object",
      "number",
      "string",
      "boolean",
    ]);
  });
});

describe("formatIssues", () => {
  it("reports a type error with what was received", () => {
    expect(linesFor(configSchema, { ...minimal, server: { port: "80" } })).toEqual([
      "server.port: expected number, received string",
    ]);
  });

  it("names each unknown key in its path", () => {
    const doc = { ...minimal, server: { colour: 1, flavour: 2 } };
    expect(linesFor(configSchema, doc)).toEqual([
      "server.colour: unknown key",
      "server.flavour: unknown key",
    ]);
  });

  it("lists the backend types for a bad or missing discriminator", () => {
    const bad = { ...minimal, backends: { x: { type: "tensorrt" }, y: {} } };
    expect(linesFor(configSchema, bad)).toEqual([
      "backends.x.type: expected one of tfserving|torchserve|triton|onnx",
      "backends.y.type: expected one of tfserving|torchserve|triton|onnx",
    ]);
  });

  it("says a missing key is required", () => {
    expect(linesFor(configSchema, { backends: {} })).toEqual(["models: required"]);
  });

  it("reports a version id of the wrong type by listing what is accepted", () => {
    const doc = { ...minimal, models: { m: { ...minimal.models.m, default: 1.5 } } };
    expect(linesFor(configSchema, doc)).toEqual([
      "models.m.default: expected string or integer, received number",
    ]);
  });

  it("reports a version id through the branch whose type matched", () => {
    const doc = { ...minimal, models: { m: { ...minimal.models.m, default: -1 } } };
    expect(linesFor(configSchema, doc)).toEqual(["models.m.default: must be >= 0"]);
  });

  it("reports bounds, enums, URLs and custom messages readably", () => {
    const doc = {
      server: { port: 70000, bodyLimitBytes: 0 },
      backends: {
        t: { type: "triton", url: "ftp://x", grpc: "no port", protocol: "http" },
      },
      models: { m: { versions: {}, sticky: { header: "" } } },
    };
    expect(linesFor(configSchema, doc).sort()).toEqual(
      [
        "server.port: must be <= 65535",
        "server.bodyLimitBytes: must be > 0",
        "backends.t.url: expected an http:// or https:// URL",
        "backends.t.grpc: expected host:port",
        "backends.t.protocol: expected one of rest|grpc",
        "models.m.versions: a model needs at least one version",
        "models.m.sticky.header: must not be empty",
      ].sort(),
    );
  });

  it("reports an array that is too short", () => {
    const doc = { ...minimal, models: { m: { ...minimal.models.m, traffic: [] } } };
    expect(linesFor(configSchema, doc)).toEqual(["models.m.traffic: must not be empty"]);
  });

  it("omits the received type when the input was not reported", () => {
    const result = z.object({ n: z.number() }).safeParse({ n: "x" });
    expect(result.success).toBe(false);
    if (!result.success) expect(formatIssues(result.error.issues)).toEqual(["n: expected number"]);
  });
});

describe("unknown keys with the schema", () => {
  const suggest = (input: unknown): string[] => {
    const result = configSchema.safeParse(input, { reportInput: true });
    if (result.success) throw new Error("expected the input to be rejected");
    return formatIssues(result.error.issues, configSchema);
  };

  it("suggests the closest known key of the object the typo is in", () => {
    expect(suggest({ ...minimal, server: { prot: 8080 } })).toEqual([
      'server.prot: unknown key (did you mean "port"?)',
    ]);
    expect(suggest({ ...minimal, defualts: {} })).toEqual([
      'defualts: unknown key (did you mean "defaults"?)',
    ]);
  });

  it("takes a backend's keys from its type, and keys below a record and an array", () => {
    const input = {
      backends: {
        local: { type: "onnx", modelDir: "./m", worker: 2 },
        t: { type: "triton", grpc: "t:1", outlierDetection: { consecutiveFailure: 3 } },
      },
      models: {
        m: {
          versions: { "1": { backend: "local", verison: "1" } },
          fallback: [{ backend: "local", modle: "x" }],
        },
      },
    };
    expect(suggest(input).sort()).toEqual(
      [
        'backends.local.worker: unknown key (did you mean "workers"?)',
        'backends.t.outlierDetection.consecutiveFailure: unknown key (did you mean "consecutiveFailures"?)',
        'models.m.versions.1.verison: unknown key (did you mean "version"?)',
        'models.m.fallback[0].modle: unknown key (did you mean "model"?)',
      ].sort(),
    );
  });

  it("suggests nothing for a key far from every known one, or next to the key it resembles", () => {
    expect(suggest({ ...minimal, server: { colour: "red" } })).toEqual([
      "server.colour: unknown key",
    ]);
    expect(suggest({ ...minimal, server: { port: 1, prot: 2 } })).toEqual([
      "server.prot: unknown key",
    ]);
    expect(suggest({ ...minimal, server: { hos: "x" } })).toEqual([
      'server.hos: unknown key (did you mean "host"?)',
    ]);
  });
});
