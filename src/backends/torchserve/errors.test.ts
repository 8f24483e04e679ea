import { describe, expect, it } from "vitest";
import { BackendError, BackendUnavailableError, InvalidRequestError } from "../../errors.js";
import { errorFromHttpAnswer, fromTorchServeGrpc, readErrorBody } from "./errors.js";

const body = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe("errorFromHttpAnswer", () => {
  it("a bad input (400) is INVALID_REQUEST carrying TorchServe's message", () => {
    const err = errorFromHttpAnswer(
      "ts",
      400,
      body({ code: 400, type: "InternalServerException", message: "input has shape [1,3]" }),
    );
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect(err.message).toBe("input has shape [1,3]");
  });

  it("a failed token check (400 InvalidKeyException) is BACKEND_ERROR, not the client's fault", () => {
    const err = errorFromHttpAnswer(
      "ts",
      400,
      body({ code: 400, type: "InvalidKeyException", message: "Token Authorization failed." }),
    );
    expect(err).toBeInstanceOf(BackendError);
    expect(err.message).toContain("token");
  });

  it.each([
    [404, "BACKEND_ERROR"],
    [500, "BACKEND_ERROR"],
    [503, "BACKEND_UNAVAILABLE"],
    [507, "BACKEND_UNAVAILABLE"],
    [408, "BACKEND_TIMEOUT"],
  ])("status %i is %s", (status, code) => {
    const err = errorFromHttpAnswer("ts", status, body({ code: status, type: "X", message: "m" }));
    expect(err.code).toBe(code);
  });
});

describe("readErrorBody", () => {
  it("quotes a body that is not TorchServe's JSON, truncated", () => {
    expect(readErrorBody(new TextEncoder().encode(" gateway down \n"))).toEqual({
      type: undefined,
      message: "gateway down",
    });
    const long = readErrorBody(new TextEncoder().encode("x".repeat(5000)));
    expect(long.message.length).toBe(1003);
  });
});

describe("fromTorchServeGrpc", () => {
  it("drops TorchServe's trailing exception class line from INVALID_REQUEST messages", () => {
    const err = fromTorchServeGrpc(
      new InvalidRequestError("bad shape\norg.pytorch.serve.http.InternalServerException"),
    );
    expect(err.message).toBe("bad shape");
    const other = new BackendError("x\norg.pytorch.serve.http.InternalServerException");
    expect(fromTorchServeGrpc(other)).toBe(other);
  });

  it("makes a job TorchServe could not queue (INTERNAL over gRPC) BACKEND_UNAVAILABLE, as its REST 503 is", () => {
    const err = fromTorchServeGrpc(
      new BackendError(
        'backend "ts" failed (gRPC 13): Model "iris" has no worker to serve inference request. Please use scale workers API to add workers.\nInternalServerException.()',
      ),
    );
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect(err.code).toBe("BACKEND_UNAVAILABLE");
    expect(err.message).toMatch(
      /has no worker to serve inference request\. Please use scale workers API to add workers\.$/,
    );
    // A model TorchServe does not know stays a backend error (a gateway misconfiguration).
    const missing = new BackendError(
      'backend "ts" failed (gRPC 13): Model not found: iris\nModelNotFoundException',
    );
    expect(fromTorchServeGrpc(missing)).toBe(missing);
  });
});
