/**
 * Starts a real gateway in process on ephemeral ports, from a config written to a temp dir, for
 * end-to-end tests over real HTTP and gRPC.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pino } from "pino";
import { type RunningGateway, startGateway } from "../../src/server.js";

/** The repo's models directory, absolute. */
export const MODELS_DIR = resolve(import.meta.dirname, "../../models");

/** A config serving the shipped models in process, on ephemeral ports. */
export function localConfig(extra = ""): string {
  return `server:
  host: 127.0.0.1
  port: 0
  grpcPort: 0
backends:
  local:
    type: onnx
    modelDir: ${MODELS_DIR}
models:
  iris:
    versions:
      "1": { backend: local, model: iris, version: "1" }
    labels: { stable: "1" }
  ops:
    versions:
      "1": { backend: local, model: ops }
${extra}`;
}

/** Writes a config file into a fresh temp dir and returns its path. */
export function writeConfig(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "infergate-"));
  const path = join(dir, "gateway.yaml");
  writeFileSync(path, text);
  return path;
}

/** A started gateway with its base URLs. */
export interface TestGateway extends RunningGateway {
  url: string;
  grpcAddress: string;
  configPath: string;
}

/** Starts a gateway from config text. */
export async function startTestGateway(configText = localConfig()): Promise<TestGateway> {
  const configPath = writeConfig(configText);
  const gateway = await startGateway({ configPath, logger: pino({ level: "silent" }) });
  return {
    ...gateway,
    configPath,
    url: `http://127.0.0.1:${gateway.httpPort}`,
    grpcAddress: `127.0.0.1:${gateway.grpcPort ?? 0}`,
  };
}

/** POSTs JSON and returns status, headers and parsed body. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: unknown }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // non-JSON bodies stay text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** A model's rollout as `GET /admin/routes` shows it (the fields the tests read). */
export interface RolloutView {
  phase: string;
  weight: number;
  shared?: { redis: string; leader: boolean; key: string; interval: number };
}

/** `model`'s rollout from the gateway's `/admin/routes`; throws when it has none. */
export async function rolloutOf(gw: TestGateway, model = "iris"): Promise<RolloutView> {
  const res = await fetch(`${gw.url}/admin/routes`);
  const body = (await res.json()) as { models: Record<string, { rollout?: RolloutView }> };
  const rollout = body.models[model]?.rollout;
  if (rollout === undefined) throw new Error(`no rollout for ${model} in /admin/routes`);
  return rollout;
}
