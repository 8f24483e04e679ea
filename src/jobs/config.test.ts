import { describe, expect, it } from "vitest";
import { jobsSchema } from "./config.js";

describe("jobs config", () => {
  it("has a default for every key, so async inference needs no jobs block", () => {
    expect(jobsSchema.parse({})).toEqual({
      dir: "./data/jobs",
      resultTtlSeconds: 86_400,
      concurrency: 8,
      maxQueued: 100_000,
      lockDurationMs: 30_000,
      webhooks: {
        allowedHosts: [],
        timeoutMs: 15_000,
        retryBaseMs: 5000,
        maxAttempts: 8,
        concurrency: 16,
      },
      dataDir: "./data/files",
      maxUploadBytes: 1024 * 1024 * 1024,
      batch: {
        chunkRecords: 512,
        rowsPerCall: 256,
        inFlightPerTarget: 2,
        concurrency: 2,
        shardRecords: 50_000,
        outageTimeoutMs: 600_000,
      },
      postgres: { allowedHosts: [] },
      schedules: [],
    });
  });

  it("checks schedules: cron expressions, time zones and unique names, each by its path", () => {
    const schedule = {
      name: "nightly",
      cron: "0 2 * * *",
      model: "iris",
      input: { path: "in/{date}.csv" },
      output: { path: "out/{date}.csv" },
    };
    const ok = jobsSchema.parse({ schedules: [schedule] });
    expect(ok.schedules[0]?.timezone).toBe("UTC");
    const bad = jobsSchema.safeParse({
      schedules: [
        { ...schedule, cron: "61 * * * *" },
        { ...schedule, name: "b", timezone: "Mars/Olympus" },
        { ...schedule, name: "b" },
      ],
    });
    const paths = bad.error?.issues.map((i) => i.path.join(".")) ?? [];
    expect(paths).toEqual(["schedules.0.cron", "schedules.1.timezone", "schedules.2.name"]);
    expect(bad.error?.issues[0]?.message).toContain("minute");
  });

  it("needs a whsec_ secret once webhooks are allowed, and well-formed host patterns", () => {
    const noSecret = jobsSchema.safeParse({ webhooks: { allowedHosts: ["hooks.example.com"] } });
    expect(noSecret.success).toBe(false);
    expect(noSecret.error?.issues[0]?.path).toEqual(["webhooks", "secret"]);
    const badSecret = jobsSchema.safeParse({ webhooks: { secret: "plain" } });
    expect(badSecret.success).toBe(false);
    const badHost = jobsSchema.safeParse({
      webhooks: { secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", allowedHosts: ["http://x"] },
    });
    expect(badHost.success).toBe(false);
    const ok = jobsSchema.safeParse({
      webhooks: {
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        allowedHosts: ["hooks.example.com", "*.example.org:8443"],
      },
    });
    expect(ok.success).toBe(true);
  });
});
