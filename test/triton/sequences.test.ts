/**
 * Request parameters and sequences through a real gateway to a Triton backend (the emulator,
 * behind a recording hop): parameters reach the backend, sequence requests are never batched or
 * cached by the gateway, and both v2 fronts accept them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestGateway, type TestGateway } from "../e2e/harness.js";
import type { EmulatorControl } from "../emulators/control.js";
import { startTritonEmulator } from "../emulators/triton/index.js";
import { type RecordingProxy, startRecordingProxy } from "./recording-proxy.js";
import {
  int32Values,
  type Message,
  simpleRequest,
  type TritonClient,
  tritonClient,
} from "./triton-client.js";

const A = Array.from({ length: 16 }, (_, i) => i);
const B = Array.from({ length: 16 }, () => 2);

let triton: EmulatorControl;
let proxy: RecordingProxy;
/** Two replicas of one Triton backend (both forward to the same emulator). */
let replicas: RecordingProxy[];
let gw: TestGateway;
let client: TritonClient;
beforeAll(async () => {
  triton = await startTritonEmulator({ rest: false });
  proxy = await startRecordingProxy(triton.grpcAddress ?? "");
  replicas = await Promise.all([0, 1].map(() => startRecordingProxy(triton.grpcAddress ?? "")));
  gw = await startTestGateway(`server: { host: 127.0.0.1, port: 0, grpcPort: 0 }
backends:
  triton: { type: triton, grpc: "${proxy.address}" }
  pair: { type: triton, grpc: ["${replicas[0]?.address}", "${replicas[1]?.address}"] }
models:
  simple:
    versions:
      "1": { backend: triton, model: simple }
    batching: { maxBatchSize: 8, maxDelayMs: 20 }
    cache: { ttlSeconds: 60 }
  split:
    versions:
      "1": { backend: triton, model: simple }
      "2": { backend: triton, model: simple }
    traffic: [{ version: "1", weight: 50 }, { version: "2", weight: 50 }]
  replicated:
    versions:
      "1": { backend: pair, model: simple }
  renamed:
    versions:
      "3": { backend: triton, model: simple }
`);
  client = tritonClient(gw.grpcAddress);
});
afterAll(async () => {
  client?.close();
  await gw?.stop();
  await proxy?.close();
  await Promise.all((replicas ?? []).map((r) => r.close()));
  await triton?.close();
});

const sequence = (id: number, start: boolean, end: boolean) => ({
  sequence_id: { int64_param: String(id) },
  sequence_start: { bool_param: start },
  sequence_end: { bool_param: end },
});

/** The plain values of a recorded request's parameters. */
function plain(req: Message | undefined): Record<string, unknown> {
  const params = (req?.parameters ?? {}) as Record<string, Record<string, unknown>>;
  return Object.fromEntries(
    Object.entries(params).map(([k, p]) => [k, p[String(p.parameter_choice)]]),
  );
}

