import { createServer, get, type Server } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type AcceptGate, gateAccepts } from "./accept-gate.js";

const quiet = { info() {}, warn() {}, error() {}, debug() {} } as never;

let server: Server | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  if (server !== undefined) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    server = undefined;
  }
});

/** A server answering "ok", gated at `cap` connections. */
async function gated(cap: number): Promise<{ port: number; gate: AcceptGate }> {
  const s = createServer((_req, res) => res.end("ok"));
  server = s;
  s.maxConnections = cap;
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as AddressInfo).port;
  const gate = gateAccepts(s, {
    maxConnections: () => s.maxConnections,
    host: "127.0.0.1",
    port,
    logger: quiet,
    protocol: "http",
    recheckMs: 20,
    resumeDelayMs: 1,
  });
  return { port, gate };
}

/** "connected" once the gateway has accepted (it answers a request), or the connect error code. */
function attempt(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    sockets.push(socket);
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    socket.once("connect", () => {
      socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      socket.once("data", () => resolve("connected"));
    });
  });
}

/** The body of a GET / on a fresh connection. */
function body(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: "127.0.0.1", port, path: "/", agent: false }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => {
        text += d.toString();
      });
      res.on("end", () => resolve(text));
    }).on("error", reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("gateAccepts", () => {
  it("refuses connects at the cap without accepting them, and listens again on the same port", async () => {
    const { port, gate } = await gated(2);
    expect(await attempt(port)).toBe("connected");
    expect(await attempt(port)).toBe("connected");
    expect(gate.paused).toBe(true);
    // The kernel refuses: the gateway never sees the connection.
    expect(await attempt(port)).toBe("ECONNREFUSED");
    // Open connections keep being served while paused.
    sockets[0]?.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const again = await new Promise<string>((resolve) =>
      sockets[0]?.once("data", (d: Buffer) => resolve(d.toString())),
    );
    expect(again).toMatch(/^HTTP\/1\.1 200/);

    sockets[0]?.destroy();
    for (let i = 0; i < 50 && gate.paused; i += 1) await sleep(10);
    expect(gate.paused).toBe(false);
    expect(((server as Server).address() as AddressInfo).port).toBe(port);
    expect(await body(port)).toBe("ok");
  });

  it("listens again when a reload raises the cap, with no connection ending", async () => {
    const { port, gate } = await gated(1);
    expect(await attempt(port)).toBe("connected");
    expect(gate.paused).toBe(true);
    (server as Server).maxConnections = 3;
    for (let i = 0; i < 50 && gate.paused; i += 1) await sleep(10);
    expect(gate.paused).toBe(false);
    expect(await attempt(port)).toBe("connected");
  });

  it("keeps the header timeout enforced while it pauses and listens again often", async () => {
    const s = createServer({ headersTimeout: 300, connectionsCheckingInterval: 50 }, (_q, r) =>
      r.end("ok"),
    );
    server = s;
    s.maxConnections = 2;
    s.requestTimeout = 300;
    // As the gateway's listener does (client-error.ts): a timed-out connection is closed.
    s.on("clientError", (_err, socket) => socket.destroy());
    await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
    const port = (s.address() as AddressInfo).port;
    gateAccepts(s, {
      maxConnections: () => 2,
      host: "127.0.0.1",
      port,
      logger: quiet,
      protocol: "http",
      resumeDelayMs: 1,
    });
    const silent = connect({ host: "127.0.0.1", port });
    sockets.push(silent);
    const cut = new Promise<number>((resolve) => {
      const started = performance.now();
      silent.on("error", () => undefined);
      silent.once("close", () => resolve(performance.now() - started));
    });
    // Fill the last slot and free it every 10 ms: each end listens again, well within 50 ms.
    let cutAfter: number | undefined;
    void cut.then((ms) => {
      cutAfter = ms;
    });
    for (let i = 0; i < 150 && cutAfter === undefined; i += 1) {
      const churn = connect({ host: "127.0.0.1", port });
      churn.on("error", () => undefined);
      await new Promise((r) => churn.once("connect", r).once("error", r));
      await sleep(5);
      churn.destroy();
      await sleep(5);
    }
    expect(cutAfter).toBeDefined();
    expect(cutAfter).toBeLessThan(1000);
  });

  it("stays closed once stopped (draining)", async () => {
    const { port, gate } = await gated(1);
    expect(await attempt(port)).toBe("connected");
    gate.stop();
    sockets[0]?.destroy();
    await sleep(100);
    expect(gate.paused).toBe(true);
    expect(await attempt(port)).toBe("ECONNREFUSED");
  });
});
