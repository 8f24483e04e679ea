import { describe, expect, it } from "vitest";
import { SingleFlight } from "./single-flight.js";

/** A promise with its settle functions, to decide when a computation finishes. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const reasonOf = (signal: AbortSignal) => signal.reason;

describe("SingleFlight", () => {
  it("runs one computation per key and tells joiners apart", async () => {
    const flight = new SingleFlight<number>();
    const gate = deferred<number>();
    let calls = 0;
    const compute = () => {
      calls++;
      return gate.promise;
    };
    const never = new AbortController().signal;
    const a = flight.run("k", never, compute, reasonOf);
    const b = flight.run("k", never, compute, reasonOf);
    const other = flight.run("other", never, async () => 2, reasonOf);
    expect(flight.size).toBe(2);
    gate.resolve(1);
    expect(await a).toEqual({ value: 1, joined: false });
    expect(await b).toEqual({ value: 1, joined: true });
    expect(await other).toEqual({ value: 2, joined: false });
    expect(calls).toBe(1);
    expect(flight.size).toBe(0);
  });

  it("shares an error, including a synchronous throw, and forgets it", async () => {
    const flight = new SingleFlight<number>();
    const never = new AbortController().signal;
    const boom = new Error("boom");
    const throwing = (): Promise<number> => {
      throw boom;
    };
    await expect(flight.run("k", never, throwing, reasonOf)).rejects.toBe(boom);
    expect(flight.size).toBe(0);
    await expect(flight.run("k", never, async () => 5, reasonOf)).resolves.toEqual({
      value: 5,
      joined: false,
    });
  });

  it("lets one caller leave on abort while the others keep waiting", async () => {
    const flight = new SingleFlight<string>();
    const gate = deferred<string>();
    let shared: AbortSignal | undefined;
    const compute = (signal: AbortSignal) => {
      shared = signal;
      return gate.promise;
    };
    const first = new AbortController();
    const second = new AbortController();
    const a = flight.run("k", first.signal, compute, reasonOf);
    const b = flight.run("k", second.signal, compute, reasonOf);
    first.abort("client gone");
    await expect(a).rejects.toBe("client gone");
    expect(shared?.aborted).toBe(false);
    gate.resolve("answer");
    await expect(b).resolves.toEqual({ value: "answer", joined: true });
  });

  it("aborts the computation when every caller has left, and starts afresh after", async () => {
    const flight = new SingleFlight<string>();
    let shared: AbortSignal | undefined;
    const hang = (signal: AbortSignal) => {
      shared = signal;
      return new Promise<string>((_, reject) => {
        signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
      });
    };
    const first = new AbortController();
    const second = new AbortController();
    const a = flight.run("k", first.signal, hang, reasonOf);
    const b = flight.run("k", second.signal, hang, reasonOf);
    first.abort("one");
    second.abort("two");
    await expect(a).rejects.toBe("one");
    await expect(b).rejects.toBe("two");
    expect(shared?.aborted).toBe(true);
    expect(shared?.reason).toBe("two");
    expect(flight.size).toBe(0);
    const never = new AbortController().signal;
    await expect(flight.run("k", never, async () => "fresh", reasonOf)).resolves.toEqual({
      value: "fresh",
      joined: false,
    });
  });

  it("refuses an already aborted caller without computing", async () => {
    const flight = new SingleFlight<number>();
    const aborted = AbortSignal.abort("late");
    let calls = 0;
    await expect(
      flight.run(
        "k",
        aborted,
        async () => {
          calls++;
          return 1;
        },
        reasonOf,
      ),
    ).rejects.toBe("late");
    expect(calls).toBe(0);
    expect(flight.size).toBe(0);
  });
});
