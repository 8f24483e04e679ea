/**
 * Keys end to end on a real gateway (docs/access.md): 401 without or with a wrong key, 403 for a
 * model outside the key's list and for admin routes without an admin key, the same answers over
 * gRPC, per-tenant cache entries and job ownership.
 */
import type { ServiceError } from "@grpc/grpc-js";
import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tritonClient } from "../triton/triton-client.js";
import { bearer, codeOf, ownJobsDir, sha } from "./auth-support.js";
import { MODELS_DIR, postJson, startTestGateway, type TestGateway } from "./harness.js";
import { kserveClient } from "./kserve-client.js";

const KEY_A = "key-of-team-a-0123456789";
const KEY_B = "key-of-team-b-0123456789";
const KEY_ADMIN = "key-of-the-admin-0123456789";

const config = `server: { host: 127.0.0.1, port: 0, grpcPort: 0 }
${ownJobsDir()}
backends:
  local: { type: onnx, modelDir: ${MODELS_DIR} }
defaults:
  cache: { ttlSeconds: 60 }
models:
  iris:
    versions: { "1": { backend: local, model: iris, version: "1" } }
  irisShared:
    versions: { "1": { backend: local, model: iris, version: "1" } }
    cache: { ttlSeconds: 60, shared: true }
  ops:
    versions: { "1": { backend: local, model: ops } }
auth:
  keys:
    - { id: team-a, hash: "${sha(KEY_A)}", models: ["iris*"] }
    - { id: team-b, hash: "${sha(KEY_B)}", models: ["iris", "irisShared"] }
    - { id: ops-admin, hash: "${sha(KEY_ADMIN)}", admin: true }
`;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(config);
});
afterAll(async () => {
  await gw?.stop();
});

const row = (x: number) => ({ inputs: [[x, 3.5, 1.4, 0.2]] });
const predict = (model: string, body: unknown, headers: Record<string, string>) =>
  postJson(`${gw.url}/v1/models/${model}/predict`, body, headers);

/** Waits until the job or batch at `path` (as `key` sees it) has succeeded. */
const finished = (path: string, key: string) =>
  expect
    .poll(
      async () => {
        const res = await fetch(`${gw.url}${path}`, { headers: bearer(key) });
        return ((await res.json()) as { status: string }).status;
      },
      { timeout: 20_000, interval: 50 },
    )
    .toBe("succeeded");

