/**
 * What a first run of `infergate serve` shows when something is wrong around the config: an
 * unknown LOG_LEVEL, a port already taken (one line, no stack, exit 1), and that the last log
 * lines reach a slow reader before the process exits.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../support/ports.js";
import { localConfig, MODELS_DIR, postJson, startTestGateway, writeConfig } from "./harness.js";

const ROOT = resolve(import.meta.dirname, "../..");
const CLI = resolve(ROOT, "dist/cli.js");
const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const undo of cleanup.splice(0)) undo();
});

function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, [CLI, "serve", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  cleanup.push(() => child.kill("SIGKILL"));
  return child;
}

/** Runs serve to its exit; resolves with the exit code and everything it wrote. */
async function runToExit(args: string[], env: Record<string, string> = {}) {
  const child = start(args, env);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const code = await new Promise<number | null>((r) => child.once("close", (c) => r(c)));
  return { code, stdout, stderr };
}

/** Holds `port` on 127.0.0.1 until the test ends. */
async function occupy(port: number): Promise<void> {
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
  cleanup.push(() => server.close());
}

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const MISSING_MODEL = localConfig().replace(
  '"1": { backend: local, model: iris, version: "1" }',
  '"1": { backend: local, model: iris, version: "1" }\n      "7": { backend: local, model: iris, version: "7" }',
);
const MISSING_LINE = `models.iris.versions.7: model file ${MODELS_DIR}/iris/7/model.onnx not found`;

describe("infergate serve on a first run", () => {
  it("refuses to start when an onnx target's model file is missing", async () => {
    const run = await runToExit(["--config", writeConfig(MISSING_MODEL)]);
    expect(run.code).toBe(1);
    const errors = jsonLines(run.stdout).filter((line) => line.level === 50);
    expect(errors).toEqual([
      expect.objectContaining({ msg: "invalid config", errors: [MISSING_LINE] }),
    ]);
  });

  it("rejects a reload to a missing model file and keeps serving the old config", async () => {
    const gw = await startTestGateway();
    cleanup.push(() => void gw.stop());
    writeFileSync(gw.configPath, MISSING_MODEL);
    const res = await postJson(`${gw.url}/admin/reload`, {});
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain(MISSING_LINE);
    const still = await postJson(`${gw.url}/v1/models/iris/predict`, {
      inputs: [[5.1, 3.5, 1.4, 0.2]],
    });
    expect(still.status).toBe(200);
  });

  it("names the levels that exist when LOG_LEVEL is unknown, and exits 1 without a stack", async () => {
    const run = await runToExit(["--config", writeConfig(localConfig())], { LOG_LEVEL: "verbose" });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'LOG_LEVEL: unknown level "verbose"; use one of trace, debug, info, warn, error, fatal, silent\n',
    );
    expect(run.stdout).toBe("");
  });

  it.each([
    ["http", (port: number) => localConfig().replace("port: 0", `port: ${port}`)],
    ["grpc", (port: number) => localConfig().replace("grpcPort: 0", `grpcPort: ${port}`)],
  ])("says in one line that the %s port is in use, and exits 1", async (listener, config) => {
    const port = await freePort();
    await occupy(port);
    const run = await runToExit(["--config", writeConfig(config(port))]);
    expect(run.code).toBe(1);
    const errors = jsonLines(run.stdout).filter((line) => line.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toBe(`port ${port} (${listener}) is already in use on 127.0.0.1`);
    expect(run.stdout + run.stderr).not.toMatch(/\n\s+at /);
  });

  it("writes every log line, the last 'stopped' included, to a reader that lags behind", async () => {
    const port = await freePort();
    const configPath = writeConfig(localConfig().replace("port: 0", `port: ${port}`));
    const child = start(["--config", configPath]);
    const url = `http://127.0.0.1:${port}`;
    await expect
      .poll(async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.status, {
        timeout: 20_000,
      })
      .toBe(200);
    // Each rejected reload logs one line of some 100 KB; nobody reads stdout yet, so the pipe
    // fills and the logger has writes waiting when the process is told to stop.
    const unknownKeys = Array.from({ length: 3000 }, (_, i) => `unknown_key_${i}: 1`).join("\n");
    writeFileSync(configPath, `${localConfig()}\n${unknownKeys}\n`);
    for (let i = 0; i < 3; i++)
      expect((await postJson(`${url}/admin/reload`, {})).status).toBe(400);
    const exited = new Promise<number | null>((r) => child.once("close", (c) => r(c)));
    child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 1000));
    let stdout = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    expect(await exited).toBe(0);
    const lines = jsonLines(stdout);
    expect(lines.filter((l) => String(l.msg).startsWith("config reload rejected"))).toHaveLength(3);
    expect(lines.at(-1)?.msg).toBe("stopped");
  });
});
