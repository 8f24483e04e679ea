import { afterEach, describe, expect, it, vi } from "vitest";
import { IpcChannel, type IpcMessage } from "./ipc.js";

/** Two channels wired to each other, as a worker and the primary are. */
function pair(
  left: ConstructorParameters<typeof IpcChannel>[1],
  right: ConstructorParameters<typeof IpcChannel>[1],
) {
  const seen: IpcMessage[] = [];
  let a: IpcChannel | undefined;
  let b: IpcChannel | undefined;
  /** Delivers a message to `to()` on a later turn, as IPC does. */
  const link = (to: () => IpcChannel | undefined) => (message: IpcMessage) => {
    queueMicrotask(() => to()?.receive(message));
    return true;
  };
  a = new IpcChannel(
    link(() => b),
    left,
  );
  b = new IpcChannel(
    link(() => a),
    right,
    (m) => seen.push(m),
  );
  return { a, b, seen };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("IpcChannel", () => {
  it("answers an ask with the other side's handler", async () => {
    const { a } = pair({}, { reload: async () => ({ ok: true }) });
    await expect(a.ask("reload", 1000)).resolves.toEqual({ ok: true });
  });

  it("hands an ask's body to the handler", async () => {
    const { a } = pair({}, { traffic: async (body) => ({ got: body }) });
    const change = { model: "iris", entries: [{ version: "2", weight: 100 }] };
    await expect(a.ask("traffic", 1000, change)).resolves.toEqual({ got: change });
  });

  it("carries a handler's failure, and an ask nobody answers, as a rejection", async () => {
    const { a } = pair(
      {},
      {
        metrics: async () => {
          throw new Error("registry broke");
        },
      },
    );
    await expect(a.ask("metrics", 1000)).rejects.toThrow("registry broke");
    await expect(a.ask("reload", 1000)).rejects.toThrow("cannot answer reload");
  });

  it("rejects an ask that gets no answer in time, and one on a closed link at once", async () => {
    vi.useFakeTimers();
    const silent = new IpcChannel(() => true, {});
    const asked = silent.ask("metrics", 500);
    vi.advanceTimersByTime(500);
    await expect(asked).rejects.toThrow("no answer to metrics within 500 ms");
    const gone = new IpcChannel(() => false, {});
    await expect(gone.ask("reload", 500)).rejects.toThrow("the other process is gone");
  });

  it("fails every waiting ask on close, and caps how many may wait", async () => {
    const silent = new IpcChannel(() => true, {});
    const waiting = Array.from({ length: 256 }, () => silent.ask("reload", 60_000));
    await expect(silent.ask("reload", 60_000)).rejects.toThrow("too many reload asks waiting");
    silent.close("the worker exited");
    const settled = await Promise.allSettled(waiting);
    expect(new Set(settled.map((s) => s.status === "rejected" && String(s.reason)))).toEqual(
      new Set(["Error: the worker exited"]),
    );
  });

  it("passes the other messages on and ignores foreign ones", async () => {
    const { a, b, seen } = pair({}, {});
    a.tell({ kind: "infergate:jobs-port", port: 4100 });
    b.receive({ cmd: "NODE_CLUSTER" });
    b.receive("text");
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([{ kind: "infergate:jobs-port", port: 4100 }]);
  });
});
