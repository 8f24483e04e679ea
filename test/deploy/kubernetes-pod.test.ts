/**
 * The Kubernetes ConfigMap's gateway.yaml run as a pod runs it: `node dist/cli.js serve` on a
 * config directory laid out as kubelet lays out a ConfigMap volume (gateway.yaml -> ..data/ ->
 * ..<version>/), with a real redis-server. A ConfigMap update (a ..data swap) is picked up by
 * server.watchConfig without a restart, and SIGTERM drains and exits 0. Only loopback: the
 * pod's 0.0.0.0 and fixed ports become 127.0.0.1 and free ports.
 */
import { type ChildProcess, spawn } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { skipWithoutRedis, startRedis, type TestRedis } from "../support/redis.js";

const ROOT = resolve(import.meta.dirname, "../..");
const CLI = join(ROOT, "dist/cli.js");
const CONFIGMAP_YAML = join(ROOT, "deploy/kubernetes/base/gateway.yaml");

/** Replaces `from` (which must occur exactly once) by `to`. */
function replaceOnce(text: string, from: string, to: string): string {
  expect(text.split(from), from).toHaveLength(2);
  return text.replace(from, to);
}

/** The ConfigMap's config with loopback addresses, free ports, the repository's models and `redisUrl`. */
function podConfig(redisUrl: string): string {
  let text = readFileSync(CONFIGMAP_YAML, "utf8");
  text = replaceOnce(text, "host: 0.0.0.0", "host: 127.0.0.1");
  text = replaceOnce(text, "adminHost: 0.0.0.0", "adminHost: 127.0.0.1");
  for (const port of ["port: 8080", "grpcPort: 8081", "adminPort: 8082"]) {
    text = replaceOnce(text, port, port.replace(/\d+$/, "0"));
  }
  text = replaceOnce(text, "modelDir: /app/models", `modelDir: ${join(ROOT, "models")}`);
  return replaceOnce(text, "url: redis://redis:6379", `url: ${redisUrl}`);
}

describe.skipIf(skipWithoutRedis())("the ConfigMap's config, served as in a pod", () => {
  let redis: TestRedis;
  let dir: string;
  let child: ChildProcess;
  const lines: Array<Record<string, unknown>> = [];
  let exited: Promise<number | null>;
  const ports: Record<string, number> = {};

  /** Publishes a new ConfigMap version the way kubelet does: new directory, ..data swapped. */
  const publish = (version: number, text: string) => {
    mkdirSync(join(dir, `..v${version}`));
    writeFileSync(join(dir, `..v${version}`, "gateway.yaml"), text);
    if (version === 0) {
      symlinkSync("..v0", join(dir, "..data"));
      symlinkSync("..data/gateway.yaml", join(dir, "gateway.yaml"));
      return;
    }
    symlinkSync(`..v${version}`, join(dir, "..data_tmp"));
    renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
    rmSync(join(dir, `..v${version - 1}`), { recursive: true });
  };
  const http = (path: string) => `http://127.0.0.1:${ports.http}${path}`;
  const predict = (model: string) =>
    fetch(http(`/v1/models/${model}/predict`), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputs: [[5.1, 3.5, 1.4, 0.2]] }),
    });

  beforeAll(async () => {
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), "infergate-pod-"));
    publish(0, podConfig(redis.url));
    child = spawn(process.execPath, [CLI, "serve", "--config", join(dir, "gateway.yaml")], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    exited = new Promise((r) => child.once("exit", (code) => r(code)));
    await new Promise<void>((ready, reject) => {
      createInterface({ input: child.stdout ?? process.stdin }).on("line", (line) => {
        const entry = JSON.parse(line) as Record<string, unknown>;
        lines.push(entry);
        if (entry.msg === "listening" && typeof entry.port === "number") {
          ports[String(entry.protocol)] = entry.port;
          if (Object.keys(ports).length === 3) ready();
        }
      });
      void exited.then((code) => reject(new Error(`exited ${code}: ${JSON.stringify(lines)}`)));
    });
  });
  afterAll(async () => {
    child?.kill("SIGKILL");
    await redis?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("is ready and serves the image's models; /admin is only on the admin port", async () => {
    expect(Object.keys(ports).sort()).toEqual(["admin", "grpc", "http"]);
    expect((await fetch(http("/readyz"))).status).toBe(200);
    expect((await predict("iris")).status).toBe(200);
    expect((await fetch(http("/admin/breakers"))).status).toBe(404);
    const admin = await fetch(`http://127.0.0.1:${ports.admin}/admin/breakers`);
    expect(admin.status).toBe(200);
  });

  it("applies a ConfigMap update (a ..data swap) without a restart, once", async () => {
    expect((await predict("iris_copy")).status).toBe(404);
    const updated = replaceOnce(
      podConfig(redis.url),
      "  mlp:",
      '  iris_copy:\n    versions:\n      "1": { backend: local, model: iris, version: "1" }\n  mlp:',
    );
    publish(1, updated);
    await vi.waitFor(
      async () => {
        expect((await predict("iris_copy")).status).toBe(200);
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(lines.filter((l) => l.msg === "config reloaded")).toHaveLength(1);
  });

  it("drains on SIGTERM and exits 0", async () => {
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(lines.map((l) => l.msg)).toContain("stopped");
  });
});
