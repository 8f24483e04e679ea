import { describe, expect, it } from "vitest";
import { Permits } from "./permits.js";

describe("Permits", () => {
  it("grants up to its size, follows a resize, and refuses everyone once closed", async () => {
    const permits = new Permits(1);
    expect(await permits.acquire()).toBe(true);
    const granted: boolean[] = [];
    const waiting = [permits.acquire(), permits.acquire(), permits.acquire()].map((p) =>
      p.then((g) => granted.push(g)),
    );
    await Promise.resolve();
    expect(granted).toEqual([]);
    permits.resize(2);
    await Promise.resolve();
    expect(granted).toEqual([true]);
    permits.release();
    await Promise.resolve();
    expect(granted).toEqual([true, true]);
    permits.close();
    await Promise.all(waiting);
    expect(granted).toEqual([true, true, false]);
    expect(await permits.acquire()).toBe(false);
  });
});
