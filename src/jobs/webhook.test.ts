import { describe, expect, it } from "vitest";
import { hostAllowed, webhookSender } from "./webhook.js";

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

describe("webhook sender", () => {
  const config = {
    secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    allowedHosts: ["hooks.example.com"],
    timeoutMs: 1000,
    retryBaseMs: 10,
    maxAttempts: 3,
    concurrency: 1,
  };
  const delivery = (url: string) => ({
    id: "msg_1",
    jobId: "job_1",
    url,
    payload: "{}",
    attempts: 0,
  });

  it("refuses, without calling it, a host the allow-list no longer holds", async () => {
    const send = webhookSender(() => config);
    expect(await send(delivery("http://127.0.0.1:9/hook"))).toBe("refused");
  });

  it("counts an unreachable allowed host as a retry", async () => {
    const send = webhookSender(() => ({ ...config, allowedHosts: ["127.0.0.1:9"] }));
    expect(await send(delivery("http://127.0.0.1:9/hook"))).toBe("retry");
  });
});
