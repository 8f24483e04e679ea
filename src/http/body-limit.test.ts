import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { afterEach, describe, expect, it } from "vitest";
import { postJson, testApp } from "../../test/support/http-app.js";

const PREDICT = JSON.stringify({ model: "iris", inputs: [[1, 2, 3, 4]] });

/** A body stream of `count` chunks of `size` bytes, counting how many were pulled. */
function chunkStream(count: number, size: number, fill = 0x20) {
  const state = { pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled >= count) {
        controller.close();
        return;
      }
      state.pulled++;
      controller.enqueue(new Uint8Array(size).fill(fill));
    },
  });
  return { stream, state };
}

/** JSON text as a stream of small chunks. */
function textStream(text: string, chunkSize: number): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.slice(offset, offset + chunkSize));
      offset += chunkSize;
    },
  });
}

function streamRequest(body: ReadableStream<Uint8Array>): RequestInit {
  // `duplex` is required by fetch for stream bodies; Node's RequestInit type lacks it.
  return { method: "POST", body, duplex: "half" } as RequestInit;
}

describe("body limit (app.request)", () => {
  it("answers an over-long Content-Length with 413 in the unified format", async () => {
    const { app, settings, service } = testApp();
    settings.bodyLimitBytes = 100;
    const res = await postJson(app, "/v1/predict", {
      model: "iris",
      inputs: [[1, 2, 3, 4]],
      pad: "x".repeat(200),
    });
    expect(res.status).toBe(413);
    expect(res.headers.get("x-request-id")).not.toBeNull();
    expect(await res.json()).toEqual({
      error: { code: "PAYLOAD_TOO_LARGE", message: "request body exceeds 100 bytes" },
    });
    expect(service.calls).toHaveLength(0);
  });

  it("answers 413 in the v2 format on /v2 routes", async () => {
    const { app, settings } = testApp();
    settings.bodyLimitBytes = 100;
    const res = await postJson(app, "/v2/models/iris/infer", { inputs: [], pad: "x".repeat(200) });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: "request body exceeds 100 bytes" });
  });

  it("stops reading a streamed body at the limit and answers 413", async () => {
    const { app, settings } = testApp();
    settings.bodyLimitBytes = 4096;
    const { stream, state } = chunkStream(10_000, 1024);
    const res = await app.request("/v1/predict", streamRequest(stream));
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      "PAYLOAD_TOO_LARGE",
    );
    // 5 chunks cross 4 KiB; a stream may pull one or two ahead, never the whole 10 MB.
    expect(state.pulled).toBeLessThan(10);
  });

  it("passes a streamed body under the limit through to the handler", async () => {
    const { app, settings } = testApp();
    settings.bodyLimitBytes = 4096;
    const res = await app.request("/v1/predict", streamRequest(textStream(PREDICT, 7)));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { outputs: unknown }).outputs).toMatchObject({ rowsum: [10] });
  });

  it("reads the limit per request, so a reload can change it", async () => {
    const { app, settings } = testApp();
    settings.bodyLimitBytes = 10;
    expect((await postJson(app, "/v1/predict", PREDICT)).status).toBe(413);
    settings.bodyLimitBytes = 1000;
    expect((await postJson(app, "/v1/predict", PREDICT)).status).toBe(200);
  });
});

describe("body limit over a real socket", () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  async function listen(limit: number): Promise<number> {
    const { app, settings } = testApp();
    settings.bodyLimitBytes = limit;
    const port = await new Promise<number>((resolve) => {
      const server = serve(
        { fetch: app.fetch, port: 0, hostname: "127.0.0.1" },
        (info: AddressInfo) => resolve(info.port),
      );
      close = () =>
        new Promise<void>((done) => {
          server.close(() => done());
          if ("closeAllConnections" in server) server.closeAllConnections();
        });
    });
    return port;
  }

  function send(
    port: number,
    chunks: string[],
    headers: Record<string, string>,
  ): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: "127.0.0.1", port, path: "/v1/predict", method: "POST", headers },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            body += chunk;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      for (const chunk of chunks) req.write(chunk);
      req.end();
    });
  }

  it("answers a chunked body over the limit with 413", async () => {
    const port = await listen(1000);
    const res = await send(
      port,
      Array.from({ length: 5 }, () => " ".repeat(500)),
      {
        "content-type": "application/json",
        "transfer-encoding": "chunked",
      },
    );
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toEqual({
      error: { code: "PAYLOAD_TOO_LARGE", message: "request body exceeds 1000 bytes" },
    });
  });

  it("answers a Content-Length over the limit with 413 and serves a chunked body under it", async () => {
    const port = await listen(1000);
    const big = " ".repeat(1500);
    const tooLong = await send(port, [big], {
      "content-type": "application/json",
      "content-length": String(big.length),
    });
    expect(tooLong.status).toBe(413);
    const ok = await send(port, [PREDICT.slice(0, 10), PREDICT.slice(10)], {
      "content-type": "application/json",
      "transfer-encoding": "chunked",
    });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ model: "iris", outputs: { rowsum: [10] } });
  });
});
