/**
 * Triton's extensions on a real gateway (in-process ONNX model "simple"), through a gRPC client
 * built from Triton's own protos and plain HTTP: raw outputs, statistics, model configuration,
 * repository index, unsupported calls, streaming and Triton's error wording.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localConfig, postJson, startTestGateway, type TestGateway } from "../e2e/harness.js";
import {
  int32Raw,
  int32Values,
  type Message,
  simpleRequest,
  type TritonClient,
  tritonClient,
} from "./triton-client.js";

const A = Array.from({ length: 16 }, (_, i) => i);
const B = Array.from({ length: 16 }, () => 1);
const SUM = A.map((v, i) => v + (B[i] ?? 0));
const DIFF = A.map((v, i) => v - (B[i] ?? 0));

let gw: TestGateway;
let client: TritonClient;
beforeAll(async () => {
  gw = await startTestGateway(
    localConfig(`  simple:
    versions:
      "1": { backend: local, model: simple }
    batching: { maxBatchSize: 8, maxDelayMs: 1 }
  unbatched:
    versions:
      "1": { backend: local, model: simple }
      "2": { backend: local, model: simple }
  irisc:
    versions:
      "1": { backend: local, model: iris, labels: [setosa, versicolor, virginica] }
  broken:
    versions:
      "1": { backend: nowhere }
`).replace(
      "backends:\n",
      'backends:\n  nowhere: { type: triton, url: "http://127.0.0.1:9", protocol: rest }\n',
    ),
  );
  client = tritonClient(gw.grpcAddress);
});
afterAll(async () => {
  client?.close();
  await gw?.stop();
});

const restInfer = (model: string, body: unknown) =>
  postJson(`${gw.url}/v2/models/${model}/infer`, body);
const restBody = {
  inputs: [
    { name: "INPUT0", datatype: "INT32", shape: [1, 16], data: A },
    { name: "INPUT1", datatype: "INT32", shape: [1, 16], data: B },
  ],
};
const getJson = async (path: string) => {
  const res = await fetch(`${gw.url}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe("ModelInfer answers", () => {
  it("gRPC: a typed request is answered in raw_output_contents", async () => {
    const res = await client.call("ModelInfer", simpleRequest(A, B));
    const outputs = res.outputs as Message[];
    expect(outputs.map((o) => [o.name, o.datatype, o.shape, o.contents])).toEqual([
      ["OUTPUT0", "INT32", ["1", "16"], null],
      ["OUTPUT1", "INT32", ["1", "16"], null],
    ]);
    const raw = res.raw_output_contents as Buffer[];
    expect(int32Values(raw[0])).toEqual(SUM);
    expect(int32Values(raw[1])).toEqual(DIFF);
  });

  it("gRPC: a raw request is answered raw", async () => {
    const req = simpleRequest(A, B);
    for (const input of req.inputs as Message[]) delete input.contents;
    req.raw_input_contents = [int32Raw(A), int32Raw(B)];
    const res = await client.call("ModelInfer", req);
    expect(int32Values((res.raw_output_contents as Buffer[])[1])).toEqual(DIFF);
  });

  it("REST: v2 JSON in, v2 JSON out", async () => {
    const res = await restInfer("simple", restBody);
    expect(res.status).toBe(200);
    const outputs = (res.body as { outputs: Message[] }).outputs;
    expect(outputs.map((o) => [o.name, o.data])).toEqual([
      ["OUTPUT0", SUM],
      ["OUTPUT1", DIFF],
    ]);
  });
});

describe("statistics", () => {
  it("REST and gRPC count successes, failures, inferences and batch sizes per version", async () => {
    const v1 = "unbatched/versions/1";
    for (let i = 0; i < 3; i++) expect((await restInfer(v1, restBody)).status).toBe(200);
    await client.call("ModelInfer", { ...simpleRequest(A, B, "unbatched"), model_version: "1" });
    const bad = await restInfer(v1, { inputs: restBody.inputs.slice(0, 1) });
    expect(bad.status).toBe(400);

    const rest = await getJson("/v2/models/unbatched/versions/1/stats");
    expect(rest.status).toBe(200);
    const [stats] = rest.body.model_stats as Message[];
    expect(stats?.name).toBe("unbatched");
    expect(stats?.version).toBe("1");
    expect(stats?.inference_count).toBe(4);
    expect(stats?.execution_count).toBe(4);
    expect(stats?.last_inference).toBeGreaterThan(Date.now() - 60_000);
    const infer = stats?.inference_stats as Record<string, { count: number; ns: number }>;
    expect(infer.success?.count).toBe(4);
    expect(infer.success?.ns).toBeGreaterThan(0);
    expect(infer.fail?.count).toBe(1);
    expect(infer.compute_infer?.count).toBe(4);
    expect(infer.cache_hit?.count).toBe(0);
    expect((stats?.batch_stats as Message[] | undefined)?.map((b) => b.batch_size)).toEqual([1]);

    const grpc = await client.call("ModelStatistics", { name: "unbatched", version: "1" });
    const [g] = grpc.model_stats as Message[];
    expect(g?.inference_count).toBe("4");
    const gInfer = g?.inference_stats as Record<string, { count: string; ns: string }>;
    expect(gInfer.success?.count).toBe("4");
    expect(gInfer.fail?.count).toBe("1");
    expect(BigInt(gInfer.success?.ns ?? "0")).toBeGreaterThan(0n);
  });

  it("lists every version without one, every model without a name", async () => {
    const versions = await getJson("/v2/models/unbatched/stats");
    expect((versions.body.model_stats as Message[]).map((s) => s.version)).toEqual(["1", "2"]);
    const all = await client.call("ModelStatistics", { name: "", version: "" });
    const names = (all.model_stats as Message[]).map((s) => `${s.name}/${s.version}`);
    expect(names).toEqual(expect.arrayContaining(["simple/1", "unbatched/2", "iris/1"]));
  });

  it("counts the batcher's queue time and batch sizes", async () => {
    await Promise.all(
      Array.from({ length: 4 }, () => client.call("ModelInfer", simpleRequest(A, B))),
    );
    const { body } = await getJson("/v2/models/simple/versions/1/stats");
    const [stats] = body.model_stats as Message[];
    const infer = stats?.inference_stats as Record<string, { count: number; ns: number }>;
    expect(infer.queue?.count).toBeGreaterThanOrEqual(4);
    const batches = stats?.batch_stats as {
      batch_size: number;
      compute_infer: { count: number };
    }[];
    const rows = batches.reduce((n, b) => n + b.batch_size * b.compute_infer.count, 0);
    expect(rows).toBe(stats?.inference_count);
    expect(stats?.execution_count).toBe(batches.reduce((n, b) => n + b.compute_infer.count, 0));
  });

  it("unknown models are not found in Triton's words on both", async () => {
    const rest = await getJson("/v2/models/ghost/stats");
    expect(rest).toEqual({
      status: 404,
      body: { error: "Request for unknown model: 'ghost' is not found" },
    });
    const err = await client.callError("ModelStatistics", { name: "ghost", version: "" });
    expect([err.code, err.details]).toEqual([5, "Request for unknown model: 'ghost' is not found"]);
  });
});

describe("model configuration", () => {
  it("REST: built from metadata, batch dimension left out under batching", async () => {
    const { status, body } = await getJson("/v2/models/simple/config");
    expect(status).toBe(200);
    expect(body).toMatchObject({
      name: "simple",
      platform: "onnxruntime_onnx",
      max_batch_size: 8,
      input: [
        { name: "INPUT0", data_type: "TYPE_INT32", dims: [16] },
        { name: "INPUT1", data_type: "TYPE_INT32", dims: [16] },
      ],
      output: [
        { name: "OUTPUT0", data_type: "TYPE_INT32", dims: [16] },
        { name: "OUTPUT1", data_type: "TYPE_INT32", dims: [16] },
      ],
    });
  });

  it("gRPC: the ModelConfig message; without batching dims keep every dimension", async () => {
    const res = await client.call("ModelConfig", { name: "unbatched", version: "2" });
    const config = res.config as Message;
    expect(config.name).toBe("unbatched");
    expect(config.max_batch_size).toBe(0);
    expect((config.input as Message[]).map((t) => [t.name, t.data_type, t.dims])).toEqual([
      ["INPUT0", "TYPE_INT32", ["-1", "16"]],
      ["INPUT1", "TYPE_INT32", ["-1", "16"]],
    ]);
    const batched = await client.call("ModelConfig", { name: "simple", version: "" });
    expect((batched.config as Message).max_batch_size).toBe(8);
    expect(((batched.config as Message).output as Message[])[0]?.dims).toEqual(["16"]);
  });
});

describe("repository index", () => {
  it("REST: every model version with READY or UNAVAILABLE; ready:true keeps the ready", async () => {
    const res = await postJson(`${gw.url}/v2/repository/index`, {});
    expect(res.status).toBe(200);
    const index = res.body as Message[];
    expect(index).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "simple", version: "1", state: "READY" }),
        expect.objectContaining({ name: "unbatched", version: "2", state: "READY" }),
        expect.objectContaining({ name: "broken", version: "1", state: "UNAVAILABLE" }),
      ]),
    );
    const ready = (await postJson(`${gw.url}/v2/repository/index`, { ready: true }))
      .body as Message[];
    expect(ready.some((e) => e.name === "broken")).toBe(false);
    expect(ready.some((e) => e.name === "simple")).toBe(true);
  });

  it("gRPC: RepositoryIndex lists the same", async () => {
    const res = await client.call("RepositoryIndex", { repository_name: "", ready: false });
    const models = res.models as Message[];
    expect(models.find((m) => m.name === "broken")?.state).toBe("UNAVAILABLE");
    expect(models.find((m) => m.name === "simple")?.state).toBe("READY");
  });
});

describe("what a gateway cannot offer", () => {
  it("REST: load, unload, shared memory, trace and log settings are 501 with the reason", async () => {
    for (const [method, path] of [
      ["POST", "/v2/repository/models/simple/load"],
      ["POST", "/v2/repository/models/simple/unload"],
      ["GET", "/v2/systemsharedmemory/status"],
      ["POST", "/v2/cudasharedmemory/region/r/register"],
      ["GET", "/v2/trace/setting"],
      ["GET", "/v2/logging"],
    ] as const) {
      const res = await fetch(`${gw.url}${path}`, { method });
      expect([path, res.status]).toEqual([path, 501]);
      expect(((await res.json()) as { error: string }).error).toMatch(/not available through/);
    }
  });

  it("gRPC: the same calls are UNIMPLEMENTED (12) with the reason", async () => {
    for (const method of [
      "RepositoryModelLoad",
      "RepositoryModelUnload",
      "SystemSharedMemoryStatus",
      "CudaSharedMemoryRegister",
      "TraceSetting",
      "LogSettings",
    ]) {
      const err = await client.callError(method, {});
      expect([method, err.code]).toEqual([method, 12]);
      expect(err.details).toMatch(/not available through/);
    }
  });
});

describe("ModelStreamInfer", () => {
  it("answers each request in order; a failing one is its error_message and the stream goes on", async () => {
    const answers = await client.stream([
      { ...simpleRequest(A, B), id: "a" },
      { ...simpleRequest(A, B, "ghost"), id: "b" },
      { ...simpleRequest(B, A), id: "c" },
    ]);
    expect(answers.map((m) => m.error_message)).toEqual([
      "",
      "Request for unknown model: 'ghost' is not found",
      "",
    ]);
    const first = answers[0]?.infer_response as Message;
    const third = answers[2]?.infer_response as Message;
    expect([first.id, third.id]).toEqual(["a", "c"]);
    expect(int32Values((first.raw_output_contents as Buffer[])[0])).toEqual(SUM);
    expect(int32Values((third.raw_output_contents as Buffer[])[1])).toEqual(DIFF.map((d) => 0 - d));
  });

  it("keeps order over more requests than it runs at once", async () => {
    const requests = Array.from({ length: 40 }, (_, i) => ({
      ...simpleRequest(
        A.map((v) => v + i),
        B,
      ),
      id: String(i),
    }));
    const answers = await client.stream(requests);
    expect(answers.map((m) => (m.infer_response as Message).id)).toEqual(requests.map((r) => r.id));
  });
});

describe("Triton's error wording on the v2 fronts", () => {
  it("unknown model and version, REST and gRPC", async () => {
    const rest = await restInfer("ghost", restBody);
    expect([rest.status, rest.body]).toEqual([
      404,
      { error: "Request for unknown model: 'ghost' is not found" },
    ]);
    const version = await getJson("/v2/models/simple/versions/7");
    expect(version.body.error).toBe("Request for unknown model: 'simple' version 7 is not found");
    const err = await client.callError("ModelInfer", simpleRequest(A, B, "ghost"));
    expect([err.code, err.details]).toEqual([5, "Request for unknown model: 'ghost' is not found"]);
  });

  it("wrong inputs, REST and gRPC", async () => {
    const rest = await restInfer("simple", { inputs: restBody.inputs.slice(0, 1) });
    expect(rest.status).toBe(400);
    expect((rest.body as { error: string }).error).toBe(
      "expected 2 inputs but got 1 inputs for model 'simple'. Got input(s) ['INPUT0'], but missing required input(s) ['INPUT1']. Please provide all required input(s).",
    );
    const req = simpleRequest(A, B);
    (req.inputs as Message[])[1] = { ...(req.inputs as Message[])[1], name: "INPUTX" };
    const err = await client.callError("ModelInfer", req);
    expect([err.code, err.details]).toEqual([
      3,
      "unexpected inference input 'INPUTX' for model 'simple'",
    ]);
  });
});

describe("classification", () => {
  const SETOSA = [5.1, 3.5, 1.4, 0.2];
  /** "value:index:label" split into its parts, the value as a number. */
  const parts = (s: string) => {
    const [v, i, label] = s.split(":");
    return { value: Number(v), index: Number(i), label };
  };

  it("REST v2: classification K answers top-K BYTES value:index:label", async () => {
    const res = await restInfer("irisc", {
      inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: SETOSA }],
      outputs: [{ name: "probabilities", parameters: { classification: 2 } }],
    });
    expect(res.status).toBe(200);
    const [out] = (res.body as { outputs: Message[] }).outputs;
    expect([out?.datatype, out?.shape]).toEqual(["BYTES", [1, 2]]);
    const data = (out?.data ?? []) as string[];
    const [first, second] = data.map(parts);
    expect(first?.label).toBe("setosa");
    expect(first?.index).toBe(0);
    expect(first?.value).toBeGreaterThan(second?.value ?? 1);
    expect(String(data[0]).split(":")[0]).toMatch(/^\d\.\d{6}$/);
  });

  it("gRPC: the classification parameter answers the same, raw", async () => {
    const res = await client.call("ModelInfer", {
      model_name: "simple",
      inputs: simpleRequest(A, B).inputs as Message[],
      outputs: [{ name: "OUTPUT0", parameters: { classification: { int64_param: "3" } } }],
    });
    const [out] = res.outputs as Message[];
    expect([out?.name, out?.datatype, out?.shape]).toEqual(["OUTPUT0", "BYTES", ["1", "3"]]);
    const raw = Buffer.from((res.raw_output_contents as Buffer[])[0] ?? []);
    const strings: string[] = [];
    for (let at = 0; at < raw.length; ) {
      const n = raw.readUInt32LE(at);
      strings.push(raw.subarray(at + 4, at + 4 + n).toString());
      at += 4 + n;
    }
    expect(strings).toEqual(["16:15", "15:14", "14:13"]);
  });

  it("/v1: an output requested as {name, classification}", async () => {
    const res = await postJson(`${gw.url}/v1/models/irisc/predict`, {
      inputs: { input: [SETOSA] },
      outputs: [{ name: "probabilities", classification: 1 }],
    });
    expect(res.status).toBe(200);
    const outputs = (res.body as { outputs: Record<string, string[][]> }).outputs;
    expect(outputs.probabilities?.[0]?.[0]).toMatch(/^0\.\d{6}:0:setosa$/);
  });

  it("an async job's result classifies as /v1 does (the result is exactly the /v1 answer)", async () => {
    const body = {
      inputs: { input: [SETOSA] },
      outputs: [{ name: "probabilities", classification: 1 }],
    };
    const submitted = await postJson(`${gw.url}/v1/models/irisc/async/predict`, body);
    expect(submitted.status).toBe(202);
    const id = (submitted.body as { id: string }).id;
    let job: { status: string; result?: unknown } = { status: "queued" };
    for (let i = 0; i < 100 && !["succeeded", "failed"].includes(job.status); i++) {
      await new Promise((r) => setTimeout(r, 50));
      job = (await (await fetch(`${gw.url}/v1/async/${id}`)).json()) as typeof job;
    }
    expect(job.status).toBe("succeeded");
    const live = await postJson(`${gw.url}/v1/models/irisc/predict`, body);
    expect(job.result).toEqual(live.body);
  });

  it("a bad K is a 400 naming the output", async () => {
    const res = await restInfer("irisc", {
      inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: SETOSA }],
      outputs: [{ name: "probabilities", parameters: { classification: -2 } }],
    });
    expect(res.status).toBe(400);
    expect((res.body as { error: string }).error).toMatch(/probabilities/);
  });
});
