/**
 * The job-store conformance suite: what every JobStore (embedded SQLite, BullMQ on Redis) must do,
 * driven through the store interface with a handler the test controls. Each store's test file
 * calls {@link describeStoreConformance} with a factory.
 */
import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/errors.js";
import { jobsSchema } from "../../src/jobs/config.js";
import type { Delivery } from "../../src/jobs/delivery.js";
import type { StoreHooks } from "../../src/jobs/store-hooks.js";
import type { JobOutcome, JobRecord, JobStatus, JobStore } from "../../src/jobs/types.js";

/** Makes a store on `space` (same space = same data, as after a restart). */
export type StoreFactory = (space: string, hooks: StoreHooks) => Promise<JobStore>;

let counter = 0;
const newSpace = () => `s${process.pid}-${Date.now()}-${counter++}`;

/** A job record as the engine would make it. */
export function record(overrides: Partial<JobRecord> = {}): JobRecord {
  const now = Date.now();
  return {
    id: `job_${Math.random().toString(16).slice(2)}${counter++}`,
    tenant: "",
    status: "queued",
    model: "m",
    createdAt: now,
    expiresAt: now + 60_000,
    request: { body: "{}", headers: {}, path: {} },
    ...overrides,
  };
}

/** Hooks recording state changes and deliveries; `answers` scripts the webhook receiver. */
function recordingHooks(ttlSeconds = 60, answers: Array<"retry" | "delivered" | "gone"> = []) {
  const changes: Array<[string, JobStatus | undefined, JobStatus]> = [];
  const deliveries: Delivery[] = [];
  const outcomes: string[] = [];
  const hooks: StoreHooks = {
    config: jobsSchema.parse({
      resultTtlSeconds: ttlSeconds,
      lockDurationMs: 1000,
      webhooks: { retryBaseMs: 20, maxAttempts: 4 },
    }),
    onChange: (job, from) => changes.push([job.id, from, job.status]),
    webhooks: {
      send: async (d) => {
        deliveries.push(d);
        return answers.shift() ?? "delivered";
      },
      policy: { maxAttempts: 4, retryBaseMs: 20, concurrency: 4, leaseMs: 5000 },
      onOutcome: (o) => outcomes.push(o),
    },
    onError: () => undefined,
  };
  return { hooks, changes, deliveries, outcomes };
}

/** A handler the test releases job by job. */
function gatedHandler() {
  const started: string[] = [];
  const aborted: string[] = [];
  const gates = new Map<string, (o: JobOutcome) => void>();
  const handler = (job: JobRecord, signal: AbortSignal) =>
    new Promise<JobOutcome>((resolve) => {
      started.push(job.id);
      gates.set(job.id, resolve);
      signal.addEventListener("abort", () => {
        aborted.push(job.id);
        resolve({ kind: "failed", error: { code: "BACKEND_TIMEOUT", message: "aborted" } });
      });
    });
  const finish = (id: string, result = `{"ok":"${id}"}`) =>
    gates.get(id)?.({ kind: "succeeded", result, version: "1" });
  return { handler, started, aborted, finish };
}

const immediate = async (job: JobRecord): Promise<JobOutcome> => ({
  kind: "succeeded",
  result: `{"echo":"${job.id}"}`,
  version: "1",
});

async function until(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`condition not met in ${ms} ms`);
}

async function statusOf(store: JobStore, id: string): Promise<JobStatus | undefined> {
  return (await store.get(id, ""))?.status;
}

