import { describe, expect, it } from "vitest";
import { ModeGate } from "./mode-gate.js";

class Unavailable extends Error {}
class Internal extends Error {}

function gate(): ModeGate {
  return new ModeGate({
    unavailable: (model) => new Unavailable(`${model} unavailable`),
    error: (model) => new Internal(`${model} failed`),
  });
}

const never = new Promise<void>(() => {});

describe("ModeGate", () => {
  it("admits every call in mode ok and records calls in arrival order", async () => {
    const g = gate();
    const first = g.record("rest", "iris", "1", 3);
    g.record("grpc", "ops", undefined, undefined);
    await expect(g.admit(never, "iris")).resolves.toBe(true);
    expect(g.calls).toEqual([
      { protocol: "rest", model: "iris", version: "1", batchSize: 3, at: first.at },
      expect.objectContaining({ protocol: "grpc", model: "ops", version: undefined }),
    ]);
  });

  it("fails every n-th call with the emulator's unavailable error under failEvery", async () => {
    const g = gate();
    g.setMode({ kind: "ok", failEvery: 2 });
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      outcomes.push(
        await g.admit(never, "iris").then(
          () => "ok",
          (err: unknown) => (err instanceof Unavailable ? err.message : "other"),
        ),
      );
    }
    expect(outcomes).toEqual(["ok", "iris unavailable", "ok", "iris unavailable"]);
  });

  it("throws the emulator's errors in modes unavailable and error", async () => {
    const g = gate();
    g.setMode({ kind: "unavailable" });
    await expect(g.admit(never, "m")).rejects.toBeInstanceOf(Unavailable);
    g.setMode({ kind: "error" });
    await expect(g.admit(never, "m")).rejects.toThrow(new Internal("m failed"));
  });

  it("stalls until the client leaves, then says the call is gone", async () => {
    const g = gate();
    g.setMode({ kind: "stall" });
    let leave = () => {};
    const gone = new Promise<void>((resolve) => {
      leave = resolve;
    });
    const admitted = g.admit(gone, "iris");
    leave();
    await expect(admitted).resolves.toBe(false);
  });

  it("releases stalled calls on releaseStalled (the process died)", async () => {
    const g = gate();
    g.setMode({ kind: "stall" });
    const admitted = g.admit(never, "iris");
    g.releaseStalled();
    await expect(admitted).resolves.toBe(false);
  });

  it("ends a delay early when the client has left, without failing the call", async () => {
    const g = gate();
    g.setMode({ kind: "error", delayMs: 60_000 });
    await expect(g.admit(Promise.resolve(), "iris")).resolves.toBe(false);
  });

  it("keeps its own copy of the mode", async () => {
    const g = gate();
    const mode = { kind: "ok" as "ok" | "error" };
    g.setMode(mode);
    mode.kind = "error";
    await expect(g.admit(never, "iris")).resolves.toBe(true);
  });
});
