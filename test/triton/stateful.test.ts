/**
 * Stateful models through a real gateway, on both v2 fronts: the emulator's sequence models keep
 * each sequence's state on the one emulator that saw its START, so a running sum that comes out
 * right proves the sequence parameters arrived, every request of a sequence reached the same
 * replica, and none was batched or answered from the cache. Also: the parameters a model sets on
 * its answer come back, and the server name is the configured one.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestGateway, type TestGateway } from "../e2e/harness.js";
import type { EmulatorControl } from "../emulators/control.js";
import { startTritonEmulator } from "../emulators/triton/index.js";
import {
  int32Raw,
  int32Values,
  type Message,
  type TritonClient,
  tritonClient,
} from "./triton-client.js";

/** Two emulators: two replicas whose states are their own. */
let emulators: EmulatorControl[];
let gw: TestGateway;
let client: TritonClient;
beforeAll(async () => {
  emulators = await Promise.all([0, 1].map(() => startTritonEmulator()));
  const [a, b] = emulators;
  gw = await startTestGateway(`server: { host: 127.0.0.1, port: 0, grpcPort: 0, name: triton }
backends:
  one: { type: triton, grpc: "${a?.grpcAddress}" }
  pair: { type: triton, grpc: ["${a?.grpcAddress}", "${b?.grpcAddress}"] }
  pairRest: { type: triton, url: ["${a?.restUrl}", "${b?.restUrl}"] }
  streamRest: { type: triton, url: "${b?.restUrl}" }
models:
  summing:
    versions:
      "1": { backend: one, model: simple_string_dyna_sequence }
    batching: { maxBatchSize: 8, maxDelayMs: 20 }
    cache: { ttlSeconds: 60 }
  paired:
    versions:
      "1": { backend: pair, model: simple_string_dyna_sequence }
  pairedRest:
    versions:
      "1": { backend: pairRest, model: simple_string_dyna_sequence }
  streamed:
    versions:
      "1": { backend: streamRest, model: simple_string_dyna_sequence }
`);
  client = tritonClient(gw.grpcAddress);
});
afterAll(async () => {
  client?.close();
  await gw?.stop();
  await Promise.all((emulators ?? []).map((e) => e.close()));
});

/** One gRPC request of a sequence: INPUT [1,1] = value. */
function step(model: string, id: number, value: number, start: boolean, end: boolean): Message {
  return {
    model_name: model,
    id: `${id}_${value}`,
    inputs: [{ name: "INPUT", datatype: "INT32", shape: [1, 1] }],
    raw_input_contents: [int32Raw([value])],
    parameters: {
      sequence_id: { int64_param: String(id) },
      sequence_start: { bool_param: start },
      sequence_end: { bool_param: end },
    },
  };
}

/** The same over v2 REST. */
async function restStep(model: string, id: number, value: number, start: boolean, end: boolean) {
  const res = await postJson(`${gw.url}/v2/models/${model}/infer`, {
    parameters: { sequence_id: id, sequence_start: start, sequence_end: end },
    inputs: [{ name: "INPUT", datatype: "INT32", shape: [1, 1], data: [value] }],
  });
  return res as { status: number; body: Message };
}

/** The plain value of each gRPC InferParameter. */
function plain(params: unknown): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries((params ?? {}) as Record<string, Message>).map(([k, p]) => [
      k,
      p[String(p.parameter_choice)],
    ]),
  );
}

const VALUES = [20, -11, -7, 5];
/** Running sums of VALUES, the id added on the last. */
const sums = (id: number) =>
  VALUES.map((_, i) => VALUES.slice(0, i + 1).reduce((s, v) => s + v, 0) + (i === 3 ? id : 0));

describe("a stateful model behind the gateway", () => {
  it("gRPC ModelStreamInfer: the sequence's running sums, the model's answer parameters", async () => {
    const answers = await client.stream(
      VALUES.map((v, i) => step("summing", 1002, v, i === 0, i === 3)),
    );
    expect(answers.map((a) => a.error_message)).toEqual(["", "", "", ""]);
    const responses = answers.map((a) => a.infer_response as Message);
    expect(responses.map((r) => int32Values((r.raw_output_contents as Buffer[])[0])[0])).toEqual(
      sums(1002),
    );
    expect(responses.map((r) => r.id)).toEqual(VALUES.map((v) => `1002_${v}`));
    // int64 parameters read as decimal strings by this client (longs: String).
    expect(responses.map((r) => plain(r.parameters))).toEqual(
      ["1", "2", "3", "4"].map((n) => ({ sequence_step: n })),
    );
    expect(plain(((responses[0]?.outputs ?? []) as Message[])[0]?.parameters)).toEqual({
      accumulated: true,
    });
  });

  it("REST: the same sums, answer and output parameters in the JSON", async () => {
    const bodies: Message[] = [];
    for (const [i, v] of VALUES.entries()) {
      const res = await restStep("summing", 77, v, i === 0, i === 3);
      expect(res.status).toBe(200);
      bodies.push(res.body);
    }
    const outputs = bodies.map((b) => (b.outputs as Message[])[0]);
    expect(outputs.map((o) => ((o?.data ?? []) as number[])[0])).toEqual(sums(77));
    expect(bodies.map((b) => b.parameters)).toEqual(
      [1, 2, 3, 4].map((n) => ({ sequence_step: n })),
    );
    expect(outputs[0]?.parameters).toEqual({ accumulated: true });
  });

  it("equal requests of a sequence are each computed: never a cache hit, never batched", async () => {
    const calls = emulators[0]?.calls.length ?? 0;
    const outs: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await client.call("ModelInfer", step("summing", 5, 5, i === 0, i === 3));
      outs.push(int32Values((res.raw_output_contents as Buffer[])[0])[0] ?? Number.NaN);
    }
    expect(outs).toEqual([5, 10, 15, 20 + 5]);
    // Eight sequences start at once on a batching model: the backend sees eight calls of one row.
    await Promise.all(
      [11, 12, 13, 14, 15, 16, 17, 18].map((id) =>
        client.call("ModelInfer", step("summing", id, 1, true, true)),
      ),
    );
    const sent = emulators[0]?.calls.slice(calls) ?? [];
    expect(sent.map((c) => c.batchSize)).toEqual(Array(12).fill(1));
  });

  it("a request that is not the start of a live sequence fails as on Triton, on both fronts", async () => {
    const err = await client.callError("ModelInfer", step("summing", 999, 1, false, false));
    expect(err.code).toBe(3);
    expect(err.details).toContain(
      "inference request for sequence 999 to model 'simple_string_dyna_sequence' must specify the START flag",
    );
    const res = await restStep("summing", 998, 1, false, false);
    expect(res.status).toBe(400);
    expect(String(res.body.error)).toContain("must specify the START flag");
  });
});

