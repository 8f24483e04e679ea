import type { IncomingHttpHeaders, Server } from "node:http";
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { afterEach, describe, expect, it } from "vitest";
import { postJson, testApp } from "../../test/support/http-app.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const IRIS = { model: "iris", inputs: [[1, 2, 3, 4]] };

describe("x-request-id on every answer (app.request)", () => {
  it("echoes the client's id once on a prediction, an error, a 404 and an ops route", async () => {
    const { app } = testApp();
    const headers = { "x-request-id": "rid-7" };
    const answers = [
      await postJson(app, "/v1/predict", IRIS, headers),
      await postJson(app, "/v1/predict", { model: "ghost", inputs: [[1]] }, headers),
      await postJson(app, "/v2/models/iris/infer", "{not json", headers),
      await app.request("/nowhere", { headers }),
      await app.request("/healthz", { headers }),
      await app.request("/readyz", { headers }),
      await app.request("/metrics", { headers }),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 404, 400, 404, 200, 200, 200]);
    // A header set twice would read "rid-7, rid-7".
    for (const res of answers) expect(res.headers.get("x-request-id")).toBe("rid-7");
  });

  it("names the id on a probe that is not ready and on /metrics beside their own headers", async () => {
    const { app, service } = testApp();
    service.readinessState = { ready: false, reasons: ["iris: no target reachable"] };
    const headers = { "x-request-id": "rid-8" };
    const notReady = await app.request("/readyz", { headers });
    expect(notReady.status).toBe(503);
    expect(notReady.headers.get("x-request-id")).toBe("rid-8");
    expect(notReady.headers.get("content-type")).toMatch(/^application\/json/);
    const metrics = await app.request("/metrics", { headers });
    expect(metrics.headers.get("x-request-id")).toBe("rid-8");
    expect(metrics.headers.get("content-type")).toMatch(/^text\/plain/);
  });

  it("generates one when the client sends none, and hands the same id to the service", async () => {
    const { app, service } = testApp();
    const res = await postJson(app, "/v1/predict", IRIS);
    expect(res.headers.get("x-request-id")).toMatch(UUID);
    expect(service.calls[0]?.context.requestId).toBe(res.headers.get("x-request-id"));
  });
});

describe("prediction headers through @hono/node-server", () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.close();
    server = undefined;
  });

  async function listen(): Promise<number> {
    const { app } = testApp();
    const s = await new Promise<Server>((resolve) => {
      const started = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () =>
        resolve(started as Server),
      );
    });
    server = s;
    return (s.address() as AddressInfo).port;
  }

  function post(
    port: number,
    path: string,
    body: string,
  ): Promise<{ status: number; headers: IncomingHttpHeaders; raw: string[]; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          path,
          method: "POST",
          agent: false,
          headers: { "content-type": "application/json", "x-request-id": "rid-9" },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            text += chunk;
          });
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              raw: res.rawHeaders,
              body: text,
            }),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  it("answers /v1 with every header once, a content-length and no chunking", async () => {
    const port = await listen();
    const res = await post(port, "/v1/predict", JSON.stringify(IRIS));
    expect(res.status).toBe(200);
    const names = res.raw.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(names.filter((n) => n === "x-request-id")).toHaveLength(1);
    expect(res.headers["x-request-id"]).toBe("rid-9");
    expect(res.headers["content-type"]).toBe("application/json");
    expect(res.headers.vary).toBe("accept-encoding");
    expect(res.headers["x-infergate-version"]).toBe("1");
    expect(res.headers["x-infergate-backend"]).toBe("local");
    expect(res.headers["x-infergate-cache"]).toBe("miss");
    expect(res.headers["transfer-encoding"]).toBeUndefined();
    expect(res.headers["content-length"]).toBe(String(Buffer.byteLength(res.body)));
    expect(JSON.parse(res.body)).toMatchObject({ model: "iris", version: "1" });
  });

  it("answers /v2 infer with its JSON content type and the request id once", async () => {
    const port = await listen();
    const body = JSON.stringify({
      inputs: [{ name: "features", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] }],
    });
    const res = await post(port, "/v2/models/iris/infer", body);
    expect(res.status).toBe(200);
    const names = res.raw.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(names.filter((n) => n === "x-request-id")).toHaveLength(1);
    expect(res.headers["content-type"]).toBe("application/json");
    expect(res.headers["content-length"]).toBe(String(Buffer.byteLength(res.body)));
    expect(res.headers["inference-header-content-length"]).toBeUndefined();
  });

  it("puts the request id on an error answered through the error handler", async () => {
    const port = await listen();
    const res = await post(port, "/v1/predict", "{not json");
    expect(res.status).toBe(400);
    expect(res.headers["x-request-id"]).toBe("rid-9");
    expect(res.headers["content-type"]).toBe("application/json");
  });
});
