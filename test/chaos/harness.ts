/**
 * Chaos test set-up: real emulators and a real gateway (in process, real HTTP) with a resilience
 * config, and a small open-loop client.
 */
import { Pool } from "undici";
import { startTestGateway, type TestGateway } from "../e2e/harness.js";
import type { EmulatorControl } from "../emulators/control.js";
import { MODELS_DIR, ModelRunner } from "../emulators/runner.js";
import { startTritonEmulator } from "../emulators/triton/index.js";

/** One client answer. */
export interface Outcome {
  status: number;
  code?: string;
  fallback: boolean;
  backend: string | null;
  retryAfter: string | null;
  ms: number;
}

/** A gateway in front of Triton emulators, plus an HTTP client pool to it. */
export interface ChaosRig {
  gateway: TestGateway;
  emulators: EmulatorControl[];
  pool: Pool;
  predict(path?: string): Promise<Outcome>;
  close(): Promise<void>;
}

/** Starts `replicas` Triton emulators and a gateway whose config `configFor` builds from their addresses. */
export async function startRig(
  configFor: (grpc: string[], rest: string[]) => string,
  options: { replicas?: number; connections?: number } = {},
): Promise<ChaosRig> {
  const runner = await ModelRunner.load(MODELS_DIR);
  const emulators: EmulatorControl[] = [];
  for (let i = 0; i < (options.replicas ?? 1); i++)
    emulators.push(await startTritonEmulator({ runner }));
  const gateway = await startTestGateway(
    configFor(
      emulators.map((e) => e.grpcAddress ?? ""),
      emulators.map((e) => e.restUrl ?? ""),
    ),
  );
  const pool = new Pool(gateway.url, { connections: options.connections ?? 64, pipelining: 1 });
  const body = JSON.stringify({ inputs: [[5.1, 3.5, 1.4, 0.2]] });
  return {
    gateway,
    emulators,
    pool,
    async predict(path = "/v1/models/iris/predict") {
      const started = performance.now();
      const res = await pool.request({
        method: "POST",
        path,
        headers: { "content-type": "application/json" },
        body,
      });
      const text = await res.body.text();
      let code: string | undefined;
      if (res.statusCode !== 200)
        code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
      const header = (name: string) => {
        const v = res.headers[name];
        return typeof v === "string" ? v : null;
      };
      return {
        status: res.statusCode,
        ...(code === undefined ? {} : { code }),
        fallback: header("x-infergate-fallback") === "true",
        backend: header("x-infergate-backend"),
        retryAfter: header("retry-after"),
        ms: performance.now() - started,
      };
    },
    async close() {
      await pool.close();
      await gateway.stop();
      for (const e of emulators) await e.close();
      await runner.close();
    },
  };
}

/** Sends `rate` requests per second for `seconds` (open loop) and calls `at` hooks on the way. */
export async function openLoop(
  send: () => Promise<Outcome>,
  rate: number,
  seconds: number,
  hooks: Array<{ afterMs: number; run: () => unknown }> = [],
): Promise<Outcome[]> {
  const pending: Promise<Outcome>[] = [];
  const start = performance.now();
  const total = Math.round(rate * seconds);
  const due = [...hooks].sort((a, b) => a.afterMs - b.afterMs);
  for (let i = 0; i < total; i++) {
    const at = start + (i * 1000) / rate;
    const wait = at - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    while (
      due.length > 0 &&
      performance.now() - start >= (due[0]?.afterMs ?? Number.POSITIVE_INFINITY)
    ) {
      await due.shift()?.run();
    }
    pending.push(
      send().catch((err: unknown) => ({
        status: 0,
        code: String(err),
        fallback: false,
        backend: null,
        retryAfter: null,
        ms: performance.now() - at,
      })),
    );
  }
  return Promise.all(pending);
}

export { MODELS_DIR };
