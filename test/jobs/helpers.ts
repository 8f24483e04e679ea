/**
 * Helpers of the async-job tests: a temp jobs dir, typed JSON calls and polling a job until it
 * reaches a status.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A job object as the API answers it (the fields tests read). */
export interface JobView {
  id: string;
  status: string;
  model: string;
  version?: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  result?: { model: string; version: string; outputs: Record<string, unknown>; id?: string };
  error?: { code: string; message: string };
  statusUrl: string;
}

/** A fresh temp directory for a job store. */
export function tempJobsDir(): string {
  return mkdtempSync(join(tmpdir(), "infergate-jobs-"));
}

/** A JSON call's status, headers and body. */
export interface JsonAnswer<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** Calls `url` with an optional JSON body; parses the JSON answer. */
export async function call<T = JobView>(
  url: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<JsonAnswer<T>> {
  const res = await fetch(url, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers: { "content-type": "application/json", ...init.headers },
    ...(init.body === undefined
      ? {}
      : { body: typeof init.body === "string" ? init.body : JSON.stringify(init.body) }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as T };
}

/** Polls the job every 20 ms until `done` holds (default: a final status); throws after `ms`. */
export async function waitForJob(
  base: string,
  id: string,
  done: (job: JobView) => boolean = (job) =>
    job.status === "succeeded" || job.status === "failed" || job.status === "cancelled",
  ms = 15_000,
): Promise<JobView> {
  const until = Date.now() + ms;
  let last: JobView | undefined;
  while (Date.now() < until) {
    const res = await call(`${base}/v1/async/${id}`);
    if (res.status === 200) {
      last = res.body;
      if (done(last)) return last;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`job ${id} did not get there in ${ms} ms; last: ${JSON.stringify(last)}`);
}

/** Waits until `check` holds, polling every 20 ms; throws after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`condition not met in ${ms} ms`);
}
