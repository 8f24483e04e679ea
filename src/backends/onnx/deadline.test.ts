import { describe, expect, it } from "vitest";
import { BackendTimeoutError } from "../../errors.js";
import { checkDeadline, raceDeadline } from "./deadline.js";

const never = new Promise<never>(() => {});
const open = (): AbortSignal => new AbortController().signal;

describe("checkDeadline", () => {
  it("passes before the deadline and throws BACKEND_TIMEOUT after it or once aborted", () => {
    expect(() => checkDeadline(Date.now() + 60_000, open(), "m")).not.toThrow();
    expect(() => checkDeadline(Date.now() - 1, open(), "m")).toThrow(BackendTimeoutError);
    expect(() => checkDeadline(Date.now() + 60_000, AbortSignal.abort(), "m")).toThrow(/cancelled/);
  });
});

describe("raceDeadline", () => {
  it("returns the work's value when it finishes in time", async () => {
    await expect(raceDeadline(Promise.resolve(42), Date.now() + 60_000, open(), "m")).resolves.toBe(
      42,
    );
  });

  it("passes the work's own failure through", async () => {
    const failing = Promise.reject(new Error("boom"));
    await expect(raceDeadline(failing, Date.now() + 60_000, open(), "m")).rejects.toThrow("boom");
  });

  it("throws BACKEND_TIMEOUT when the deadline passes first", async () => {
    const err = await raceDeadline(never, Date.now() + 5, open(), "model x").catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BackendTimeoutError);
    expect((err as BackendTimeoutError).code).toBe("BACKEND_TIMEOUT");
    expect((err as Error).message).toBe("model x: the deadline passed");
  });

  it("throws BACKEND_TIMEOUT when the signal fires first", async () => {
    const controller = new AbortController();
    const raced = raceDeadline(never, Date.now() + 60_000, controller.signal, "m");
    controller.abort();
    await expect(raced).rejects.toThrow(/cancelled/);
  });

  it("gives up at once for a deadline already passed or a signal already aborted", async () => {
    await expect(raceDeadline(never, Date.now() - 1, open(), "m")).rejects.toThrow(
      /deadline passed/,
    );
    await expect(
      raceDeadline(never, Date.now() + 60_000, AbortSignal.abort(), "m"),
    ).rejects.toThrow(/cancelled/);
  });

  it("swallows a failure of work it already gave up on", async () => {
    let fail: (err: Error) => void = () => {};
    const work = new Promise<never>((_, reject) => {
      fail = reject;
    });
    await expect(raceDeadline(work, Date.now() - 1, open(), "m")).rejects.toThrow(
      BackendTimeoutError,
    );
    // Would surface as an unhandled rejection (and fail the run) if nothing listened.
    fail(new Error("late"));
    await new Promise((resolve) => setImmediate(resolve));
  });

  it("never arms a timer for a deadline beyond setTimeout's range", async () => {
    await expect(
      raceDeadline(Promise.resolve("ok"), Number.MAX_SAFE_INTEGER, open(), "m"),
    ).resolves.toBe("ok");
  });
});