describe("sequence parameters", () => {
  it("gRPC: sequence_id, sequence_start, sequence_end reach the Triton backend", async () => {
    const before = proxy.inferRequests.length;
    const res = await client.call("ModelInfer", {
      ...simpleRequest(A, B),
      parameters: { ...sequence(42, true, false), note: { string_param: "x" } },
    });
    expect(int32Values((res.raw_output_contents as Buffer[])[0])).toEqual(A.map((v) => v + 2));
    expect(plain(proxy.inferRequests[before])).toEqual({
      sequence_id: "42",
      sequence_start: true,
      sequence_end: false,
      note: "x",
    });
  });

  it("REST: the same parameters from v2 JSON reach the backend", async () => {
    const before = proxy.inferRequests.length;
    const res = await postJson(`${gw.url}/v2/models/simple/infer`, {
      parameters: { sequence_id: 7, sequence_start: false, sequence_end: true },
      inputs: [
        { name: "INPUT0", datatype: "INT32", shape: [1, 16], data: A },
        { name: "INPUT1", datatype: "INT32", shape: [1, 16], data: B },
      ],
    });
    expect(res.status).toBe(200);
    expect(plain(proxy.inferRequests[before])).toEqual({
      sequence_id: "7",
      sequence_start: false,
      sequence_end: true,
    });
  });

  it("concurrent sequence requests are sent one by one, never batched", async () => {
    const before = proxy.inferRequests.length;
    await Promise.all(
      [1, 2, 3, 4].map((id) =>
        client.call("ModelInfer", { ...simpleRequest(A, B), parameters: sequence(id, true, true) }),
      ),
    );
    const sent = proxy.inferRequests.slice(before);
    expect(sent.map((r) => (r.inputs as { shape: string[] }[])[0]?.shape[0])).toEqual([
      "1",
      "1",
      "1",
      "1",
    ]);
    expect(sent.map((r) => plain(r).sequence_id).sort()).toEqual(["1", "2", "3", "4"]);
  });

  it("a repeated sequence request is computed again, never answered from the cache", async () => {
    const before = proxy.inferRequests.length;
    const req = { ...simpleRequest(A, B), parameters: sequence(9, false, false) };
    await client.call("ModelInfer", req);
    await client.call("ModelInfer", req);
    expect(proxy.inferRequests.length - before).toBe(2);
    // Without parameters the same request is a cache hit the second time.
    await client.call("ModelInfer", simpleRequest(B, A));
    await client.call("ModelInfer", simpleRequest(B, A));
    expect(proxy.inferRequests.length - before).toBe(3);
  });
});

describe("model configuration of a Triton backend", () => {
  it("gRPC: the backend's own config under the gateway's model name and versions", async () => {
    const res = await client.call("ModelConfig", { name: "renamed", version: "" });
    const config = res.config as Message;
    expect(config.name).toBe("renamed");
    expect(config.backend).toBe("onnxruntime");
    expect(config.max_batch_size).toBe(4);
    expect(config.version_policy).toMatchObject({ specific: { versions: ["3"] } });
    expect((config.input as Message[])[0]).toMatchObject({ name: "INPUT0", dims: ["16"] });
  });

  it("REST: the same config as JSON", async () => {
    const res = await fetch(`${gw.url}/v2/models/renamed/config`);
    expect(res.status).toBe(200);
    const config = (await res.json()) as Message;
    expect(config).toMatchObject({
      name: "renamed",
      backend: "onnxruntime",
      max_batch_size: 4,
      version_policy: { specific: { versions: [3] } },
    });
  });
});

describe("input and output parameters", () => {
  /** A recorded request's tensors as name -> plain parameters. */
  const tensorParams = (req: Message | undefined, field: "inputs" | "outputs") =>
    Object.fromEntries(((req?.[field] ?? []) as Message[]).map((t) => [t.name, plain(t)]));

  it("gRPC: per-input and per-output parameters reach the backend; classification stays in the gateway", async () => {
    const before = proxy.inferRequests.length;
    const req = simpleRequest(A, B);
    const inputs = req.inputs as Message[];
    inputs[0] = { ...inputs[0], parameters: { scale: { double_param: 0.5 } } };
    await client.call("ModelInfer", {
      ...req,
      outputs: [
        {
          name: "OUTPUT0",
          parameters: { tag: { string_param: "t" }, classification: { int64_param: "2" } },
        },
        { name: "OUTPUT1", parameters: {} },
      ],
    });
    const sent = proxy.inferRequests[before];
    expect(tensorParams(sent, "inputs")).toEqual({ INPUT0: { scale: 0.5 }, INPUT1: {} });
    expect(tensorParams(sent, "outputs")).toEqual({ OUTPUT0: { tag: "t" }, OUTPUT1: {} });
  });

  it("REST: the same from v2 JSON, without the gateway's own binary_data keys", async () => {
    const before = proxy.inferRequests.length;
    const res = await postJson(`${gw.url}/v2/models/simple/infer`, {
      inputs: [
        { name: "INPUT0", datatype: "INT32", shape: [1, 16], data: A, parameters: { scale: 2 } },
        { name: "INPUT1", datatype: "INT32", shape: [1, 16], data: B },
      ],
      outputs: [{ name: "OUTPUT1", parameters: { binary_data: false, tag: "u" } }],
    });
    expect(res.status).toBe(200);
    const sent = proxy.inferRequests[before];
    expect(tensorParams(sent, "inputs")).toEqual({ INPUT0: { scale: "2" }, INPUT1: {} });
    expect(tensorParams(sent, "outputs")).toEqual({ OUTPUT1: { tag: "u" } });
  });
});

