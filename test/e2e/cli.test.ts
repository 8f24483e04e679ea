/**
 * The real command line, as a user runs it: `infergate validate` and `infergate serve` (JSON
 * listening lines with the bound ports, SIGHUP reload, SIGTERM drain with exit code 0).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { localConfig, MODELS_DIR, postJson, writeConfig } from "./harness.js";

const ROOT = resolve(import.meta.dirname, "../..");
const CLI = resolve(ROOT, "dist/cli.js");
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
});

function validate(path: string) {
  const run = spawnSync(process.execPath, [CLI, "validate", "--config", path], {
    encoding: "utf8",
  });
  return { code: run.status, out: run.stdout + run.stderr };
}

/** Spawns `infergate serve` and resolves once both listeners logged their ports. */
async function serve(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [CLI, "serve", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  const lines: Array<Record<string, unknown>> = [];
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const ports = await new Promise<{ http: number; grpc: number }>((resolvePorts, reject) => {
    const found: Record<string, number> = {};
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      lines.push(entry);
      if (
        entry.msg === "listening" &&
        typeof entry.protocol === "string" &&
        typeof entry.port === "number"
      ) {
        found[entry.protocol] = entry.port;
        if (found.http !== undefined && found.grpc !== undefined)
          resolvePorts({ http: found.http, grpc: found.grpc });
      }
    });
    void exited.then((code) =>
      reject(new Error(`exited ${code} before listening: ${JSON.stringify(lines)}`)),
    );
  });
  return { child, lines, exited, ports, url: `http://127.0.0.1:${ports.http}` };
}

describe("infergate validate", () => {
  it("exits 0 for the default config", () => {
    expect(validate(resolve(ROOT, "config/gateway.yaml"))).toMatchObject({ code: 0 });
  });

  it("finds nothing wrong with the every-key example but the ONNX models it names and the repo lacks", () => {
    expect(validate(resolve(ROOT, "config/example-full.yaml"))).toEqual({
      code: 1,
      out: "backends.local.modelDir: directory ./models not found\n",
    });
  });

  it("reports an onnx target whose model file is missing", () => {
    const path = writeConfig(
      localConfig().replace(
        '"1": { backend: local, model: iris, version: "1" }',
        '"1": { backend: local, model: iris, version: "1" }\n      "7": { backend: local, model: iris, version: "7" }',
      ),
    );
    expect(validate(path)).toEqual({
      code: 1,
      out: `models.iris.versions.7: model file ${MODELS_DIR}/iris/7/model.onnx not found\n`,
    });
  });

  it("exits 1 with every error, each with its path, in one run", () => {
    const path = writeConfig(`server:
  port: "eighty"
backends:
  local: { type: onnx, modelDir: /tmp, colour: red }
models:
  fraud:
    versions:
      "1": { backend: local }
      "2": { backend: trtion }
    labels: { canary: "9" }
    traffic:
      - { version: "1", weight: 90 }
      - { version: "3", weight: 10 }
`);
    const { code, out } = validate(path);
    expect(code).toBe(1);
    const lines = out.trim().split("\n");
    expect(lines).toEqual(
      expect.arrayContaining([
        "backends.local.colour: unknown key",
        'models.fraud.traffic[1].version: unknown version "3"',
        'models.fraud.versions.2.backend: unknown backend "trtion"',
        'models.fraud.labels.canary: unknown version "9"',
        "server.port: expected number, received string",
      ]),
    );
  });

  it("names the file, line and column of a YAML syntax error", () => {
    const path = writeConfig("server:\n  port: 8080\n bad indent: 1\n");
    const { code, out } = validate(path);
    expect(code).toBe(1);
    expect(out.trim().split("\n")).toEqual([
      expect.stringMatching(
        new RegExp(`^${path}:3:1: All mapping items must start at the same column`),
      ),
    ]);
  });
});

describe("infergate serve", () => {
  it("logs one JSON line per listener with the bound port, serves, reloads on SIGHUP and drains on SIGTERM", async () => {
    const configPath = writeConfig(localConfig());
    const gw = await serve(["--config", configPath]);
    expect(gw.ports.http).toBeGreaterThan(0);
    expect(gw.ports.grpc).toBeGreaterThan(0);
    const first = await postJson(`${gw.url}/v1/predict`, {
      model: "iris",
      inputs: [[5.1, 3.5, 1.4, 0.2]],
    });
    expect(first.status).toBe(200);

    writeFileSync(
      configPath,
      localConfig().replace('labels: { stable: "1" }', 'labels: { stable: "1", blue: "1" }'),
    );
    gw.child.kill("SIGHUP");
    await expect
      .poll(
        async () =>
          (
            await postJson(`${gw.url}/v1/models/iris/versions/blue/predict`, {
              inputs: [[1, 2, 3, 4]],
            })
          ).status,
        {
          timeout: 5000,
        },
      )
      .toBe(200);

    const inFlight = Array.from({ length: 20 }, () =>
      postJson(`${gw.url}/v1/models/iris/predict`, {
        inputs: new Array(64).fill([5.1, 3.5, 1.4, 0.2]),
      }).catch((e: unknown) => e),
    );
    await new Promise((r) => setTimeout(r, 5));
    gw.child.kill("SIGTERM");
    const results = await Promise.all(inFlight);
    expect(await gw.exited).toBe(0);
    // Every request that reached the gateway before SIGTERM got its answer.
    const answered = results.filter(
      (r): r is { status: number } => typeof r === "object" && r !== null && "status" in r,
    );
    expect(answered.length).toBeGreaterThan(0);
    expect(answered.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
    expect(gw.lines.some((l) => l.msg === "stopped")).toBe(true);
  });

  it("takes the config from INFERGATE_CONFIG", async () => {
    const configPath = writeConfig(localConfig());
    const gw = await serve([], { INFERGATE_CONFIG: configPath });
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    gw.child.kill("SIGTERM");
    expect(await gw.exited).toBe(0);
  });

  it("serves the default config (config/gateway.yaml) with its relative modelDir", async () => {
    const copy = resolve(ROOT, `config/.test-${process.pid}.yaml`);
    const text = readFileSync(resolve(ROOT, "config/gateway.yaml"), "utf8")
      .replace(/port: 8080/, "port: 0")
      .replace(/grpcPort: 8081/, "grpcPort: 0")
      .replace(/adminPort: 8082/, "adminPort: 0")
      .replace(/host: 0\.0\.0\.0/, "host: 127.0.0.1");
    writeFileSync(copy, text);
    try {
      const gw = await serve(["--config", copy]);
      const res = await postJson(`${gw.url}/v1/predict`, {
        model: "iris",
        inputs: [[5.1, 3.5, 1.4, 0.2]],
      });
      expect(res.status).toBe(200);
      const probabilities =
        (res.body as { outputs: { probabilities: number[][] } }).outputs.probabilities[0] ?? [];
      expect(probabilities.indexOf(Math.max(...probabilities))).toBe(0);
      gw.child.kill("SIGTERM");
      expect(await gw.exited).toBe(0);
    } finally {
      rmSync(copy, { force: true });
    }
  });
});
