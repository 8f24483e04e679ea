import { describe, expect, it, vi } from "vitest";
import type { BackendCall, BackendResult } from "../backends/types.js";
import { runWithDeadline } from "./deadline.js";

function call(deadlineAt: number, signal = new AbortController().signal): BackendCall {
  return { inputs: [], deadline: deadlineAt, signal };
}
const answer: BackendResult = { outputs: [] };

describe("runWithDeadline", () => {
  it("passes the answer through when the backend is in time", async () => {
    await expect(runWithDeadline(call(Date.now() + 1000), async () => answer)).resolves.toBe(
      answer,
    );
  });

  it("fails with BACKEND_TIMEOUT at the deadline and aborts the backend's signal", async () => {
    vi.useFakeTimers();
    try {
      let seen: AbortSignal | undefined;
      const pending = runWithDeadline(call(Date.now() + 300), (c) => {
        seen = c.signal;
        return new Promise<BackendResult>(() => {});
      });
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

  it("aborts the request's own controller at the deadline, passing the call itself", async () => {
    vi.useFakeTimers();
    try {
      const own = new AbortController();
      const given = call(Date.now() + 300, own.signal);
      let seen: BackendCall | undefined;
      const pending = runWithDeadline(
        given,
        (c) => {
          seen = c;
          return new Promise<BackendResult>(() => {});
        },
        own,
      );
      const outcome = expect(pending).rejects.toMatchObject({ code: "BACKEND_TIMEOUT" });
      expect(seen).toBe(given);
      await vi.advanceTimersByTimeAsync(300);
      await outcome;
      expect(own.signal.aborted).toBe(true);
      expect(own.signal.reason).toMatchObject({ code: "BACKEND_TIMEOUT" });
    } finally {
      vi.useRealTimers();
    }
  });

  it("links a controller of its own when the one given is not behind the call's signal", async () => {
    const parent = new AbortController();
    const other = new AbortController();
    let seen: AbortSignal | undefined;
    const pending = runWithDeadline(
      call(Date.now() + 1000, parent.signal),
      (c) => {
        seen = c.signal;
        return new Promise<BackendResult>((_resolve, reject) =>
          c.signal.addEventListener("abort", () => reject(c.signal.reason)),
        );
      },
      other,
    );
    expect(seen).not.toBe(parent.signal);
    parent.abort(new Error("client went away"));
    await expect(pending).rejects.toThrow("client went away");
    expect(other.signal.aborted).toBe(false);
  });

  it("never calls the backend when the deadline has already passed", async () => {
    const backend = vi.fn(async () => answer);
    await expect(runWithDeadline(call(Date.now() - 1), backend)).rejects.toMatchObject({
      code: "BACKEND_TIMEOUT",
    });
    expect(backend).not.toHaveBeenCalled();
  });

  it("propagates the client's abort to the backend call", async () => {
    const client = new AbortController();
    let seen: AbortSignal | undefined;
    const pending = runWithDeadline(call(Date.now() + 10_000, client.signal), (c) => {
      seen = c.signal;
      return new Promise<BackendResult>((_, reject) =>
        c.signal.addEventListener("abort", () => reject(new Error("cancelled"))),
      );
    });
    client.abort();
    await expect(pending).rejects.toThrow("cancelled");
    expect(seen?.aborted).toBe(true);
  });

  it("rejects with the backend's synchronous throw and stops listening to the client", async () => {
    const client = new AbortController();
    const boom = new Error("thrown before any promise");
    let seen: AbortSignal | undefined;
    await expect(
      runWithDeadline(call(Date.now() + 10_000, client.signal), (c) => {
        seen = c.signal;
        throw boom;
      }),
    ).rejects.toBe(boom);
    // Detached: a later client abort no longer reaches the settled call's signal.
    client.abort();
    expect(seen?.aborted).toBe(false);
  });

  it("passes a client that already left to the backend as an aborted signal", async () => {
    const client = new AbortController();
    client.abort(new Error("gone"));
    let seen: AbortSignal | undefined;
    await runWithDeadline(call(Date.now() + 10_000, client.signal), async (c) => {
      seen = c.signal;
      return answer;
    });
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toMatchObject({ message: "gone" });
  });
});
