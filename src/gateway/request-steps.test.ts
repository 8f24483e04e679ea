import { describe, expect, it } from "vitest";
import { InternalError } from "../errors.js";
import type { FallbackAnswer } from "./fallback.js";
import {
  REQUEST_STEPS,
  type RequestRun,
  type RequestStep,
  runSteps,
  type StepContext,
} from "./request-steps.js";

// The steps under test never touch the context or the run: they only record the order.
const ctx = {} as StepContext;
const run = {} as RequestRun;
const answer = { index: 0 } as FallbackAnswer;

function recording(name: string, log: string[], answers = false): RequestStep {
  return {
    name,
    run: async (_ctx, _run, next) => {
      log.push(`> ${name}`);
      const out = answers ? answer : await next();
      log.push(`< ${name}`);
      return out;
    },
  };
}

describe("request steps", () => {
  it("are declared in this order, outermost first", () => {
    expect(REQUEST_STEPS.map((s) => s.name)).toEqual([
      "live-traffic",
      "rollout-record",
      "metrics",
      "shadow",
      "deadline",
      "input-check",
      "fallback",
    ]);
  });

  it("run in list order, each around the rest", async () => {
    const log: string[] = [];
    const steps = [recording("a", log), recording("b", log), recording("c", log, true)];
    await expect(runSteps(steps, ctx, run)).resolves.toBe(answer);
    expect(log).toEqual(["> a", "> b", "> c", "< c", "< b", "< a"]);
  });

  it("fail with INTERNAL when no step answers", async () => {
    const log: string[] = [];
    const failure = runSteps([recording("a", log)], ctx, run);
    await expect(failure).rejects.toBeInstanceOf(InternalError);
    expect(log).toEqual(["> a"]);
  });
});
