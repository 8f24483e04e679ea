import { describe, expect, it } from "vitest";
import { BackendUnavailableError, InvalidRequestError } from "../../errors.js";
import type { InferenceService, InferRequest, Route } from "../../gateway/types.js";
import { DEFAULT_LIMITS, type NamedTensor, type TensorSpec } from "../../tensor/index.js";
import type { SourceRecord } from "../io/types.js";
import { type Outcome, type PredictContext, predictChunk } from "./predict.js";
import { TargetSlots } from "./slots.js";

const route: Route = { model: "m", version: "1", backend: "b" };
const inputs: TensorSpec[] = [{ name: "x", datatype: "FP32", shape: [-1, 2] }];

/** A service doubling x; a row whose first element is negative makes the whole call fail. */
function doubler(failFirst = 0): { service: InferenceService; calls: number[] } {
  const calls: number[] = [];
  let failures = failFirst;
  const infer = async (_route: Route, request: InferRequest) => {
    const x = request.inputs[0] as NamedTensor;
    calls.push(x.shape[0] ?? 0);
    if (failures > 0) {
      failures--;
      throw new BackendUnavailableError("down");
    }
    const data = x.data as Float32Array;
    if (data.some((v, i) => i % 2 === 0 && v < 0)) throw new InvalidRequestError("negative");
    const out: NamedTensor = {
      name: "y",
      datatype: "FP32",
      shape: x.shape,
      data: data.map((v) => v * 2),
    };
    return {
      model: "m",
      version: "1",
      outputs: [out],
      backend: "b",
      fallback: false,
      cache: "off" as const,
    };
  };
  return { service: { infer } as unknown as InferenceService, calls };
}

function context(service: InferenceService, pauses: boolean[] = []): PredictContext {
  return {
    service,
    route,
    inputs,
    limits: DEFAULT_LIMITS,
    rowsPerCall: 4,
    slots: new TargetSlots(2, () => false),
    outageTimeoutMs: 60_000,
    requestId: "t",
    signal: new AbortController().signal,
    onPause: (paused) => pauses.push(paused),
  };
}

function records(values: number[]): SourceRecord[] {
  return values.map((v, i) => ({ line: i + 1, id: `r${i + 1}`, inputs: { x: [[v, 1]] } }));
}

function summary(outcomes: Outcome[]): Array<string | number> {
  return outcomes.map((o) => {
    if ("bad" in o) return `${o.bad.line}:${o.bad.error.code}`;
    const y = (o.ok.outputs as NamedTensor[])[0]?.data as Float32Array;
    return y[0] as number;
  });
}

describe("predictChunk", () => {
  it("packs records into calls of rowsPerCall rows and splits the answers back in order", async () => {
    const { service, calls } = doubler();
    const out = await predictChunk(records([1, 2, 3, 4, 5, 6]), context(service));
    expect(summary(out)).toEqual([2, 4, 6, 8, 10, 12]);
    expect(calls).toEqual([4, 2]);
  });

  it("re-runs a failing call row by row so only the bad record fails", async () => {
    const { service, calls } = doubler();
    const out = await predictChunk(records([1, -2, 3, 4]), context(service));
    expect(summary(out)).toEqual([2, "2:INVALID_REQUEST", 6, 8]);
    expect(calls).toEqual([4, 1, 1, 1, 1]);
  });

  it("keeps unreadable and undecodable records in place as bad records", async () => {
    const { service } = doubler();
    const input: SourceRecord[] = [
      ...records([1]),
      { line: 2, id: "2", error: { code: "INVALID_REQUEST", message: "malformed" } },
      { line: 3, id: "r3", inputs: { z: [[1, 2]] } },
      { line: 4, id: "r4", inputs: { x: [[4, 1]] } },
    ];
    expect(summary(await predictChunk(input, context(service)))).toEqual([
      2,
      "2:INVALID_REQUEST",
      "3:INVALID_REQUEST",
      8,
    ]);
  });

  it("pauses on an outage and retries instead of failing the records", async () => {
    const { service, calls } = doubler(2);
    const pauses: boolean[] = [];
    const out = await predictChunk(records([1, 2]), context(service, pauses));
    expect(summary(out)).toEqual([2, 4]);
    expect(calls).toEqual([2, 2, 2]);
    expect(pauses).toEqual([true, false]);
  });
});
