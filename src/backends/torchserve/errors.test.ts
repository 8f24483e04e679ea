import { describe, expect, it } from "vitest";
import { BackendError, InvalidRequestError } from "../../errors.js";
import { errorFromHttpAnswer, readErrorBody, withoutJavaClass } from "./errors.js";

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

describe("withoutJavaClass", () => {
  it("drops TorchServe's trailing exception class line from INVALID_REQUEST messages", () => {
    const err = withoutJavaClass(
      new InvalidRequestError("bad shape\norg.pytorch.serve.http.InternalServerException"),
    );
    expect(err.message).toBe("bad shape");
    const other = new BackendError("x\norg.pytorch.serve.http.InternalServerException");
    expect(withoutJavaClass(other)).toBe(other);
  });
});
