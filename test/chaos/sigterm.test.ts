/**
 * Chaos (docs/operations.md "Drain and shutdown"): SIGTERM under load. Every request the gateway
 * accepted completes, and the process exits 0.
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { Pool } from "undici";
import { afterAll, describe, expect, it } from "vitest";
import { writeConfig } from "../e2e/harness.js";
import type { EmulatorControl } from "../emulators/control.js";
import { MODELS_DIR, ModelRunner } from "../emulators/runner.js";
import { startTritonEmulator } from "../emulators/triton/index.js";

const CLI = resolve(import.meta.dirname, "../../dist/cli.js");
let emulator: EmulatorControl | undefined;
let runner: ModelRunner | undefined;
afterAll(async () => {
  await emulator?.close();
  await runner?.close();
});

describe("SIGTERM under load", () => {
  it("completes every accepted request and exits 0", async () => {
    runner = await ModelRunner.load(MODELS_DIR);
    emulator = await startTritonEmulator({ runner });
    emulator.setMode({ kind: "ok", delayMs: 150 });
    const configPath = writeConfig(`server: { host: 127.0.0.1, port: 0, drainTimeoutMs: 5000 }
backends:
  triton: { type: triton, grpc: "${emulator.grpcAddress}" }
models:
  iris:
    versions: { "1": { backend: triton } }
`);
    const child = spawn(process.execPath, [CLI, "serve", "--config", configPath], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    const port = await new Promise<number>((resolvePort) => {
      createInterface({ input: child.stdout }).on("line", (line) => {
        const entry = JSON.parse(line) as { msg?: string; protocol?: string; port?: number };
        if (entry.msg === "listening" && entry.protocol === "http" && entry.port !== undefined)
          resolvePort(entry.port);
      });
    });
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 32, pipelining: 1 });
    const body = JSON.stringify({ inputs: [[5.1, 3.5, 1.4, 0.2]] });
    let stop = false;
    const statuses: Array<number | string> = [];
    const worker = async () => {
      while (!stop) {
        try {
          const res = await pool.request({
            method: "POST",
            path: "/v1/models/iris/predict",
            headers: { "content-type": "application/json" },
            body,
          });
          await res.body.text();
          statuses.push(res.statusCode);
        } catch (err) {
          statuses.push(String((err as { code?: string }).code ?? err));
        }
      }
    };
    const workers = Array.from({ length: 32 }, worker);
    // Until a few rounds have been answered (not a fixed time: a loaded machine is slower).
    for (let i = 0; i < 200 && statuses.length <= 64; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    // Every worker has a request in flight (150 ms each) when the signal arrives; none sends more.
    stop = true;
    child.kill("SIGTERM");
    await Promise.all(workers);
    await pool.close();
    expect(statuses.length).toBeGreaterThan(64);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(await exited).toBe(0);
  });
});