describe("sequence affinity", () => {
  const seqRequest = (model: string, id: number) => ({
    ...simpleRequest(A, B, model),
    parameters: sequence(id, false, false),
  });

  it("gRPC: a sequence stays on one version of a split; sequences spread over both", async () => {
    const versionsOf = async (id: number) => {
      const seen = new Set<string>();
      for (let i = 0; i < 8; i++) {
        const res = await client.call("ModelInfer", seqRequest("split", id));
        seen.add(String(res.model_version));
      }
      return [...seen];
    };
    const perSequence = await Promise.all(
      Array.from({ length: 12 }, (_, id) => versionsOf(id + 1)),
    );
    for (const seen of perSequence) expect(seen).toHaveLength(1);
    expect(new Set(perSequence.map((s) => s[0])).size).toBe(2);
  });

  it("REST: the same sequence id reaches the same version as over gRPC", async () => {
    for (const id of [3, 4, 5]) {
      const grpcVersion = String(
        (await client.call("ModelInfer", seqRequest("split", id))).model_version,
      );
      const res = await postJson(`${gw.url}/v2/models/split/infer`, {
        parameters: { sequence_id: id },
        inputs: [
          { name: "INPUT0", datatype: "INT32", shape: [1, 16], data: A },
          { name: "INPUT1", datatype: "INT32", shape: [1, 16], data: B },
        ],
      });
      expect((res.body as { model_version: string }).model_version).toBe(grpcVersion);
    }
  });

  it("a sequence stays on one replica of a backend; sequences spread over both", async () => {
    const seenBy = (id: number) =>
      replicas.map(
        (r) => r.inferRequests.filter((q) => plain(q).sequence_id === String(id)).length,
      );
    for (let id = 100; id < 110; id++) {
      for (let i = 0; i < 4; i++) await client.call("ModelInfer", seqRequest("replicated", id));
    }
    const counts = Array.from({ length: 10 }, (_, k) => seenBy(100 + k));
    for (const [a, b] of counts) expect([a, b].sort()).toEqual([0, 4]);
    expect(counts.some(([a]) => a === 4)).toBe(true);
    expect(counts.some(([, b]) => b === 4)).toBe(true);
  });
});

describe("ModelStreamInfer deadlines and cancellation", () => {
  it("a stream past its deadline ends DEADLINE_EXCEEDED and the backend call is cancelled", async () => {
    triton.setMode({ kind: "stall" });
    const before = proxy.cancelled.count;
    try {
      const started = Date.now();
      const err = await client
        .stream([simpleRequest(A, B, "renamed")], { deadline: Date.now() + 300 })
        .then(
          () => undefined,
          (e: { code?: number }) => e,
        );
      expect(err?.code).toBe(4);
      expect(Date.now() - started).toBeLessThan(3000);
      await expect.poll(() => proxy.cancelled.count).toBe(before + 1);
    } finally {
      triton.setMode({ kind: "ok" });
    }
  });

  it("cancelling the stream cancels the backend call in flight", async () => {
    triton.setMode({ kind: "stall" });
    const before = proxy.cancelled.count;
    const sent = proxy.inferRequests.length;
    try {
      const stream = client.openStream();
      stream.on("error", () => {});
      stream.write(simpleRequest(A, B, "renamed"));
      await expect.poll(() => proxy.inferRequests.length).toBe(sent + 1);
      stream.cancel();
      await expect.poll(() => proxy.cancelled.count).toBe(before + 1);
    } finally {
      triton.setMode({ kind: "ok" });
    }
  });
});
