import { describe, expect, it } from "vitest";
import { describeListenError } from "./listen-errors.js";

const server = { host: "0.0.0.0", port: 80, grpcPort: 8081, adminPort: 8082 };

function nodeError(code: string, port: number, address: string): Error {
  return Object.assign(new Error(`listen ${code}: ${address}:${port}`), { code, port, address });
}

describe("describeListenError", () => {
  it("names the listener by its configured port", () => {
    expect(describeListenError(nodeError("EADDRINUSE", 8082, "127.0.0.1"), server)).toBe(
      "port 8082 (admin) is already in use on 127.0.0.1",
    );
    expect(describeListenError(nodeError("EACCES", 80, "0.0.0.0"), server)).toBe(
      "port 80 (http) on 0.0.0.0: permission denied (ports below 1024 need privileges)",
    );
  });

  it("reads grpc-js's message, which carries no code", () => {
    const err = new Error(
      "No address added out of total 1 resolved errors: [listen EADDRINUSE: address already in use [::1]:8081]",
    );
    expect(describeListenError(err, server)).toBe("port 8081 (grpc) is already in use on ::1");
  });

  it("leaves other errors alone", () => {
    expect(describeListenError(new Error("onnx modelDir cannot be read"), server)).toBeUndefined();
    expect(describeListenError("EADDRINUSE", server)).toBeUndefined();
  });
});
