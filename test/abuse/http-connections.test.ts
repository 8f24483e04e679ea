/**
 * Connection abuse (docs/security.md "Timeouts and caps"): slowloris connections and a flood past
 * `server.limits.maxConnections` while a steady client on its own keep-alive connections keeps
 * being served without an error. Small counts keep the file fast; the full-size run is
 * bench/abuse-http.bench.ts.
 */
import { Agent, request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../e2e/harness.js";
import { limitedConfig, open, sleep, tryOpen, type Watched } from "./http-sockets.js";

const LIMITS = {
  maxConnections: 30,
  headersTimeoutMs: 2500,
  requestTimeoutMs: 5000,
  keepAliveTimeoutMs: 10_000,
};
const BODY = JSON.stringify({ inputs: [[5.1, 3.5, 1.4, 0.2]] });

let gw: TestGateway;
let agent: Agent;
beforeAll(async () => {
  gw = await startTestGateway(limitedConfig(LIMITS));
  agent = new Agent({ keepAlive: true, maxSockets: 4 });
});
afterAll(async () => {
  agent?.destroy();
  await gw?.stop();
});

/** One predict on the steady client's keep-alive connections: its status, or the error. */
function predict(): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: gw.httpPort,
        method: "POST",
        path: "/v1/models/iris/predict",
        headers: { "content-type": "application/json" },
        agent,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", (err) => resolve(err.message));
    req.end(BODY);
  });
}

/** `count` requests, `gapMs` apart, each awaited concurrently: every status or error. */
async function steady(count: number, gapMs: number): Promise<Array<number | string>> {
  const results: Array<Promise<number | string>> = [];
  for (let i = 0; i < count; i += 1) {
    results.push(predict());
    await sleep(gapMs);
  }
  return Promise.all(results);
}

describe("connection abuse", () => {
  it("keeps a steady keep-alive client served through slowloris and a connection flood", async () => {
    // The steady client's four connections are open before the attack.
    expect(await Promise.all([predict(), predict(), predict(), predict()])).toEqual([
      200, 200, 200, 200,
    ]);
    const client = steady(100, 5);

    // Slowloris: 20 connections that send a header line now and then, never finishing.
    const slow: Watched[] = [];
    for (let i = 0; i < 20; i += 1) {
      const c = await open(gw.httpPort);
      c.socket.write("POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n");
      slow.push(c);
    }
    const drip = setInterval(() => {
      for (const c of slow) if (c.socket.writable) c.socket.write("X-Slow: 1\r\n");
    }, 200);

    // A flood of 30 silent connections: 6 fit under maxConnections (4 + 20 + 6 = 30), the rest
    // are closed at once, or refused at connect once the listener has closed at the cap.
    const flooding = await Promise.all(Array.from({ length: 30 }, () => tryOpen(gw.httpPort)));
    const flood = flooding.filter((c): c is Watched => c !== "refused");
    const closedAt = await Promise.all(
      flooding.map((c) =>
        c === "refused"
          ? "refused"
          : Promise.race([c.closed.then(() => "closed"), sleep(1000).then(() => "open")]),
      ),
    );
    expect(closedAt.filter((s) => s !== "open").length).toBeGreaterThanOrEqual(24);
    // At the cap the listener is closed: the kernel refuses a new connect outright.
    expect(await tryOpen(gw.httpPort)).toBe("refused");

    const results = await client;
    clearInterval(drip);
    expect(results.filter((r) => r !== 200)).toEqual([]);

    // The slowloris connections are cut at the headers timeout (dripping does not reset it).
    for (const c of slow)
      expect((await c.closed).afterMs).toBeLessThan(LIMITS.headersTimeoutMs + 3000);
    for (const c of flood) c.socket.destroy();
    await sleep(100);
    // Once the attackers are gone, new connections are accepted again.
    const fresh = await open(gw.httpPort);
    fresh.socket.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    expect((await fresh.closed).data).toMatch(/^HTTP\/1\.1 200/);
  });
});