describe("replica affinity with state on each replica", () => {
  /** Runs `n` interleaved sequences, step by step, and returns each one's outputs. */
  async function interleaved(send: (id: number, v: number, i: number) => Promise<number>) {
    const ids = Array.from({ length: 10 }, (_, k) => 2000 + k);
    const outs = new Map<number, number[]>(ids.map((id) => [id, []]));
    for (const [i, v] of VALUES.entries()) {
      await Promise.all(ids.map(async (id) => outs.get(id)?.push(await send(id, v, i))));
    }
    return { ids, outs };
  }

  it("gRPC: every sequence sums right on a two-replica backend, and both replicas serve some", async () => {
    const before = emulators.map((e) => e.calls.length);
    const { ids, outs } = await interleaved(async (id, v, i) => {
      const res = await client.call("ModelInfer", step("paired", id, v, i === 0, i === 3));
      return int32Values((res.raw_output_contents as Buffer[])[0])[0] ?? Number.NaN;
    });
    for (const id of ids) expect(outs.get(id)).toEqual(sums(id));
    const served = emulators.map((e, k) => e.calls.length - (before[k] ?? 0));
    expect(served.every((n) => n > 0 && n % VALUES.length === 0)).toBe(true);
  });

  it("REST: the same on a two-replica REST backend", async () => {
    const before = emulators.map((e) => e.calls.length);
    const { ids, outs } = await interleaved(async (id, v, i) => {
      const res = await restStep("pairedRest", id, v, i === 0, i === 3);
      expect(res.status).toBe(200);
      return (((res.body.outputs as Message[])[0]?.data ?? []) as number[])[0] ?? Number.NaN;
    });
    for (const id of ids) expect(outs.get(id)).toEqual(sums(id));
    const served = emulators.map((e, k) => e.calls.length - (before[k] ?? 0));
    expect(served.every((n) => n > 0 && n % VALUES.length === 0)).toBe(true);
  });
});

describe("sequences on one ModelStreamInfer stream", () => {
  it("each sequence's requests reach a REST backend in stream order, on new connections too", async () => {
    const ids = Array.from({ length: 6 }, (_, k) => 3000 + k);
    // Each sequence's steps back to back, as Triton's stream examples send them.
    const requests = ids.flatMap((id) =>
      VALUES.map((v, i) => step("streamed", id, v, i === 0, i === 3)),
    );
    const answers = await client.stream(requests);
    expect(answers.map((a) => a.error_message)).toEqual(requests.map(() => ""));
    const outs = answers.map(
      (a) => int32Values(((a.infer_response as Message).raw_output_contents as Buffer[])[0])[0],
    );
    expect(outs).toEqual(ids.flatMap((id) => sums(id)));
  });
});

describe("server name", () => {
  it("server.name is the name of v2 server metadata on REST and gRPC", async () => {
    const rest = (await (await fetch(`${gw.url}/v2`)).json()) as Message;
    expect(rest.name).toBe("triton");
    const grpc = await client.call("ServerMetadata", {});
    expect(grpc.name).toBe("triton");
    expect(grpc.version).toBe(rest.version);
  });

  it("a reload applies a new name", async () => {
    const text = readFileSync(gw.configPath, "utf8");
    try {
      writeFileSync(gw.configPath, text.replace("name: triton", "name: edge-7"));
      expect((await postJson(`${gw.url}/admin/reload`, {})).status).toBe(200);
      expect(((await (await fetch(`${gw.url}/v2`)).json()) as Message).name).toBe("edge-7");
      expect((await client.call("ServerMetadata", {})).name).toBe("edge-7");
    } finally {
      writeFileSync(gw.configPath, text);
      await postJson(`${gw.url}/admin/reload`, {});
    }
  });
});
