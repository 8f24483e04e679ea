/**
 * `server.workers: 2` (docs/workers.md), through the real command line: requests spread over both
 * worker processes, `/metrics` counts the whole gateway, a reload (admin or SIGHUP) reaches both,
 * async jobs work from either worker, a killed worker is replaced, and SIGTERM drains both
 * without losing a request.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, request } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { Pool } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorControl } from "../emulators/control.js";
import { ModelRunner, MODELS_DIR as RUNNER_MODELS } from "../emulators/runner.js";
import { startTritonEmulator } from "../emulators/triton/index.js";
import { skipWithoutRedis, startRedis, type TestRedis } from "../support/redis.js";
import { localConfig, writeConfig } from "./harness.js";

const CLI = resolve(import.meta.dirname, "../../dist/cli.js");
const IRIS = JSON.stringify({ inputs: [[5.1, 3.5, 1.4, 0.2]] });
type Line = Record<string, unknown>;

interface Served {
  child: ChildProcess;
  lines: Line[];
  port: number;
  exited: Promise<number | null>;
  /** Resolves once a line matching `match` has been logged (also one logged before). */
  waitFor(match: (line: Line) => boolean, timeoutMs?: number): Promise<Line>;
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
});

/** Starts `infergate serve` and resolves once the primary says every worker serves. */
async function serve(configPath: string): Promise<Served> {
  const child = spawn(process.execPath, [CLI, "serve", "--config", configPath], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  const lines: Line[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on("line", (text) => {
    lines.push(JSON.parse(text) as Line);
    for (const wake of waiters) wake();
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const waitFor = (match: (line: Line) => boolean, timeoutMs = 20_000) =>
    new Promise<Line>((resolveLine, reject) => {
      const check = () => {
        const found = lines.find(match);
        if (found === undefined) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolveLine(found);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no matching line in ${JSON.stringify(lines.slice(-20))}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  await Promise.race([
    waitFor((l) => l.msg === "every worker serves"),
    exited.then((code) => Promise.reject(new Error(`exited ${code}: ${JSON.stringify(lines)}`))),
  ]);
  const listening = lines.find((l) => l.msg === "listening" && l.protocol === "http");
  return { child, lines, port: listening?.port as number, exited, waitFor };
}

/** One request on a connection of its own, so node:cluster hands it to the next worker. */
async function fresh(
  port: number,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; text: string }> {
  const { status, text } = await freshWithHeaders(port, method, path, body);
  return { status, text };
}

/** {@link fresh}, with the answer's headers. */
function freshWithHeaders(
  port: number,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; text: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolveAnswer, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        agent: false,
        headers: body === undefined ? {} : { "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () =>
          resolveAnswer({ status: res.statusCode ?? 0, text, headers: res.headers }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** The pids whose access log lines name `path`. */
function pidsServing(lines: readonly Line[], path: string): Set<unknown> {
  return new Set(lines.filter((l) => l.msg === "request" && l.path === path).map((l) => l.pid));
}

function okCount(metricsText: string, model: string): number {
  const pattern = new RegExp(
    `^infergate_requests_total\\{model="${model}",version="1",backend="local",code="OK"\\} (\\d+)$`,
    "m",
  );
  return Number(pattern.exec(metricsText)?.[1] ?? 0);
}

function succeededJobs(metricsText: string): number {
  const line = /^infergate_jobs\{kind="async",status="succeeded"\} (\d+)$/m.exec(metricsText);
  return Number(line?.[1] ?? Number.NaN);
}

/** A second name for the iris model, as a config's `models` entry. */
function extraModel(name: string): string {
  return `  ${name}:
    versions:
      "1": { backend: local, model: iris, version: "1" }
`;
}

describe("server.workers: 2", () => {
  let gw: Served;
  let configPath: string;
  // `split` starts all on version 1; a run-time split moves it.
  const split = `  split:
    versions:
      "1": { backend: local, model: iris, version: "1" }
      "2": { backend: local, model: iris, version: "1" }
    traffic: [{ version: "1", weight: 100 }]
`;
  const config = (extra = "") =>
    localConfig(split + extra).replace("  grpcPort: 0\n", "  grpcPort: 0\n  workers: 2\n");

  beforeAll(async () => {
    configPath = writeConfig(config());
    gw = await serve(configPath);
  }, 60_000);

  it("spreads requests over both workers", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      statuses.push((await fresh(gw.port, "POST", "/v1/models/iris/predict", IRIS)).status);
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const ready = gw.lines.filter((l) => l.msg === "worker ready").map((l) => l.pid);
    expect(new Set(ready).size).toBe(2);
    expect(pidsServing(gw.lines, "/v1/models/iris/predict")).toEqual(new Set(ready));
  });

  it("counts every worker's requests in /metrics, whichever worker answers it", async () => {
    const before = okCount((await fresh(gw.port, "GET", "/metrics")).text, "iris");
    for (let i = 0; i < 10; i++) await fresh(gw.port, "POST", "/v1/models/iris/predict", IRIS);
    const counts: number[] = [];
    for (let i = 0; i < 4; i++)
      counts.push(okCount((await fresh(gw.port, "GET", "/metrics")).text, "iris"));
    expect(before).toBe(20);
    expect(counts).toEqual([30, 30, 30, 30]);
    expect(pidsServing(gw.lines, "/metrics").size).toBe(2);
  });

  it("reloads both workers on POST /admin/reload", async () => {
    writeFileSync(configPath, config(extraModel("iris2")));
    const res = await fresh(gw.port, "POST", "/admin/reload", "{}");
    expect(res).toEqual({ status: 200, text: '{"status":"reloaded"}' });
    const reloaded = gw.lines.filter((l) => l.msg === "config reloaded").map((l) => l.pid);
    expect(new Set(reloaded).size).toBe(2);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      statuses.push((await fresh(gw.port, "POST", "/v1/models/iris2/predict", IRIS)).status);
    }
    expect(statuses).toEqual(Array(8).fill(200));
    expect(pidsServing(gw.lines, "/v1/models/iris2/predict").size).toBe(2);
  });

  it("reloads both workers on SIGHUP to the primary", async () => {
    writeFileSync(configPath, config(extraModel("iris3")));
    const seen = gw.lines.filter((l) => l.msg === "reloaded every worker").length;
    gw.child.kill("SIGHUP");
    await gw.waitFor(
      (l) =>
        l.msg === "reloaded every worker" &&
        gw.lines.filter((m) => m.msg === "reloaded every worker").length > seen,
    );
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      statuses.push((await fresh(gw.port, "POST", "/v1/models/iris3/predict", IRIS)).status);
    }
    expect(statuses).toEqual(Array(8).fill(200));
    expect(pidsServing(gw.lines, "/v1/models/iris3/predict").size).toBe(2);
  });

  it("applies a run-time split set through one worker in both", async () => {
    const set = await fresh(
      gw.port,
      "POST",
      "/admin/models/split/traffic",
      JSON.stringify({ traffic: [{ version: "2", weight: 100 }] }),
    );
    expect(set.status).toBe(200);
    const versions: unknown[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await freshWithHeaders(gw.port, "POST", "/v1/models/split/predict", IRIS);
      versions.push(res.headers["x-infergate-version"]);
    }
    expect(versions).toEqual(Array(10).fill("2"));
    expect(pidsServing(gw.lines, "/v1/models/split/predict").size).toBe(2);
  });

  it("takes and answers async jobs on either worker (the job worker runs them)", async () => {
    expect(await runJobs(gw.port, 6)).toEqual(Array(6).fill("succeeded"));
    expect(succeededJobs((await fresh(gw.port, "GET", "/metrics")).text)).toBe(6);
    // The forwarding worker logs nothing of its own: every job request is the job worker's line.
    const jobWorker = gw.lines.find((l) => l.msg === "async jobs ready")?.pid;
    expect(pidsServing(gw.lines, "/v1/models/iris/async/predict")).toEqual(new Set([jobWorker]));
  });

  it("replaces a worker that dies", async () => {
    const victim = gw.lines.find((l) => l.msg === "worker ready" && l.worker === 1)?.pid as number;
    process.kill(victim, "SIGKILL");
    const replaced = await gw.waitFor(
      (l) => l.msg === "worker ready" && l.worker === 1 && l.pid !== victim,
    );
    expect(gw.lines.some((l) => l.msg === "worker died; starting another")).toBe(true);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push((await fresh(gw.port, "POST", "/v1/models/iris/predict", IRIS)).status);
    }
    expect(statuses).toEqual(Array(6).fill(200));
    expect(replaced.pid).not.toBe(victim);
  });
});

describe("server.workers: 2 whose workers keep dying", () => {
  it("stops the gateway with exit 1 after 5 restarts within a minute", async () => {
    const gw = await serve(
      writeConfig(localConfig().replace("  grpcPort: 0\n", "  grpcPort: 0\n  workers: 2\n")),
    );
    const killed = new Set<unknown>();
    for (let round = 0; round < 6; round++) {
      const ready = await gw.waitFor(
        (l) => l.msg === "worker ready" && l.worker === 1 && !killed.has(l.pid),
        30_000,
      );
      killed.add(ready.pid);
      process.kill(ready.pid as number, "SIGKILL");
    }
    expect(await gw.exited).toBe(1);
    expect(gw.lines.filter((l) => l.msg === "worker died; starting another").length).toBe(5);
    expect(gw.lines.some((l) => l.msg === "workers keep dying; stopping the gateway")).toBe(true);
  }, 120_000);
});

describe("server.workers: 2 that cannot start", () => {
  it("says why and exits 1 when the port is taken", async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const port = (taken.address() as AddressInfo).port;
    try {
      const child = spawn(
        process.execPath,
        [
          CLI,
          "serve",
          "--config",
          writeConfig(
            localConfig()
              .replace("  port: 0\n", `  port: ${port}\n`)
              .replace("  grpcPort: 0\n", "  grpcPort: 0\n  workers: 2\n"),
          ),
        ],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      children.push(child);
      let out = "";
      child.stdout?.on("data", (chunk: Buffer) => {
        out += chunk.toString();
      });
      const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
      expect(code).toBe(1);
      expect(out).toContain(`port ${port} (http) is already in use on 127.0.0.1`);
      expect(out).toContain('"msg":"a worker failed to start"');
    } finally {
      taken.close();
    }
  }, 60_000);
});

describe("server.workers in validate and explain", () => {
  const run = (command: string, path: string, ...args: string[]) =>
    spawnSync(process.execPath, [CLI, command, "--config", path, ...args], { encoding: "utf8" });

  it("accepts auto and a count, and names a bad value", () => {
    const auto = writeConfig(
      localConfig().replace("  grpcPort: 0\n", "  grpcPort: 0\n  workers: auto\n"),
    );
    const zero = writeConfig(
      localConfig().replace("  grpcPort: 0\n", "  grpcPort: 0\n  workers: 0\n"),
    );
    expect(run("validate", auto)).toMatchObject({ status: 0, stdout: `${auto}: ok\n` });
    expect(run("explain", auto, "--model", "iris").status).toBe(0);
    const rejected = run("validate", zero);
    expect(rejected.status).toBe(1);
    expect(rejected.stdout).toMatch(/^server\.workers: /);
  });
});

/** Submits `count` async jobs on fresh connections and waits for each; returns their end states. */
async function runJobs(port: number, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fresh(port, "POST", "/v1/models/iris/async/predict", IRIS);
    expect(res.status).toBe(202);
    ids.push((JSON.parse(res.text) as { id: string }).id);
  }
  const finished: string[] = [];
  for (const id of ids) {
    for (let i = 0; i < 200; i++) {
      const res = await fresh(port, "GET", `/v1/async/${id}`);
      const status = (JSON.parse(res.text) as { status: string }).status;
      if (status === "succeeded" || status === "failed") {
        finished.push(status);
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return finished;
}

describe.skipIf(skipWithoutRedis())("server.workers: 2 with jobs on their own Redis", () => {
  let redis: TestRedis | undefined;
  afterAll(async () => {
    await redis?.stop();
  });

  it("runs the job engine in both workers, which share the jobs", async () => {
    redis = await startRedis();
    const configText = localConfig(`jobs:
  redis: { url: "${redis.url}" }
`).replace("  grpcPort: 0\n", "  grpcPort: 0\n  workers: 2\n");
    const gw = await serve(writeConfig(configText));
    await gw.waitFor(
      () =>
        new Set(gw.lines.filter((l) => l.msg === "async jobs ready").map((l) => l.pid)).size === 2,
    );
    expect(await runJobs(gw.port, 6)).toEqual(Array(6).fill("succeeded"));
    expect(pidsServing(gw.lines, "/v1/models/iris/async/predict").size).toBe(2);
    // Both workers read the same Redis counts; /metrics shows them once.
    expect(succeededJobs((await fresh(gw.port, "GET", "/metrics")).text)).toBe(6);
    gw.child.kill("SIGTERM");
    expect(await gw.exited).toBe(0);
  }, 60_000);
});

describe("server.workers: 2 under SIGTERM", () => {
  let emulator: EmulatorControl | undefined;
  let runner: ModelRunner | undefined;
  afterAll(async () => {
    await emulator?.close();
    await runner?.close();
  });

  it("lets both workers finish every request in flight, then exits 0", async () => {
    runner = await ModelRunner.load(RUNNER_MODELS);
    emulator = await startTritonEmulator({ runner });
    emulator.setMode({ kind: "ok", delayMs: 400 });
    const gw = await serve(
      writeConfig(`server: { host: 127.0.0.1, port: 0, workers: 2, drainTimeoutMs: 10000 }
backends:
  triton: { type: triton, grpc: "${emulator.grpcAddress}" }
models:
  iris:
    versions: { "1": { backend: triton } }
`),
    );
    const pool = new Pool(`http://127.0.0.1:${gw.port}`, { connections: 8, pipelining: 1 });
    const answers = Array.from({ length: 8 }, () =>
      pool
        .request({
          method: "POST",
          path: "/v1/models/iris/predict",
          headers: { "content-type": "application/json" },
          body: IRIS,
        })
        .then(async (res) => ({ status: res.statusCode, body: await res.body.text() })),
    );
    // Until every request reached the backend (not a fixed time: a loaded machine is slower).
    for (let i = 0; i < 400 && emulator.calls.length < 8; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(emulator.calls.length).toBe(8);
    gw.child.kill("SIGTERM");
    const settled = await Promise.all(answers);
    await pool.close();
    expect(settled.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(await gw.exited).toBe(0);
    expect(pidsServing(gw.lines, "/v1/models/iris/predict").size).toBe(2);
    expect(gw.lines.filter((l) => l.msg === "stopped").length).toBe(3);
  }, 60_000);
});