describe("HTTP keys", () => {
  it("answers 401 UNAUTHENTICATED without a key and with a wrong key", async () => {
    const none = await predict("iris", row(5), {});
    expect(none.status).toBe(401);
    expect(codeOf(none.body)).toBe("UNAUTHENTICATED");
    const wrong = await predict("iris", row(5), bearer("not-a-key"));
    expect(wrong.status).toBe(401);
    expect(codeOf(wrong.body)).toBe("UNAUTHENTICATED");
  });

  it("accepts a key as Bearer or x-api-key, and refuses a model outside its list with 403", async () => {
    const ok = await predict("iris", row(5), bearer(KEY_A));
    expect(ok.status).toBe(200);
    const viaHeader = await predict("iris", row(5), { "x-api-key": KEY_A });
    expect(viaHeader.status).toBe(200);
    const forbidden = await predict("ops", { inputs: { a: [1] } }, bearer(KEY_A));
    expect(forbidden.status).toBe(403);
    expect(codeOf(forbidden.body)).toBe("PERMISSION_DENIED");
    // The model in the body counts like the one in the path.
    const inBody = await postJson(
      `${gw.url}/v1/predict`,
      { model: "ops", inputs: {} },
      bearer(KEY_A),
    );
    expect(inBody.status).toBe(403);
    // KServe v2 paths are checked too, with the v2 error body.
    const v2 = await fetch(`${gw.url}/v2/models/ops`, { headers: bearer(KEY_B) });
    expect(v2.status).toBe(403);
  });

  it("keeps /healthz open and /metrics behind a key", async () => {
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${gw.url}/metrics`, { headers: bearer(KEY_B) })).status).toBe(200);
  });

  it("serves /admin/* only to an admin key: 401 without a key, 403 with another", async () => {
    expect((await fetch(`${gw.url}/admin/routes`)).status).toBe(401);
    const plain = await fetch(`${gw.url}/admin/routes`, { headers: bearer(KEY_A) });
    expect(plain.status).toBe(403);
    expect(codeOf(await plain.json())).toBe("PERMISSION_DENIED");
    expect((await fetch(`${gw.url}/admin/routes`, { headers: bearer(KEY_ADMIN) })).status).toBe(
      200,
    );
  });
});

describe("tenants", () => {
  it("keeps cache entries per tenant unless the model's cache is shared", async () => {
    const a = await predict("iris", row(6.1), bearer(KEY_A));
    expect(a.headers.get("x-infergate-cache")).toBe("miss");
    expect((await predict("iris", row(6.1), bearer(KEY_A))).headers.get("x-infergate-cache")).toBe(
      "hit",
    );
    const b = await predict("iris", row(6.1), bearer(KEY_B));
    expect(b.status).toBe(200);
    expect(b.headers.get("x-infergate-cache")).toBe("miss");
    expect(b.body).toEqual(a.body);

    expect(
      (await predict("irisShared", row(6.2), bearer(KEY_A))).headers.get("x-infergate-cache"),
    ).toBe("miss");
    expect(
      (await predict("irisShared", row(6.2), bearer(KEY_B))).headers.get("x-infergate-cache"),
    ).toBe("hit");
  });

  it("gives another tenant 404 for a job", async () => {
    const submit = await postJson(`${gw.url}/v1/models/iris/async/predict`, row(5), bearer(KEY_A));
    expect(submit.status).toBe(202);
    const id = (submit.body as { id: string }).id;
    const mine = await fetch(`${gw.url}/v1/async/${id}`, { headers: bearer(KEY_A) });
    expect(mine.status).toBe(200);
    const theirs = await fetch(`${gw.url}/v1/async/${id}`, { headers: bearer(KEY_B) });
    expect(theirs.status).toBe(404);
    expect(codeOf(await theirs.json())).toBe("JOB_NOT_FOUND");
  });

  it("runs an async job as its tenant: its answer lands in that tenant's cache only", async () => {
    const submit = await postJson(
      `${gw.url}/v1/models/iris/async/predict`,
      row(5.7),
      bearer(KEY_A),
    );
    expect(submit.status).toBe(202);
    const id = (submit.body as { id: string }).id;
    await finished(`/v1/async/${id}`, KEY_A);
    const a = await predict("iris", row(5.7), bearer(KEY_A));
    expect(a.headers.get("x-infergate-cache")).toBe("hit");
    const b = await predict("iris", row(5.7), bearer(KEY_B));
    expect(b.headers.get("x-infergate-cache")).toBe("miss");
  });

  it("gives another tenant 404 for a batch, and leaves it out of their list", async () => {
    const record = JSON.stringify({ id: "r1", inputs: { input: [[5.1, 3.5, 1.4, 0.2]] } });
    const up = await fetch(`${gw.url}/v1/files?name=tenant-a/in.jsonl`, {
      method: "POST",
      headers: bearer(KEY_A),
      body: `${record}\n`,
    });
    expect(up.status).toBe(201);
    const created = await postJson(
      `${gw.url}/v1/batches`,
      {
        model: "iris",
        input: { path: "tenant-a/in.jsonl" },
        output: { path: "tenant-a/out.jsonl" },
      },
      bearer(KEY_A),
    );
    expect(created.status).toBe(202);
    const { id, input } = created.body as { id: string; input: { path: string } };
    // The tenant sees its own names, not where its file space lies.
    expect(input.path).toBe("tenant-a/in.jsonl");
    expect((await fetch(`${gw.url}/v1/batches/${id}`, { headers: bearer(KEY_A) })).status).toBe(
      200,
    );
    const theirs = await fetch(`${gw.url}/v1/batches/${id}`, { headers: bearer(KEY_B) });
    expect(theirs.status).toBe(404);
    expect(codeOf(await theirs.json())).toBe("JOB_NOT_FOUND");
    const list = (await (
      await fetch(`${gw.url}/v1/batches`, { headers: bearer(KEY_B) })
    ).json()) as {
      data: { id: string }[];
    };
    expect(list.data.map((b) => b.id)).not.toContain(id);
    await finished(`/v1/batches/${id}`, KEY_A);
    const out = await fetch(`${gw.url}/v1/files/tenant-a/out.jsonl`, { headers: bearer(KEY_A) });
    expect(out.status).toBe(200);
    expect(await out.text()).toContain('"id":"r1"');
    const outForB = await fetch(`${gw.url}/v1/files/tenant-a/out.jsonl`, {
      headers: bearer(KEY_B),
    });
    expect(outForB.status).toBe(404);
  });

  it("keeps each tenant's files apart: same name, own content, none of the other's", async () => {
    const put = (key: string, body: string) =>
      fetch(`${gw.url}/v1/files?name=same.jsonl`, { method: "POST", headers: bearer(key), body });
    const get = (key: string) => fetch(`${gw.url}/v1/files/same.jsonl`, { headers: bearer(key) });
    expect((await put(KEY_A, "from a\n")).status).toBe(201);
    const missing = await get(KEY_B);
    expect(missing.status).toBe(404);
    expect(codeOf(await missing.json())).toBe("JOB_NOT_FOUND");
    expect((await put(KEY_B, "from b\n")).status).toBe(201);
    expect(await (await get(KEY_A)).text()).toBe("from a\n");
    expect(await (await get(KEY_B)).text()).toBe("from b\n");
  });

  it("refuses a batch on a model outside the key's list with 403", async () => {
    const refused = await postJson(
      `${gw.url}/v1/batches`,
      { model: "ops", input: { path: "in.jsonl" }, output: { path: "out.jsonl" } },
      bearer(KEY_B),
    );
    expect(refused.status).toBe(403);
    expect(codeOf(refused.body)).toBe("PERMISSION_DENIED");
  });

  it("keeps gRPC cache entries per tenant too", async () => {
    const client = kserveClient(gw.grpcAddress);
    const infer = async (key: string) => {
      const { metadata } = await client.callWithMetadata(
        "ModelInfer",
        {
          model_name: "iris",
          inputs: [{ name: "input", datatype: "FP32", shape: [1, 4] }],
          raw_input_contents: [Buffer.from(new Float32Array([6.6, 3.1, 4.4, 1.4]).buffer)],
        },
        bearer(key),
      );
      return metadata.get("x-infergate-cache")[0];
    };
    try {
      expect(await infer(KEY_A)).toBe("miss");
      expect(await infer(KEY_A)).toBe("hit");
      expect(await infer(KEY_B)).toBe("miss");
    } finally {
      client.close();
    }
  });
});

describe("gRPC keys", () => {
  const grpcError = async (promise: Promise<unknown>): Promise<ServiceError> => {
    try {
      await promise;
    } catch (err) {
      return err as ServiceError;
    }
    throw new Error("the call succeeded");
  };

  it("answers UNAUTHENTICATED, PERMISSION_DENIED and OK as the key decides", async () => {
    const client = kserveClient(gw.grpcAddress);
    try {
      const live = await client.call("ServerLive", {});
      expect(live.live).toBe(true);
      const none = await grpcError(client.call("ModelMetadata", { name: "iris" }));
      expect(none.code).toBe(status.UNAUTHENTICATED);
      const wrong = await grpcError(
        client.call("ModelMetadata", { name: "iris" }, { authorization: "Bearer nope" }),
      );
      expect(wrong.code).toBe(status.UNAUTHENTICATED);
      const forbidden = await grpcError(
        client.call("ModelMetadata", { name: "ops" }, bearer(KEY_A)),
      );
      expect(forbidden.code).toBe(status.PERMISSION_DENIED);
      const ok = await client.call("ModelMetadata", { name: "iris" }, bearer(KEY_A));
      expect(ok.name).toBe("iris");
    } finally {
      client.close();
    }
  });
});

describe("admin listener with auth", () => {
  it("serves /admin/* only there, and only to an admin key", async () => {
    const withPort = await startTestGateway(
      config
        .replace("port: 0, grpcPort: 0 }", "port: 0, grpcPort: 0, adminPort: 0 }")
        .replace(/^jobs: .*$/m, ownJobsDir()),
    );
    try {
      const admin = `http://127.0.0.1:${withPort.adminPort}`;
      expect((await fetch(`${admin}/admin/routes`)).status).toBe(401);
      expect((await fetch(`${admin}/admin/routes`, { headers: bearer(KEY_A) })).status).toBe(403);
      expect((await fetch(`${admin}/admin/routes`, { headers: bearer(KEY_ADMIN) })).status).toBe(
        200,
      );
      // Not on the public port, even with the admin key.
      const onPublic = await fetch(`${withPort.url}/admin/routes`, { headers: bearer(KEY_ADMIN) });
      expect(onPublic.status).toBe(404);
    } finally {
      await withPort.stop();
    }
  });

  it("authenticates a ModelStreamInfer stream and checks each of its requests' model", async () => {
    const client = tritonClient(gw.grpcAddress);
    const irisRequest = (model: string) => ({
      model_name: model,
      inputs: [
        {
          name: "input",
          datatype: "FP32",
          shape: [1, 4],
          contents: { fp32_contents: [5, 3, 1, 0] },
        },
      ],
    });
    const withKey = (key: string) => {
      const metadata = new Metadata();
      metadata.set("authorization", `Bearer ${key}`);
      return metadata;
    };
    const streamError = (answer: Promise<unknown>) =>
      answer.then(
        () => {
          throw new Error("the stream succeeded");
        },
        (err: unknown) => err as ServiceError,
      );
    try {
      const none = await streamError(client.stream([irisRequest("iris")]));
      expect(none.code).toBe(status.UNAUTHENTICATED);
      const wrong = await streamError(
        client.stream([irisRequest("iris")], undefined, withKey("nope")),
      );
      expect(wrong.code).toBe(status.UNAUTHENTICATED);
      // A good key: its model answers; a model outside its list is that response's error.
      const answers = await client.stream(
        [irisRequest("iris"), irisRequest("ops")],
        undefined,
        withKey(KEY_A),
      );
      expect(answers).toHaveLength(2);
      expect(answers[0]?.error_message).toBe("");
      expect(String(answers[1]?.error_message)).toMatch(/ops/);
    } finally {
      client.close();
    }
  });
});
