import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { BackendTimeoutError } from "../../errors.js";
import { HttpClient } from "./http-client.js";

const servers: Server[] = [];
const clients: HttpClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function client(url: string, maxResponseBytes?: number): HttpClient {
  const c = new HttpClient("b", url, maxResponseBytes === undefined ? {} : { maxResponseBytes });
  clients.push(c);
  return c;
}

describe("HttpClient", () => {
  it("sends the request with the base path and reads the whole answer", async () => {
    const url = await serve((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => {
        body += c.toString();
      });
      req.on("end", () => res.end(JSON.stringify({ method: req.method, url: req.url, body })));
    });
    const res = await client(`${url}/prefix/`).request({
      method: "POST",
      path: "/v1/x",
      body: "hello",
      deadline: Date.now() + 2000,
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toEqual({
      method: "POST",
      url: "/prefix/v1/x",
      body: "hello",
    });
  });

  it("maps a refused connection to BACKEND_UNAVAILABLE", async () => {
    const url = await serve(() => {});
    servers[0]?.close();
    await new Promise((r) => setTimeout(r, 10));
    await expect(
      client(url).request({ method: "GET", path: "/", deadline: Date.now() + 2000 }),
    ).rejects.toMatchObject({
      code: "BACKEND_UNAVAILABLE",
    });
  });

  it("gives up at the deadline with BACKEND_TIMEOUT and closes the request on the backend", async () => {
    let closed = false;
    const url = await serve((req) => {
      req.socket.on("close", () => {
        closed = true;
      });
    });
    await expect(
      client(url).request({ method: "GET", path: "/", deadline: Date.now() + 100 }),
    ).rejects.toMatchObject({
      code: "BACKEND_TIMEOUT",
    });
    await expect.poll(() => closed, { timeout: 2000 }).toBe(true);
  });

  it("rejects with the abort reason when the caller aborts", async () => {
    const url = await serve(() => {});
    const controller = new AbortController();
    const pending = client(url).request({
      method: "GET",
      path: "/",
      deadline: Date.now() + 5000,
      signal: controller.signal,
    });
    const reason = new BackendTimeoutError("deadline of 5 ms passed");
    setTimeout(() => controller.abort(reason), 20);
    await expect(pending).rejects.toBe(reason);
  });

  it("refuses an answer over maxResponseBytes with BACKEND_ERROR", async () => {
    const url = await serve((_req, res) => res.end(Buffer.alloc(10_000)));
    await expect(
      client(url, 1000).request({ method: "GET", path: "/", deadline: Date.now() + 2000 }),
    ).rejects.toMatchObject({
      code: "BACKEND_ERROR",
    });
  });

  it("stops reading a chunked answer at the cap and drops the connection", async () => {
    let written = 0;
    let closed = false;
    const url = await serve((_req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(16 * 1024);
      const pump = () => {
        // Writes without end: only the client going away stops it.
        while (!res.destroyed && written < 64 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
      };
      res.on("close", () => {
        closed = true;
      });
      pump();
    });
    await expect(
      client(url, 100_000).request({ method: "GET", path: "/", deadline: Date.now() + 5000 }),
    ).rejects.toMatchObject({ code: "BACKEND_ERROR", message: /exceeds 100000 bytes/ });
    await expect.poll(() => closed, { timeout: 2000 }).toBe(true);
    // Socket buffers aside, the backend could not push far past the cap.
    expect(written).toBeLessThan(16 * 1024 * 1024);
  });

  it("refuses an announced length over the cap before reading the body", async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { "content-length": 50_000_000 });
      res.write(Buffer.alloc(1000));
    });
    await expect(
      client(url, 100_000).request({ method: "GET", path: "/", deadline: Date.now() + 5000 }),
    ).rejects.toMatchObject({ code: "BACKEND_ERROR" });
  });

  it("cuts a body that trickles past the deadline with BACKEND_TIMEOUT", async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write(" "), 20);
      res.on("close", () => clearInterval(timer));
    });
    await expect(
      client(url).request({ method: "GET", path: "/", deadline: Date.now() + 200 }),
    ).rejects.toMatchObject({ code: "BACKEND_TIMEOUT" });
  });
});
