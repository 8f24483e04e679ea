/**
 * The page's only way out: same-origin calls to the gateway's admin listener, which answers
 * `/admin/*` and, in process, the job routes `/v1/async`, `/v1/batches`, `/v1/files`,
 * `/v1/schedules`. With `auth` set, the admin key the user typed is sent as a bearer token.
 */

import type { ModelSeries, ShadowAgreement } from "../../src/metrics/timeseries.js";

const KEY_STORAGE = "infergate.adminKey";

/** The admin key kept for this tab (sessionStorage: gone when the tab closes). */
export function adminKey(): string {
  return sessionStorage.getItem(KEY_STORAGE) ?? "";
}

export function setAdminKey(key: string): void {
  if (key === "") sessionStorage.removeItem(KEY_STORAGE);
  else sessionStorage.setItem(KEY_STORAGE, key);
}

/** A gateway answer: its status and parsed JSON body (or text). */
export interface Answer<T> {
  status: number;
  ok: boolean;
  body: T;
}

/** The message of a gateway error body, else the status. */
export function errorText(answer: Answer<unknown>): string {
  const body = answer.body as
    | { error?: { message?: string; details?: unknown } | string }
    | undefined;
  const error = body?.error;
  if (typeof error === "string") return error;
  const message = error?.message ?? `HTTP ${answer.status}`;
  const details = Array.isArray(error?.details) ? error.details.map(String) : [];
  return details.length === 0 ? message : `${message}: ${details.join("; ")}`;
}

/** Calls the gateway; never throws for an HTTP status, only for a network failure. */
export async function call<T>(path: string, init: RequestInit = {}): Promise<Answer<T>> {
  const headers = new Headers(init.headers);
  const key = adminKey();
  if (key !== "") headers.set("authorization", `Bearer ${key}`);
  const res = await fetch(path, { ...init, headers, credentials: "same-origin" });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    // a non-JSON answer stays text
  }
  return { status: res.status, ok: res.ok, body: body as T };
}

/** POSTs JSON (admin writes need Content-Type: application/json). */
export function postJson<T>(path: string, body: unknown): Promise<Answer<T>> {
  return call<T>(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

// The shapes the admin API answers, from the gateway's own sources (types only: nothing of
// the server is bundled).
export type {
  BreakerInfo as Breaker,
  ModelRoutes,
  RoutesTable,
  RouteTarget,
} from "../../src/gateway/types.js";

/** GET /admin/timeseries. */
export interface TimeSeriesAnswer {
  intervalSeconds: number;
  models: Record<string, ModelSeries>;
  shadow: ShadowAgreement[];
}

/** An async job (docs/async.md). */
export interface AsyncJob {
  id: string;
  status: "queued" | "running" | "succeeded" | "failed" | "cancelled";
  model: string;
  version?: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  error?: { code: string; message: string };
}

/** A batch and where its records go. */
export interface Batch {
  id: string;
  status: string;
  model: string;
  version?: string;
  counts: { total: number | null; done: number; failed: number };
  recordsPerSecond?: number | null;
  etaSeconds?: number | null;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  output?: { path?: string } | null;
  errors?: { path?: string } | string | null;
}

/** A schedule of GET /v1/schedules. */
export interface Schedule {
  name: string;
  cron: string;
  timezone: string;
  nextRunAt: string | null;
  lastRunAt?: string;
  lastBatchId?: string;
}

/** A list answer: `{data: [...]}`. */
export interface List<T> {
  data: T[];
  next?: string | null;
}
