import { describe, expect, it } from "vitest";
import {
  BackendError,
  BackendTimeoutError,
  BackendUnavailableError,
  InvalidRequestError,
  OverloadedError,
} from "../../errors.js";
import {
  fromWireError,
  parseFromWorker,
  parseLoadedSpecs,
  parseOnnxJob,
  parseRunMessage,
  parseWorkerData,
  toWireError,
} from "./worker-protocol.js";

describe("errors across threads", () => {
  it.each([
    [new InvalidRequestError("bad shape"), InvalidRequestError],
    [new BackendUnavailableError("cannot load m.onnx"), BackendUnavailableError],
    [new BackendTimeoutError("late"), BackendTimeoutError],
    [new BackendError("odd output"), BackendError],
  ])("%s keeps its class, code and message", (err, type) => {
    const back = fromWireError(structuredClone(toWireError(err)));
    expect(back).toBeInstanceOf(type);
    expect(back.code).toBe(err.code);
    expect(back.message).toBe(err.message);
  });

  it("reports non-gateway throwables and codes a worker should not send as BACKEND_ERROR", () => {
    expect(toWireError(new TypeError("x is undefined"))).toEqual({
      code: "BACKEND_ERROR",
      message: "x is undefined",
    });
    expect(toWireError("thrown string")).toEqual({
      code: "BACKEND_ERROR",
      message: "thrown string",
    });
    const overloaded = fromWireError(toWireError(new OverloadedError("busy")));
    expect(overloaded).toBeInstanceOf(BackendError);
    expect(overloaded.message).toBe("busy");
  });
});

describe("message parsing", () => {
  it("accepts the protocol's messages and nothing else", () => {
    expect(parseFromWorker({ type: "ready", protocol: 1, init: [] })).toEqual({
      type: "ready",
      protocol: 1,
      init: [],
    });
    expect(parseFromWorker({ type: "done", id: 4, result: "r" })).toEqual({
      type: "done",
      id: 4,
      result: "r",
    });
    const error = { code: "INVALID_REQUEST", message: "m" };
    expect(parseFromWorker({ type: "fail", id: 4, error })).toEqual({ type: "fail", id: 4, error });
    expect(parseFromWorker({ type: "failed", error })).toEqual({ type: "failed", error });
    for (const bad of [
      undefined,
      "ready",
      { type: "ready" },
      { type: "done", id: "4" },
      { type: "fail", id: 4, error: "m" },
      { type: "failed", error: { code: "X" } },
      { type: "other", id: 1 },
    ]) {
      expect(parseFromWorker(bad)).toBeUndefined();
    }
    expect(parseRunMessage({ type: "run", id: 1, job: { a: 1 } })).toEqual({
      type: "run",
      id: 1,
      job: { a: 1 },
    });
    expect(parseRunMessage({ type: "run" })).toBeUndefined();
  });

  it("checks an ONNX job, the worker's data and its ready report", () => {
    const input = { name: "x", datatype: "FP32", shape: [1], data: Float32Array.from([1]) };
    const job = { model: "m", version: "1", where: 'model "m"', inputs: [input], fetches: ["y"] };
    expect(parseOnnxJob(job)).toEqual(job);
    expect(parseOnnxJob({ ...job, fetches: [1] })).toBeUndefined();
    expect(parseOnnxJob({ ...job, inputs: [{ ...input, shape: [2] }] })).toBeUndefined();

    const files = [{ model: "m", version: "1", path: "/r/m/1/model.onnx" }];
    expect(parseWorkerData({ name: "b", files, intraOpNumThreads: 2 })).toEqual({
      name: "b",
      files,
      intraOpNumThreads: 2,
    });
    expect(parseWorkerData({ name: "b", files })).toEqual({ name: "b", files });
    expect(() => parseWorkerData({ name: "b", files: [{ model: "m" }] })).toThrow(/workerData/);

    const spec = { name: "x", datatype: "FP32", shape: [-1, 4] };
    const loaded = [{ model: "m", version: "1", inputs: [spec], outputs: [spec] }];
    expect(parseLoadedSpecs(loaded)).toEqual(loaded);
    expect(() => parseLoadedSpecs([{ model: "m", version: "1", inputs: [{}] }])).toThrow(
      BackendError,
    );
  });
});
