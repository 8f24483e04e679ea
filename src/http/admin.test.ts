import { describe, expect, it } from "vitest";
import { postJson, testApp } from "../../test/support/http-app.js";

describe("routing admin routes", () => {
  it("serves the routing table at GET /admin/routes", async () => {
    const { app } = testApp();
    const res = await app.request("/admin/routes");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { models: Record<string, unknown> };
    expect(body.models.iris).toMatchObject({
      labels: { stable: "1", canary: "2" },
      default: "1",
      versions: { "1": { backend: "local", model: "iris" } },
    });
  });

  it("sets a split with POST /admin/models/:m/traffic and answers the model's new entry", async () => {
    const { app, service } = testApp();
    const traffic = [
      { version: "1", weight: 80 },
      { version: "2", weight: 20 },
    ];
    const res = await postJson(app, "/admin/models/iris/traffic", { traffic });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ traffic: { source: "runtime", weights: traffic } });
    expect(service.traffic.get("iris")).toEqual(traffic);
  });

  it("answers a bad split with 400 INVALID_REQUEST and path lines", async () => {
    const { app, service } = testApp();
    const schema = await postJson(app, "/admin/models/iris/traffic", {
      traffic: [{ version: "1", weight: -5 }],
    });
    expect(schema.status).toBe(400);
    const schemaBody = (await schema.json()) as { error: { code: string; details: string[] } };
    expect(schemaBody.error.code).toBe("INVALID_REQUEST");
    expect(schemaBody.error.details).toEqual([expect.stringMatching(/^traffic\[0\]\.weight: /)]);

    const unknown = await postJson(app, "/admin/models/iris/traffic", {
      traffic: [{ version: "9", weight: 1 }],
    });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({
      error: {
        code: "INVALID_REQUEST",
        message: "invalid traffic split",
        details: ['traffic[0].version: unknown version "9"'],
      },
    });

    const shape = await postJson(app, "/admin/models/iris/traffic", { weights: [] });
    expect(shape.status).toBe(400);
    const malformed = await postJson(app, "/admin/models/iris/traffic", "{not json");
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: "INVALID_REQUEST" } });
    expect(service.traffic.size).toBe(0);
  });

  it("answers an unknown model with 404 MODEL_NOT_FOUND", async () => {
    const { app } = testApp();
    const res = await postJson(app, "/admin/models/nope/traffic", {
      traffic: [{ version: "1", weight: 1 }],
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "MODEL_NOT_FOUND" } });
  });
});
