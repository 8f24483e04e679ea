import { describe, expect, it } from "vitest";
import { abortError } from "../../abort.js";
import { BackendTimeoutError } from "../../errors.js";
import { errorFromGrpcStatus, errorFromHttpStatus, quotable } from "./errors.js";

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

  it("passes plain backend text on, cut to 200 characters", () => {
    expect(quotable("  model not loaded  ")).toBe("model not loaded");
    const long = "x".repeat(500);
    expect(quotable(long)).toBe(`${"x".repeat(200)}…`);
    expect(quotable("line one\nline two\tend")).toBe("line one\nline two\tend");
  });

  it("summarises markup and control characters instead of passing them on", () => {
    const page = `<html><body>${"x".repeat(6000)}</body></html>`;
    expect(quotable(page)).toBeUndefined();
    expect(quotable("red \u001b[31malert")).toBeUndefined();
    expect(quotable("a\u202eb")).toBeUndefined();
    const err = errorFromHttpStatus("b", 500, page, {
      contentType: "text/html; charset=utf-8",
      bytes: 6029,
    });
    expect(err.message).toBe('backend "b" answered 500 (text/html, 6 KB)');
    expect(errorFromHttpStatus("b", 400, "<p>no</p>", { bytes: 9 }).message).toBe(
      "backend answered 400 (9 bytes)",
    );
    expect(errorFromGrpcStatus("t", 3, "bad \u0007 input").message).toBe(
      "backend answered gRPC status 3 (11 bytes)",
    );
  });
});
