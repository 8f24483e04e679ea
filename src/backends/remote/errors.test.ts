import { describe, expect, it } from "vitest";
import { BackendTimeoutError } from "../../errors.js";
import { abortError, errorFromGrpcStatus, errorFromHttpStatus } from "./errors.js";

describe("backend status mapping", () => {
  it.each([
    [400, "INVALID_REQUEST"],
    [422, "INVALID_REQUEST"],
    [404, "BACKEND_ERROR"],
    [408, "BACKEND_TIMEOUT"],
    [429, "BACKEND_UNAVAILABLE"],
    [500, "BACKEND_ERROR"],
    [501, "BACKEND_ERROR"],
    [503, "BACKEND_UNAVAILABLE"],
    [504, "BACKEND_TIMEOUT"],
    [507, "BACKEND_UNAVAILABLE"],
  ])("HTTP %i -> %s", (status, code) => {
    expect(errorFromHttpStatus("tfs", status, "boom").code).toBe(code);
  });

  it("keeps the backend's message for bad input", () => {
    expect(errorFromHttpStatus("tfs", 400, "input must be 4 wide").message).toBe(
      "input must be 4 wide",
    );
    expect(errorFromGrpcStatus("t", 3, "shape mismatch").message).toBe("shape mismatch");
  });

  it.each([
    [3, "INVALID_REQUEST"],
    [4, "BACKEND_TIMEOUT"],
    [5, "BACKEND_ERROR"],
    [8, "BACKEND_UNAVAILABLE"],
    [13, "BACKEND_ERROR"],
    [14, "BACKEND_UNAVAILABLE"],
  ])("gRPC %i -> %s", (status, code) => {
    expect(errorFromGrpcStatus("t", status, "x").code).toBe(code);
  });

  it("uses the abort reason when it is a gateway error", () => {
    const controller = new AbortController();
    const reason = new BackendTimeoutError("deadline");
    controller.abort(reason);
    expect(abortError("b", controller.signal)).toBe(reason);
    expect(abortError("b", undefined).code).toBe("BACKEND_TIMEOUT");
  });
});
