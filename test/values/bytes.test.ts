/**
 * BYTES as bytes end to end through a real gateway to a Triton backend (the emulator): NUL and
 * non-UTF-8 elements in through KServe v2 binary data or gRPC raw contents, over the gateway's
 * Triton gRPC and REST clients, and back unchanged; a JSON answer that cannot hold them is a 400
 * (docs/tensors.md "BYTES").
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../e2e/harness.js";
import { kserveClient } from "../e2e/kserve-client.js";
import type { EmulatorControl } from "../emulators/control.js";
import { startTritonEmulator } from "../emulators/triton/index.js";

const ELEMENTS = [
  Buffer.from("he\0llo"),
  Buffer.from([0x00, 0x01, 0x02, 0x03]),
  Buffer.from([0xff, 0xfe, 0xc0, 0x80]),
  Buffer.alloc(0),
];

/** The raw BYTES layout: a uint32 little-endian length before each element. */
function lengthPrefixed(elements: readonly Buffer[]): Buffer {
  return Buffer.concat(
    elements.flatMap((e) => {
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32LE(e.length);
      return [prefix, e];
    }),
  );
}

/** A KServe v2 binary request for echo_bytes, asking for `y` in binary or JSON. */
async function v2Binary(url: string, elements: readonly Buffer[], binaryOut: boolean) {
  const blob = lengthPrefixed(elements);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        {
          name: "x",
          datatype: "BYTES",
          shape: [1, elements.length],
          parameters: { binary_data_size: blob.length },
        },
      ],
      outputs: [{ name: "y", parameters: { binary_data: binaryOut } }],
    }),
  );
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/octet-stream",
      "inference-header-content-length": String(header.length),
    },
    body: Buffer.concat([header, blob]),
  });
  const body = Buffer.from(await res.arrayBuffer());
  const jsonLength = Number(res.headers.get("inference-header-content-length") ?? body.length);
  return {
    status: res.status,
    json: body.subarray(0, jsonLength).toString(),
    blob: body.subarray(jsonLength),
  };
}

describe("BYTES end to end to a Triton backend", () => {
  let emulator: EmulatorControl;
  let gw: TestGateway;
  beforeAll(async () => {
    emulator = await startTritonEmulator();
    gw = await startTestGateway(`server:
  host: 127.0.0.1
  port: 0
  grpcPort: 0
backends:
  tg: { type: triton, grpc: ${emulator.grpcAddress}, protocol: grpc }
  tr: { type: triton, url: ${emulator.restUrl}, protocol: rest }
models:
  bytes_grpc: { versions: { "1": { backend: tg, model: echo_bytes } } }
  bytes_rest: { versions: { "1": { backend: tr, model: echo_bytes } } }
`);
  });
  afterAll(async () => {
    await gw?.stop();
    await emulator?.close();
  });

  for (const model of ["bytes_grpc", "bytes_rest"]) {
    it(`${model}: v2 binary in and out keeps NUL and non-UTF-8 bytes`, async () => {
      const res = await v2Binary(`${gw.url}/v2/models/${model}/infer`, ELEMENTS, true);
      expect(res.status, res.json).toBe(200);
      expect(res.blob.equals(lengthPrefixed(ELEMENTS))).toBe(true);
    });
  }

  it("gRPC raw in and out keeps them too", async () => {
    const client = kserveClient(gw.grpcAddress);
    try {
      const res = await client.call("ModelInfer", {
        model_name: "bytes_grpc",
        inputs: [{ name: "x", datatype: "BYTES", shape: [1, ELEMENTS.length] }],
        raw_input_contents: [lengthPrefixed(ELEMENTS)],
      });
      const raw = res.raw_output_contents as Buffer[];
      expect(raw[0]?.equals(lengthPrefixed(ELEMENTS))).toBe(true);
    } finally {
      client.close();
    }
  });

  it("a JSON answer carries NUL as \\u0000 and refuses bytes that are not UTF-8", async () => {
    const text = [Buffer.from("he\0llo"), Buffer.from("ünï")];
    const ok = await v2Binary(`${gw.url}/v2/models/bytes_grpc/infer`, text, false);
    expect(ok.status, ok.json).toBe(200);
    expect(ok.json).toContain('"data":["he\\u0000llo","ünï"]');
    const bad = await v2Binary(`${gw.url}/v2/models/bytes_grpc/infer`, ELEMENTS, false);
    expect(bad.status).toBe(400);
    expect(bad.json).toMatch(/not valid UTF-8.*binary form/);
  });
});
