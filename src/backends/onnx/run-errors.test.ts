import { describe, expect, it } from "vitest";
import { BackendError, InvalidRequestError, OverloadedError } from "../../errors.js";
import { isInputFault, runError } from "./run-errors.js";

/** Messages onnxruntime-node 1.30 really throws for bad feeds (captured from session.run). */
const INPUT_MESSAGES = [
  "Got invalid dimensions for input: input for the following indices\n index: 1 Got: 3 Expected: 4\n Please fix either the inputs/outputs or the model.",
  "Invalid rank for input: input Got: 1 Expected: 2 Please fix either the inputs/outputs or the model.",
  "Unexpected input data type. Actual: (tensor(double)) , expected: (tensor(float))",
  "input 'input' is missing in 'feeds'.",
  "'fetches' contains invalid output name: nope.",
  "Non-zero status code returned while running Mul node. Name:'product' Status Message: /onnxruntime_src/onnxruntime/core/providers/cpu/math/element_wise_ops.h:583 void onnxruntime::BroadcastIterator::Append(ptrdiff_t, ptrdiff_t) axis == 1 || axis == largest was false. Attempting to broadcast an axis by a dimension other than 1. 2 by 3\n",
];

describe("runError", () => {
  it.each(INPUT_MESSAGES)("blames the request for %s", (message) => {
    expect(isInputFault(message)).toBe(true);
    const err = runError(new Error(message), "model m");
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect(err.message).toBe(
      `model m: ${message.replace(/\/onnxruntime_src\/\S+:\d+\s*/g, "").trim()}`,
    );
    expect(err.message).not.toContain("onnxruntime_src");
  });

  it("blames the request for inputs whose batch sizes cannot broadcast, without build paths", () => {
    const message =
      "Non-zero status code returned while running Add node. Name:'sum' Status Message: /onnxruntime_src/onnxruntime/core/providers/cpu/math/element_wise_ops.h:583 void onnxruntime::BroadcastIterator::Init(ptrdiff_t, ptrdiff_t) axis == 1 || axis == largest was false. Can broadcast 0 by 0 or 1. 2 is invalid.";
    const err = runError(new Error(message), "model ops");
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect(err.message).toBe(
      "model ops: Non-zero status code returned while running Add node. Name:'sum' Status Message: void onnxruntime::BroadcastIterator::Init(ptrdiff_t, ptrdiff_t) axis == 1 || axis == largest was false. Can broadcast 0 by 0 or 1. 2 is invalid.",
    );
  });

  it("blames the backend for anything else", () => {
    const err = runError(
      new Error("Failed to allocate memory for requested buffer of size 1024"),
      "m",
    );
    expect(err).toBeInstanceOf(BackendError);
    expect(err.code).toBe("BACKEND_ERROR");
    expect(runError("a thrown string", "m")).toBeInstanceOf(BackendError);
  });

  it("passes gateway errors through unchanged", () => {
    const original = new OverloadedError("busy");
    expect(runError(original, "m")).toBe(original);
  });
});
