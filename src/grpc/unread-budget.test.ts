import { describe, expect, it } from "vitest";
import { UnreadBudget } from "./unread-budget.js";

const a = {};
const b = {};

describe("UnreadBudget", () => {
  it("admits calls on a connection up to perConnection, refuses the one that would pass it", () => {
    const budget = new UnreadBudget({ perConnection: 100, total: 1000 });
    expect(budget.admit(a, 60)).toBeUndefined();
    expect(budget.admit(a, 40)).toBeUndefined();
    expect(budget.check(a, 1)).toMatch(/connection holds 100 .* maxUnreadResponseBytes \(100\)/);
    expect(budget.admit(a, 1)).toMatch(/connection holds 100 .* maxUnreadResponseBytes \(100\)/);
    expect(budget.held(a)).toBe(100);
    // Another connection has its own room.
    expect(budget.admit(b, 100)).toBeUndefined();
    expect(budget.total).toBe(200);
  });

  it("always admits an answer when its connection and the gateway hold nothing, whatever its size", () => {
    const budget = new UnreadBudget({ perConnection: 100, total: 150 });
    expect(budget.admit(a, 500)).toBeUndefined();
    expect(budget.admit(b, 1)).toMatch(/gateway holds 500 .* maxUnreadResponseBytesTotal \(150\)/);
  });

  it("refuses past the total across connections, and admits again once bytes are released", () => {
    const budget = new UnreadBudget({ perConnection: 100, total: 150 });
    const c = {};
    expect(budget.admit(a, 80)).toBeUndefined();
    expect(budget.admit(b, 70)).toBeUndefined();
    expect(budget.admit(c, 10)).toMatch(/maxUnreadResponseBytesTotal/);
    budget.release(a, 80);
    expect([budget.held(a), budget.total]).toEqual([0, 70]);
    expect(budget.admit(c, 10)).toBeUndefined();
    expect(budget.total).toBe(80);
  });
});
