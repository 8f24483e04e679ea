import { describe, expect, it } from "vitest";
import { effectivePolicy } from "./effective.js";
import { parseConfigText } from "./load.js";

function load(text: string) {
  const result = parseConfigText(text);
  if (!result.ok) throw new Error(result.errors.join("\n"));
  return result.config;
}

const base = `
backends: { local: { type: onnx, modelDir: /tmp } }
`;

describe("effectivePolicy", () => {
  it("is off when neither defaults nor the model has the block", () => {
    const config = load(`${base}models: { m: { versions: { "1": { backend: local } } } }`);
    expect(effectivePolicy(config, config.models.m!, "batching")).toBeUndefined();
  });

  it("merges the model's keys over defaults' keys over the built-in values", () => {
    const config = load(`${base}
defaults:
  batching: { maxQueue: 512 }
  retry: { attempts: 3 }
models:
  m:
    versions: { "1": { backend: local } }
    batching: { maxBatchSize: 64 }
  n:
    versions: { "1": { backend: local } }
    breaker: { volumeThreshold: 5 }
`);
    expect(effectivePolicy(config, config.models.m!, "batching")).toEqual({
      maxBatchSize: 64,
      maxDelayMs: 2,
      maxQueue: 512,
    });
    expect(effectivePolicy(config, config.models.m!, "retry")).toEqual({
      attempts: 3,
      backoffMs: 25,
      budgetPercent: 20,
      minRetriesPerSecond: 10,
    });
    expect(effectivePolicy(config, config.models.n!, "breaker")).toEqual({
      errorThresholdPercentage: 50,
      volumeThreshold: 5,
      rollingWindowMs: 10_000,
      resetTimeoutMs: 5_000,
    });
  });

  it("still rejects unknown and wrong keys in a policy block", () => {
    const result = parseConfigText(
      `${base}models: { m: { versions: { "1": { backend: local } }, batching: { maxBatch: 4, maxDelayMs: -1 } } }`,
    );
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors).toEqual(
        expect.arrayContaining([
          "models.m.batching.maxBatch: unknown key",
          "models.m.batching.maxDelayMs: must be >= 0",
        ]),
      );
    }
  });
});
