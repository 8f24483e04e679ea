import { describe, expect, it } from "vitest";
import { hostAllowed } from "./webhook.js";

const allowed = (url: string, patterns: string[]) => hostAllowed(new URL(url), patterns);

describe("webhook host allow-list", () => {
  it("matches exact names, *.domain wildcards and pinned ports", () => {
    expect(allowed("https://hooks.example.com/x", ["hooks.example.com"])).toBe(true);
    expect(allowed("https://HOOKS.example.com/x", ["hooks.example.com"])).toBe(true);
    expect(allowed("https://evil.com/x", ["hooks.example.com"])).toBe(false);
    expect(allowed("https://a.b.example.com/x", ["*.example.com"])).toBe(true);
    expect(allowed("https://example.com/x", ["*.example.com"])).toBe(false);
    expect(allowed("https://badexample.com/x", ["*.example.com"])).toBe(false);
    expect(allowed("https://hooks.example.com/x", ["hooks.example.com:443"])).toBe(true);
    expect(allowed("https://hooks.example.com:8443/x", ["hooks.example.com:443"])).toBe(false);
    expect(allowed("http://127.0.0.1:9000/x", ["127.0.0.1"])).toBe(true);
    expect(allowed("http://[::1]:9000/x", ["::1:9000"])).toBe(true);
  });

  it("refuses other schemes and an empty list", () => {
    expect(allowed("ftp://hooks.example.com/x", ["hooks.example.com"])).toBe(false);
    expect(allowed("https://hooks.example.com/x", [])).toBe(false);
  });
});