/** Registers the conformance tests for one store. */
export function describeStoreConformance(name: string, factory: StoreFactory): void {
  describe(`${name} job store conformance`, () => {
    it("stores a job, hides it from other tenants and honours Idempotency-Key", async () => {
      const { hooks, changes } = recordingHooks();
      const store = await factory(newSpace(), hooks);
      try {
        const job = record({ tenant: "a", idempotencyKey: "k1" });
        const added = await store.add(job, 100);
        expect(added.created).toBe(true);
        expect((await store.get(job.id, "a"))?.status).toBe("queued");
        expect(await store.get(job.id, "b")).toBeUndefined();
        expect(await store.get("job_unknown", "a")).toBeUndefined();
        const again = await store.add(record({ tenant: "a", idempotencyKey: "k1" }), 100);
        expect(again).toMatchObject({ created: false, job: { id: job.id } });
        const otherTenant = await store.add(record({ tenant: "b", idempotencyKey: "k1" }), 100);
        expect(otherTenant.created).toBe(true);
        expect(changes.filter(([, from]) => from === undefined)).toHaveLength(2);
      } finally {
        await store.close(0);
      }
    });

    it("refuses a submit past maxQueued with OVERLOADED", async () => {
      const store = await factory(newSpace(), recordingHooks().hooks);
      try {
        await store.add(record(), 2);
        await store.add(record(), 2);
        const err = await store.add(record(), 2).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(GatewayError);
        expect((err as GatewayError).code).toBe("OVERLOADED");
        expect((err as GatewayError).retryAfterSeconds).toBeGreaterThan(0);
        expect((await store.counts()).queued).toBe(2);
      } finally {
        await store.close(0);
      }
    });

    it("runs jobs queued -> running -> succeeded, within the concurrency, and counts them", async () => {
      const { hooks, changes } = recordingHooks();
      const store = await factory(newSpace(), hooks);
      const gate = gatedHandler();
      try {
        const jobs = [record(), record(), record()];
        for (const job of jobs) await store.add(job, 100);
        store.start(gate.handler, 2);
        await until(() => gate.started.length === 2);
        await new Promise((r) => setTimeout(r, 100));
        expect(gate.started).toHaveLength(2);
        for (const id of [...gate.started]) gate.finish(id);
        await until(() => gate.started.length === 3);
        gate.finish(gate.started[2] ?? "");
        for (const job of jobs)
          await until(async () => (await statusOf(store, job.id)) === "succeeded");
        const done = await store.get(jobs[0]?.id ?? "", "");
        expect(done?.result).toBe(`{"ok":"${jobs[0]?.id}"}`);
        expect(done?.version).toBe("1");
        expect(done?.startedAt).toBeGreaterThanOrEqual(done?.createdAt ?? 0);
        expect(done?.finishedAt).toBeGreaterThanOrEqual(done?.startedAt ?? 0);
        const of = (id: string) => changes.filter(([j]) => j === id).map(([, f, t]) => `${f}>${t}`);
        expect(of(jobs[0]?.id ?? "")).toEqual([
          "undefined>queued",
          "queued>running",
          "running>succeeded",
        ]);
        expect((await store.counts()).succeeded).toBe(3);
      } finally {
        await store.close(0);
      }
    });

    it("follows a lowered and a raised concurrency", async () => {
      const store = await factory(newSpace(), recordingHooks().hooks);
      const gate = gatedHandler();
      try {
        const jobs = [record(), record(), record(), record()];
        for (const job of jobs) await store.add(job, 100);
        store.start(gate.handler, 1);
        await until(() => gate.started.length === 1);
        store.setConcurrency(3);
        await until(() => gate.started.length === 3);
        store.setConcurrency(1);
        for (const id of [...gate.started]) gate.finish(id);
        await until(() => gate.started.length === 4);
        await new Promise((r) => setTimeout(r, 100));
        expect(gate.started).toHaveLength(4);
        gate.finish(gate.started[3] ?? "");
        for (const job of jobs)
          await until(async () => (await statusOf(store, job.id)) === "succeeded");
      } finally {
        await store.close(0);
      }
    });

    it("cancels a queued job (never run) and a running one (aborted; its late answer is ignored)", async () => {
      const store = await factory(newSpace(), recordingHooks().hooks);
      const gate = gatedHandler();
      try {
        const running = record();
        const queued = record();
        await store.add(running, 100);
        await store.add(queued, 100);
        store.start(gate.handler, 1);
        await until(() => gate.started.length === 1);
        expect((await store.cancel(queued.id, ""))?.status).toBe("cancelled");
        expect((await store.cancel(running.id, ""))?.status).toBe("cancelled");
        await until(() => gate.aborted.includes(running.id));
        gate.finish(running.id);
        await new Promise((r) => setTimeout(r, 200));
        expect(await statusOf(store, running.id)).toBe("cancelled");
        expect(await statusOf(store, queued.id)).toBe("cancelled");
        expect(gate.started).toEqual([running.id]);
        const again = await store.cancel(running.id, "");
        expect(again?.status).toBe("cancelled");
        expect(await store.cancel(running.id, "other")).toBeUndefined();
      } finally {
        await store.close(0);
      }
    });

    it("lists newest first, page by page, and by status", async () => {
      const store = await factory(newSpace(), recordingHooks().hooks);
      try {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) {
          const job = record({ tenant: "t" });
          ids.push(job.id);
          await store.add(job, 100);
        }
        await store.add(record({ tenant: "other" }), 100);
        await store.cancel(ids[1] ?? "", "t");
        const seen: string[] = [];
        let after: string | undefined;
        for (let i = 0; i < 5; i++) {
          const page = await store.list({ tenant: "t", limit: 2, ...(after ? { after } : {}) });
          seen.push(...page.data.map((j) => j.id));
          if (page.next === null) break;
          after = page.next;
        }
        expect(seen).toEqual([...ids].reverse());
        const cancelled = await store.list({ tenant: "t", limit: 10, status: "cancelled" });
        expect(cancelled.data.map((j) => j.id)).toEqual([ids[1]]);
        const queued = await store.list({ tenant: "t", limit: 10, status: "queued" });
        expect(queued.data).toHaveLength(4);
        expect(queued.next).toBeNull();
      } finally {
        await store.close(0);
      }
    });

    it("forgets finished jobs after the result TTL", async () => {
      const store = await factory(newSpace(), recordingHooks(1).hooks);
      try {
        const job = record();
        await store.add(job, 100);
        store.start(immediate, 1);
        await until(async () => (await statusOf(store, job.id)) === "succeeded");
        await until(async () => (await store.get(job.id, "")) === undefined, 5000);
        const page = await store.list({ tenant: "", limit: 10 });
        expect(page.data.map((j) => j.id)).not.toContain(job.id);
      } finally {
        await store.close(0);
      }
    });

    it("never expires a job that has not finished, however long it waits", async () => {
      const store = await factory(newSpace(), recordingHooks(1).hooks);
      try {
        const old = record({ createdAt: Date.now() - 10_000, expiresAt: Date.now() - 9000 });
        await store.add(old, 100);
        expect((await store.get(old.id, ""))?.status).toBe("queued");
        const page = await store.list({ tenant: "", limit: 10, status: "queued" });
        expect(page.data.map((j) => j.id)).toEqual([old.id]);
        expect((await store.counts()).queued).toBe(1);
      } finally {
        await store.close(0);
      }
    });

    it("runs again after a restart a job that was running when the store stopped", async () => {
      const space = newSpace();
      const first = await factory(space, recordingHooks().hooks);
      const gate = gatedHandler();
      const job = record();
      await first.add(job, 100);
      first.start(gate.handler, 1);
      await until(() => gate.started.length === 1);
      await first.close(0);
      const second = await factory(space, recordingHooks().hooks);
      try {
        second.start(immediate, 1);
        await until(async () => (await statusOf(second, job.id)) === "succeeded");
        expect((await second.get(job.id, ""))?.result).toBe(`{"echo":"${job.id}"}`);
      } finally {
        await second.close(0);
      }
    });

    it("keeps a pending webhook delivery across a restart, with the same webhook-id", async () => {
      const space = newSpace();
      const first = recordingHooks();
      const slow = first.hooks.webhooks;
      first.hooks.webhooks = {
        ...slow,
        send: async (d) => {
          first.deliveries.push(d);
          await new Promise((r) => setTimeout(r, 300));
          return "retry";
        },
      };
      const store = await factory(space, first.hooks);
      const job = record({ webhook: { url: "http://127.0.0.1:9/hook" } });
      await store.add(job, 100);
      store.start(immediate, 1);
      await until(() => first.deliveries.length === 1);
      await store.close(0);
      const second = recordingHooks();
      const again = await factory(space, second.hooks);
      try {
        await until(() => second.deliveries.length === 1);
        expect(second.deliveries[0]?.id).toBe(first.deliveries[0]?.id);
        expect(second.deliveries[0]?.jobId).toBe(job.id);
      } finally {
        await again.close(0);
      }
    });

    it("delivers a finished job's webhook, retrying with the same id, and stops on 410", async () => {
      const { hooks, deliveries, outcomes } = recordingHooks(60, [
        "retry",
        "retry",
        "delivered",
        "gone",
      ]);
      const store = await factory(newSpace(), hooks);
      try {
        const job = record({ webhook: { url: "http://127.0.0.1:9/hook" } });
        await store.add(job, 100);
        store.start(immediate, 1);
        await until(() => deliveries.length === 3);
        expect(new Set(deliveries.map((d) => d.id)).size).toBe(1);
        const event = JSON.parse(deliveries[0]?.payload ?? "{}") as {
          type: string;
          data: { id: string };
        };
        expect(event.type).toBe("async.succeeded");
        expect(event.data.id).toBe(job.id);
        const gone = record({ webhook: { url: "http://127.0.0.1:9/gone" } });
        await store.add(gone, 100);
        await until(() => deliveries.length === 4);
        await new Promise((r) => setTimeout(r, 300));
        expect(deliveries).toHaveLength(4);
        expect(outcomes).toEqual(["retry", "retry", "delivered", "gone"]);
      } finally {
        await store.close(0);
      }
    });
  });
}
