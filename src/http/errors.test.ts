import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { InvalidRequestError, OverloadedError } from "../errors.js";
import type { AppEnv, HttpLogger } from "./deps.js";
import { errorHandler, unifiedErrorBody, v2ErrorBody } from "./errors.js";

const logged: unknown[] = [];
const logger: HttpLogger = { error: (obj) => logged.push(obj), warn: () => {} };

/** A parent app with the path-chosen handler and one sub-app per front, each with its encoder. */
function app(): Hono<AppEnv> {
  const v2 = new Hono<AppEnv>();
  v2.onError(errorHandler({ logger, body: v2ErrorBody }));
  v2.get("/shared/v2", () => {
    throw new OverloadedError("queue full", 2.2);
  });
  const unified = new Hono<AppEnv>();
  unified.onError(errorHandler({ logger, body: unifiedErrorBody }));
  unified.get("/v2/unified", () => {
    throw new InvalidRequestError("bad split", { details: ["traffic[0].weight: too big"] });
  });
  const root = new Hono<AppEnv>();
  root.route("/", v2);
  root.route("/", unified);
  root.get("/v2/root", () => {
    throw new InvalidRequestError("before any front");
  });
  root.onError(errorHandler({ logger }));
  return root;
}

describe("error encoders", () => {
  it("a front's own encoder writes its errors, whatever the path looks like", async () => {
    const v2 = await app().request("/shared/v2");
    expect(v2.status).toBe(503);
    expect(v2.headers.get("retry-after")).toBe("3");
    expect(await v2.json()).toEqual({ error: "queue full" });

    const unified = await app().request("/v2/unified");
    expect(unified.status).toBe(400);
    expect(await unified.json()).toEqual({
      error: {
        code: "INVALID_REQUEST",
        message: "bad split",
        details: ["traffic[0].weight: too big"],
      },
    });
  });

  it("an error outside every front gets the body of its path's route family", async () => {
    const res = await app().request("/v2/root");
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "before any front" });
    expect(logged).toEqual([]);
  });
});
