/**
 * Path handling and admin writes over real HTTP (docs/security.md "Path handling", "Admin
 * writes"): routes match the normalised path, so encoded or dotted spellings of `/admin/...`
 * reach exactly what `/admin/...` reaches and nothing else; escaped slashes are refused; admin
 * POSTs need JSON and the listener's own origin; each admin change leaves one log line.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningGateway, startGateway } from "../../src/server.js";
import { open, statusOf } from "../abuse/http-sockets.js";
import { localConfig, writeConfig } from "./harness.js";
import { captureLogger } from "./log-capture.js";

const { logger, lines } = captureLogger();
let gw: RunningGateway;
beforeAll(async () => {
  const config = localConfig().replace("  grpcPort: 0\n", "  adminPort: 0\n");
  gw = await startGateway({ configPath: writeConfig(config), logger });
});
afterAll(async () => {
  await gw?.stop();
});

/** Sends `target` exactly as written (fetch would normalise it first); the answer's status and body. */
async function raw(
  port: number,
  method: string,
  target: string,
  headers = "",
): Promise<{ status?: number; body: string }> {
  const c = await open(port);
  c.socket.write(
    `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n${headers}\r\n`,
  );
  const { data } = await c.closed;
  return { status: statusOf(data), body: data.slice(data.indexOf("\r\n\r\n") + 4) };
}

describe("path normalisation", () => {
  it("routes encoded and dotted spellings of an admin path to that admin route, on the admin port only", async () => {
    const admin = gw.adminPort ?? 0;
    for (const target of [
      "/%61dmin/routes",
      "/x/../admin/routes",
      "//admin//routes",
      "/admin/./routes",
      "/x/%2e%2e/admin/routes",
    ]) {
      expect((await raw(admin, "GET", target)).status, target).toBe(200);
      expect((await raw(gw.httpPort, "GET", target)).status, target).toBe(404);
    }
  });

  it("serves predictions on normalised paths", async () => {
    const body = JSON.stringify({ inputs: [[5.1, 3.5, 1.4, 0.2]] });
    const headers = `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n`;
    const c = await open(gw.httpPort);
    c.socket.write(
      `POST //v1/models/%69ris/./predict HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n${body}`,
    );
    expect(statusOf((await c.closed).data)).toBe(200);
  });

  it("refuses encoded slashes and malformed escapes with 400, in the route family's format", async () => {
    const unified = await raw(gw.httpPort, "GET", "/v1/models/a%2Fb/predict");
    expect(unified.status).toBe(400);
    expect(JSON.parse(unified.body)).toEqual({
      error: {
        code: "INVALID_REQUEST",
        message: "invalid request target: encoded slash or backslash in path",
      },
    });
    const v2 = await raw(gw.httpPort, "GET", "/v2/models/a%zz");
    expect(v2.status).toBe(400);
    expect(JSON.parse(v2.body)).toEqual({
      error: "invalid request target: malformed percent-encoding",
    });
    expect((await raw(gw.adminPort ?? 0, "POST", "/admin%2freload")).status).toBe(400);
  });
});

describe("admin writes over HTTP", () => {
  it("refuses a text/plain POST (what any web page can send) and a foreign Origin", async () => {
    const admin = `http://127.0.0.1:${gw.adminPort}`;
    const split = JSON.stringify({ traffic: [{ version: "1", weight: 1 }] });
    const plain = await fetch(`${admin}/admin/models/iris/traffic`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: split,
    });
    expect(plain.status).toBe(415);
    const foreign = await fetch(`${admin}/admin/reload`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: "http://evil.example" },
      body: "{}",
    });
    expect(foreign.status).toBe(403);
    expect(lines.filter((l) => String(l.msg).startsWith("admin:"))).toEqual([]);
  });

  it("logs each admin change on one line: traffic before → after, reload outcome", async () => {
    const admin = `http://127.0.0.1:${gw.adminPort}`;
    const json = { "content-type": "application/json", origin: admin };
    const set = await fetch(`${admin}/admin/models/iris/traffic`, {
      method: "POST",
      headers: json,
      body: JSON.stringify({ traffic: [{ version: "1", weight: 1 }] }),
    });
    expect(set.status).toBe(200);
    const reload = await fetch(`${admin}/admin/reload`, {
      method: "POST",
      headers: json,
      body: "{}",
    });
    expect(reload.status).toBe(200);
    const audit = lines.filter((l) => String(l.msg).startsWith("admin:"));
    expect(audit).toMatchObject([
      {
        msg: "admin: traffic split set",
        model: "iris",
        before: "default version 1",
        after: "1=1 (runtime)",
      },
      { msg: "admin: config reload", outcome: "reloaded" },
    ]);
  });
});
