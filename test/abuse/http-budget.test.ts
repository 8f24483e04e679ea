/**
 * The gateway-wide budget of buffered request-body bytes (`server.limits.maxBufferedBodyBytes`,
 * docs/security.md "Timeouts and caps"): stalled uploads hold it only until the body-idle timeout
 * cuts them; a request that would pass it gets 503 OVERLOADED with Retry-After; the bytes come
 * back when requests end, so the same request succeeds afterwards.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../e2e/harness.js";
import {
  limitedConfig,
  open,
  paddedPredictBody,
  predictHead,
  sleep,
  statusOf,
} from "./http-sockets.js";

const KIB = 1024;
// The first 64 KiB of each body are not counted (docs/security.md "Timeouts and caps").
const LIMITS = { maxBufferedBodyBytes: 768 * KIB, bodyIdleTimeoutMs: 1500 };

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(limitedConfig(LIMITS, `  bodyLimitBytes: ${600 * KIB}\n`));
});
afterAll(async () => {
  await gw?.stop();
});

/** A complete predict of `length` bytes over a fresh connection: status, retry-after, body. */
function predict(length: number): Promise<{ status: number; retryAfter?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: gw.httpPort,
        method: "POST",
        path: "/v1/models/iris/predict",
        headers: { "content-type": "application/json", connection: "close" },
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => {
          const retryAfter = res.headers["retry-after"];
          resolve({ status: res.statusCode ?? 0, body, ...(retryAfter ? { retryAfter } : {}) });
        });
      },
    );
    req.on("error", reject);
    req.end(paddedPredictBody(length));
  });
}

describe("buffered request-body budget", () => {
  it("refuses with 503 while stalled uploads hold it, and serves again once they are cut", async () => {
    // Three uploads send 300 KiB of a declared 400 KiB and stall: 3 × 236 KiB of the 768 KiB.
    const stalled = await Promise.all([0, 1, 2].map(() => open(gw.httpPort)));
    for (const c of stalled) c.socket.write(predictHead(400 * KIB) + " ".repeat(300 * KIB));
    await sleep(400);

    const refused = await predict(300 * KIB);
    expect(refused.status).toBe(503);
    expect(refused.retryAfter).toBe("1");
    expect(JSON.parse(refused.body)).toEqual({
      error: {
        code: "OVERLOADED",
        message: "too many request bytes in flight across the gateway; retry later",
      },
    });
    // A small request is never counted, however full the budget.
    expect((await predict(1 * KIB)).status).toBe(200);

    // The body-idle timeout cuts the stalled uploads (408) and gives their bytes back.
    for (const c of stalled) expect(statusOf((await c.closed).data)).toBe(408);
    expect((await predict(500 * KIB)).status).toBe(200);
  });

  it("gives back the bytes of requests that completed, so the budget is not a total", async () => {
    // 20 × 300 KiB = 6 MiB in sequence through a 768 KiB budget.
    for (let i = 0; i < 20; i += 1) expect((await predict(300 * KIB)).status).toBe(200);
  });

  it("gives back the bytes of a request refused for its size or aborted by its client", async () => {
    const tooBig = await open(gw.httpPort);
    // No Content-Length: chunked, so the size limit is found mid-body.
    tooBig.socket.write(
      "POST /v1/models/iris/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    const chunk = " ".repeat(256 * KIB);
    for (let i = 0; i < 40; i += 1)
      tooBig.socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    expect(statusOf((await tooBig.closed).data)).toBe(413);

    const aborted = await open(gw.httpPort);
    aborted.socket.write(predictHead(550 * KIB) + " ".repeat(500 * KIB));
    await sleep(300);
    aborted.socket.destroy();
    await aborted.closed;
    await sleep(100);
    // Neither still holds its bytes: 550 KiB would not fit beside either one.
    expect((await predict(550 * KIB)).status).toBe(200);
  });
});
