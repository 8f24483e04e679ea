import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { HttpDrainer } from "./drain.js";

function get(port: number, agent: boolean) {
  return new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path: "/", agent: agent ? undefined : false },
      (res) => {
        res.resume();
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("HttpDrainer", () => {
  it("finishes requests in flight with Connection: close, refuses new connections, then closes", async () => {
    let answer: (() => void) | undefined;
    const server = createServer((_req, res) => {
      answer = () => res.end("done");
    });
    const drainer = new HttpDrainer(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;

    const inFlight = get(port, false);
    await expect.poll(() => answer !== undefined).toBe(true);
    const drained = drainer.drain(5000, 20);
    await new Promise((r) => setTimeout(r, 30));
    await expect(get(port, false)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    answer?.();
    expect(await inFlight).toEqual({ status: 200, connection: "close" });
    await drained;
    expect(server.listening).toBe(false);
  });
});
