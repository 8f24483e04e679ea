import { describe, expect, it } from "vitest";
import { adminPlacement, isLoopbackHost } from "./exposure.js";

describe("isLoopbackHost", () => {
  it("knows loopback addresses and names", () => {
    for (const host of ["127.0.0.1", "127.5.6.7", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"])
      expect(isLoopbackHost(host), host).toBe(true);
  });

  it("treats every other address and name as reachable from outside", () => {
    for (const host of ["0.0.0.0", "::", "10.0.0.5", "128.0.0.1", "::ffff:10.0.0.1", "gateway"])
      expect(isLoopbackHost(host), host).toBe(false);
  });
});

describe("adminPlacement", () => {
  it("serves admin on a loopback public port when there is no adminPort", () => {
    expect(adminPlacement({ host: "127.0.0.1" })).toEqual({
      onPublic: true,
      separate: false,
      adminHost: "127.0.0.1",
      warnings: [],
    });
  });

  it("serves admin on any public port when auth is set (an admin key guards it)", () => {
    expect(adminPlacement({ host: "0.0.0.0", auth: true })).toEqual({
      onPublic: true,
      separate: false,
      adminHost: "127.0.0.1",
      warnings: [],
    });
    expect(adminPlacement({ host: "0.0.0.0", adminPort: 8082, auth: true })).toMatchObject({
      onPublic: false,
      separate: true,
    });
  });

  it("serves admin nowhere, with a warning, on a non-loopback public port without adminPort", () => {
    const placement = adminPlacement({ host: "0.0.0.0" });
    expect(placement).toMatchObject({ onPublic: false, separate: false });
    expect(placement.warnings).toEqual([
      "server.host 0.0.0.0 is not loopback and there is no server.adminPort: /admin/* answers 404 (set adminPort to reach it)",
    ]);
  });

  it("serves admin only on the admin listener when adminPort is set, whatever the host", () => {
    for (const host of ["127.0.0.1", "0.0.0.0"]) {
      expect(adminPlacement({ host, adminPort: 8082 })).toEqual({
        onPublic: false,
        separate: true,
        adminHost: "127.0.0.1",
        warnings: [],
      });
    }
  });

  it("warns when the admin listener itself binds a non-loopback address", () => {
    const placement = adminPlacement({ host: "0.0.0.0", adminPort: 8082, adminHost: "0.0.0.0" });
    expect(placement).toMatchObject({ onPublic: false, separate: true, adminHost: "0.0.0.0" });
    expect(placement.warnings).toHaveLength(1);
    expect(placement.warnings[0]).toContain("admin listener binds 0.0.0.0, not loopback");
  });
});
