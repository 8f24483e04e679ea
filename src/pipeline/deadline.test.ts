import { describe, expect, it, vi } from "vitest";
import type { BackendResult } from "../backends/types.js";
import { deadline } from "./deadline.js";
import type { TargetCall } from "./types.js";

function request(deadlineAt: number, signal = new AbortController().signal): TargetCall {
  return {
    target: { backend: "b", model: "m" },
    call: { inputs: [], deadline: deadlineAt, signal },
  };
}
const answer: BackendResult = { outputs: [] };

describe("deadline policy", () => {
  it("passes the answer through when the backend is in time", async () => {
    const fn = deadline()(async () => answer);
    await expect(fn(request(Date.now() + 1000))).resolves.toBe(answer);
  });

  it("fails with BACKEND_TIMEOUT at the deadline and aborts the backend's signal", async () => {
    vi.useFakeTimers();
    try {
      let seen: AbortSignal | undefined;
      const fn = deadline()((r) => {
        seen = r.call.signal;
        return new Promise<BackendResult>(() => {});
      });
      const pending = fn(request(Date.now() + 300));
      const outcome = expect(pending).rejects.toMatchObject({ code: "BACKEND_TIMEOUT" });
      expect(seen?.aborted).toBe(false);
      await vi.advanceTimersByTimeAsync(299);
      expect(seen?.aborted).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await outcome;
      expect(seen?.aborted).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it("never calls the backend when the deadline has already passed", async () => {
    const backend = vi.fn(async () => answer);
    await expect(deadline()(backend)(request(Date.now() - 1))).rejects.toMatchObject({
      code: "BACKEND_TIMEOUT",
    });
    expect(backend).not.toHaveBeenCalled();
  });

  it("propagates the client's abort to the backend call", async () => {
    const client = new AbortController();
    let seen: AbortSignal | undefined;
    const fn = deadline()((r) => {
      seen = r.call.signal;
      return new Promise<BackendResult>((_, reject) =>
        r.call.signal.addEventListener("abort", () => reject(new Error("cancelled"))),
      );
    });
    const pending = fn(request(Date.now() + 10_000, client.signal));
    client.abort();
    await expect(pending).rejects.toThrow("cancelled");
    expect(seen?.aborted).toBe(true);
  });
});
