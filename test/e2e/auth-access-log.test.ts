/**
 * The access log and admin audit lines with auth (docs/access.md "Access log"): one line per
 * HTTP request and gRPC call with the request id, tenant, model, version, backend, code, latency,
 * cache and fallback; keys never appear in the log; an admin change names who made it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway } from "../../src/server.js";
import { bearer, irisAndOps, sha } from "./auth-support.js";
import { postJson, writeConfig } from "./harness.js";
import { kserveClient } from "./kserve-client.js";
import { captureLogger } from "./log-capture.js";

const KEY = "access-log-key-0123456789";
const ADMIN = "access-log-admin-0123456789";
const { logger, lines } = captureLogger();
let gateway: Awaited<ReturnType<typeof startGateway>>;
let url: string;

beforeAll(async () => {
  const configPath = writeConfig(`server: { host: 127.0.0.1, port: 0, grpcPort: 0 }
defaults:
  cache: { ttlSeconds: 60 }
${irisAndOps(`auth:
  keys:
    - { id: team-log, hash: "${sha(KEY)}" }
    - { id: root, hash: "${sha(ADMIN)}", admin: true }
`)}`);
  gateway = await startGateway({ configPath, logger });
  url = `http://127.0.0.1:${gateway.httpPort}`;
});
afterAll(async () => {
  await gateway?.stop();
});

const requests = () => lines.filter((l) => l.msg === "request");

describe("access log", () => {
  it("writes one line per HTTP request with the route's outcome", async () => {
    const before = requests().length;
    const res = await postJson(
      `${url}/v1/predict`,
      { model: "iris", inputs: [[5, 3.5, 1.4, 0.2]] },
      bearer(KEY),
    );
    expect(res.status).toBe(200);
    const denied = await postJson(`${url}/v1/models/iris/predict`, {}, {});
    expect(denied.status).toBe(401);
    const added = requests().slice(before);
    expect(added).toHaveLength(2);
    expect(added[0]).toMatchObject({
      requestId: res.headers.get("x-request-id"),
      protocol: "http",
      method: "POST",
      path: "/v1/predict",
      status: 200,
      code: "OK",
      tenant: "team-log",
      model: "iris",
      version: "1",
      backend: "local",
      cache: "miss",
      fallback: false,
    });
    expect(typeof added[0]?.latencyMs).toBe("number");
    expect(added[1]).toMatchObject({
      status: 401,
      code: "UNAUTHENTICATED",
      tenant: "",
      model: null,
    });
  });

  it("writes one line per gRPC call", async () => {
    const before = requests().length;
    const client = kserveClient(`127.0.0.1:${gateway.grpcPort}`);
    try {
      await client.call("ModelMetadata", { name: "iris" }, bearer(KEY));
      await client.call("ModelMetadata", { name: "iris" }).catch(() => undefined);
    } finally {
      client.close();
    }
    const added = requests().slice(before);
    expect(added).toMatchObject([
      { protocol: "grpc", method: "ModelMetadata", code: "OK", tenant: "team-log", model: "iris" },
      { protocol: "grpc", method: "ModelMetadata", code: "UNAUTHENTICATED", tenant: "" },
    ]);
  });

  it("counts requests per configured tenant, model and code in /metrics", async () => {
    const res = await fetch(`${url}/metrics`, { headers: bearer(KEY) });
    const text = await res.text();
    const value = (labels: string) =>
      Number(
        new RegExp(`^infergate_tenant_requests_total\\{${labels}\\} (\\d+)$`, "m").exec(text)?.[1],
      );
    expect(value('tenant="team-log",model="iris",code="OK"')).toBeGreaterThanOrEqual(1);
    expect(value('tenant="none",model="none",code="UNAUTHENTICATED"')).toBeGreaterThanOrEqual(1);
    expect(value('tenant="none",model="none",code="UNAUTHENTICATED"')).toBeLessThan(10);
  });

  it("names the admin key's tenant in the audit line and never logs a key", async () => {
    const set = await postJson(
      `${url}/admin/models/iris/traffic`,
      { traffic: [{ version: "1", weight: 1 }] },
      bearer(ADMIN),
    );
    expect(set.status).toBe(200);
    expect(lines.filter((l) => l.msg === "admin: traffic split set")).toMatchObject([
      { who: "root", model: "iris", after: "1=1 (runtime)" },
    ]);
    const all = JSON.stringify(lines);
    expect(all).not.toContain(KEY);
    expect(all).not.toContain(ADMIN);
  });
});
