/**
 * HTTP timeouts (docs/security.md "Timeouts and caps"): slow headers, stalled and trickled
 * uploads and idle keep-alive connections are cut at their `server.limits` timeout, and a reload
 * applies new values to new connections. Small timeouts keep the file fast; bounds are generous.
 */
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestGateway, type TestGateway } from "../e2e/harness.js";
import { limitedConfig, open, predictHead, sleep, statusOf } from "./http-sockets.js";

const LIMITS = {
  headersTimeoutMs: 400,
  requestTimeoutMs: 1500,
  bodyIdleTimeoutMs: 300,
  keepAliveTimeoutMs: 300,
};

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(limitedConfig(LIMITS));
});
afterAll(async () => {
  await gw?.stop();
});

describe("HTTP timeouts", () => {
  it("closes a connection that never sends its headers, with 408", async () => {
    const silent = await open(gw.httpPort);
    const partial = await open(gw.httpPort);
    partial.socket.write("POST /v1/models/iris/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (const c of [silent, partial]) {
      const { afterMs, data } = await c.closed;
      expect(afterMs).toBeGreaterThanOrEqual(LIMITS.headersTimeoutMs - 50);
      expect(afterMs).toBeLessThan(LIMITS.headersTimeoutMs + 2000);
      if (data !== "") expect(statusOf(data)).toBe(408);
    }
    const { data } = await partial.closed;
    expect(statusOf(data)).toBe(408);
    expect(data).toContain('"code":"INVALID_REQUEST"');
    expect(data).toContain(
      "request not received in time: headers are due within 400 ms, the whole request within 1500 ms",
    );
    expect(data.toLowerCase()).toContain("connection: close");
  });

  it("answers headers too large with 431 and bytes that are not HTTP with 400, in JSON", async () => {
    const big = await open(gw.httpPort);
    big.socket.write(
      `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${"a".repeat(20_000)}\r\n`,
    );
    const tooLarge = (await big.closed).data;
    expect(statusOf(tooLarge)).toBe(431);
    expect(tooLarge).toContain(
      '{"error":{"code":"INVALID_REQUEST","message":"request headers too large"}}',
    );

    const junk = await open(gw.httpPort);
    junk.socket.write("\x16\x03\x01 not http at all\r\n\r\n");
    const malformed = (await junk.closed).data;
    expect(statusOf(malformed)).toBe(400);
    expect(malformed).toContain('"message":"malformed HTTP request (HPE_');
  });

  it("answers chunk extensions past Node's parser limit with 413, in JSON, and closes", async () => {
    const ext = await open(gw.httpPort);
    ext.socket.write(
      "POST /v1/models/iris/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    ext.socket.write(`2;x=${"a".repeat(20_000)}\r\n{}\r\n`);
    const { data } = await ext.closed;
    expect(statusOf(data)).toBe(413);
    expect(data).toContain(
      '{"error":{"code":"PAYLOAD_TOO_LARGE","message":"chunk extensions too large"}}',
    );
    expect(data.toLowerCase()).toContain("connection: close");
    // The gateway goes on serving.
    expect((await fetch(`http://127.0.0.1:${gw.httpPort}/healthz`)).status).toBe(200);
  });

  it("answers a stalled upload 408 after the body-idle timeout and closes it", async () => {
    const c = await open(gw.httpPort);
    c.socket.write(`${predictHead(10_000)}{"inputs":[[5.1,`);
    const { afterMs, data } = await c.closed;
    expect(statusOf(data)).toBe(408);
    expect(data).toContain('"code":"INVALID_REQUEST"');
    expect(data).toContain("request body stalled: nothing received for 300 ms");
    expect(data.toLowerCase()).toContain("connection: close");
    expect(afterMs).toBeGreaterThanOrEqual(LIMITS.bodyIdleTimeoutMs - 50);
    // Well under the request timeout: the idle timer, not the whole-request one, cut it.
    expect(afterMs).toBeLessThan(LIMITS.requestTimeoutMs);
  });

  it("cuts an upload that trickles (never idle) at the whole-request timeout", async () => {
    const c = await open(gw.httpPort);
    c.socket.write(predictHead(10_000));
    const trickle = setInterval(() => c.socket.writable && c.socket.write(" "), 100);
    try {
      const { afterMs, data } = await c.closed;
      expect(afterMs).toBeGreaterThanOrEqual(LIMITS.requestTimeoutMs - 100);
      expect(afterMs).toBeLessThan(LIMITS.requestTimeoutMs + 2500);
      expect(statusOf(data)).toBe(408);
      expect(data).toContain('"message":"request not received in time:');
    } finally {
      clearInterval(trickle);
    }
  });

  it("closes an idle keep-alive connection after keepAliveTimeoutMs", async () => {
    const c = await open(gw.httpPort);
    c.socket.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const { afterMs, data } = await c.closed;
    expect(statusOf(data)).toBe(200);
    // Node announces the timeout in whole seconds, rounded down.
    expect(data.toLowerCase()).toContain("keep-alive: timeout=0");
    expect(afterMs).toBeLessThan(LIMITS.keepAliveTimeoutMs + 2000);
  });

  it("still serves ordinary requests", async () => {
    const res = await postJson(`${gw.url}/v1/models/iris/predict`, {
      inputs: [[5.1, 3.5, 1.4, 0.2]],
    });
    expect(res.status).toBe(200);
  });
});

describe("HTTP timeouts on reload", () => {
  it("applies a new body-idle and keep-alive timeout without a restart", async () => {
    const local = await startTestGateway(limitedConfig(LIMITS));
    try {
      writeFileSync(
        local.configPath,
        limitedConfig({ ...LIMITS, bodyIdleTimeoutMs: 700, keepAliveTimeoutMs: 1000 }),
      );
      expect((await postJson(`${local.url}/admin/reload`, {})).status).toBe(200);
      await sleep(50);
      const idle = await open(local.httpPort);
      idle.socket.write(`${predictHead(10_000)}{`);
      const cut = await idle.closed;
      expect(statusOf(cut.data)).toBe(408);
      expect(cut.data).toContain("nothing received for 700 ms");
      expect(cut.afterMs).toBeGreaterThanOrEqual(650);

      const kept = await open(local.httpPort);
      kept.socket.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      expect((await kept.closed).data.toLowerCase()).toContain("keep-alive: timeout=1");
    } finally {
      await local.stop();
    }
  });
});
