import { afterEach, describe, expect, it } from "vitest";
import { ResponseCache } from "../cache/response-cache.js";
import { parseConfigText } from "../config/load.js";
import type { GatewayConfig } from "../config/schema.js";
import { createMetrics } from "../metrics/registry.js";
import { POLICIES } from "./policies/index.js";
import { closeState, TargetRegistry, type TargetState } from "./targets.js";

function config(fraudPolicies: string, plainPolicies = ""): GatewayConfig {
  const result = parseConfigText(`
backends:
  tfs: { type: tfserving, url: "http://127.0.0.1:8501" }
models:
  fraud:
    versions:
      "1": { backend: tfs }
    fallback:
      - { backend: tfs, model: fraud_backup }
${fraudPolicies}
  plain:
    versions:
      "1": { backend: tfs }
${plainPolicies}
`);
  if (!result.ok) throw new Error(result.errors.join("\n"));
  return result.config;
}

const BREAKER = `    breaker: { errorThresholdPercentage: 50, volumeThreshold: 20, rollingWindowMs: 10000, resetTimeoutMs: 5000 }`;
const SLOWER_BREAKER = `    breaker: { errorThresholdPercentage: 50, volumeThreshold: 20, rollingWindowMs: 10000, resetTimeoutMs: 9000 }`;
const CACHE = `    cache: { ttlSeconds: 30 }`;

const cache = { instance: new ResponseCache({ maxBytes: 1 << 20 }), generation: 1 };
let registry: TargetRegistry;
let live: TargetState[] = [];

function sync(c: GatewayConfig, generation = cache): ReadonlyMap<string, TargetState> {
  const { states, retired } = registry.sync(c, new Map(), generation);
  for (const state of retired) closeState(state);
  live = [...states.values()];
  return states;
}

function byModel(states: ReadonlyMap<string, TargetState>, model: string): TargetState[] {
  return [...states.values()].filter((s) => s.model === model);
}

afterEach(() => {
  for (const state of live) closeState(state);
});

describe("TargetRegistry and the declared policy list", () => {
  it("names every policy once", () => {
    const names = POLICIES.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual([
      "cache",
      "batching",
      "concurrency",
      "retry",
      "breaker",
      "observe",
      "answer-check",
    ]);
  });

  it("keeps every state across a reload with the same settings", () => {
    registry = new TargetRegistry(createMetrics());
    const first = sync(config(BREAKER));
    const second = sync(config(BREAKER));
    expect([...second.values()]).toEqual([...first.values()]);
    for (const [id, state] of second) expect(state).toBe(first.get(id));
    expect(byModel(second, "fraud").map((s) => s.breaker !== undefined)).toEqual([true, true]);
  });

  it("rebuilds only the slots whose policy settings changed", () => {
    registry = new TargetRegistry(createMetrics());
    const first = sync(config(BREAKER));
    const second = sync(config(SLOWER_BREAKER));
    for (const state of byModel(second, "fraud")) {
      expect(first.get(`fraud\u0000${state.slot.kind === "version" ? "v:1" : "f:0"}`)).not.toBe(
        state,
      );
    }
    for (const state of byModel(second, "plain")) expect(first.get("plain\u0000v:1")).toBe(state);
  });

  it("rebuilds cached slots, and only those, when the cache is replaced", () => {
    registry = new TargetRegistry(createMetrics());
    const first = sync(config("", CACHE));
    const replaced = { instance: new ResponseCache({ maxBytes: 1 << 20 }), generation: 2 };
    const second = sync(config("", CACHE), replaced);
    expect(second.get("plain\u0000v:1")).not.toBe(first.get("plain\u0000v:1"));
    expect(second.get("plain\u0000v:1")?.cached).toBe(true);
    expect(second.get("fraud\u0000v:1")).toBe(first.get("fraud\u0000v:1"));
    expect(second.get("fraud\u0000v:1")?.cached).toBe(false);
  });
});
