import { describe, expect, it } from "vitest";
import { postJson, testApp } from "../../test/support/http-app.js";

function f32le(values: number[]): Uint8Array {
  const view = new DataView(new ArrayBuffer(values.length * 4));
  values.forEach((v, i) => {
    view.setFloat32(i * 4, v, true);
  });
  return new Uint8Array(view.buffer);
}

function u16le(values: number[]): Uint8Array {
  const view = new DataView(new ArrayBuffer(values.length * 2));
  values.forEach((v, i) => {
    view.setUint16(i * 2, v, true);
  });
  return new Uint8Array(view.buffer);
}

/** BYTES elements as uint32 LE length + bytes. */
function bytesElements(strings: string[]): Uint8Array {
  const parts = strings.map((s) => new TextEncoder().encode(s));
  const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const part of parts) {
    view.setUint32(offset, part.length, true);
    out.set(part, offset + 4);
    offset += 4 + part.length;
  }
  return out;
}

function binaryRequest(
  json: unknown,
  blobs: Uint8Array[],
): { body: Uint8Array<ArrayBuffer>; jsonLength: number } {
  const head = new TextEncoder().encode(JSON.stringify(json));
  const body = new Uint8Array(head.length + blobs.reduce((n, b) => n + b.length, 0));
  body.set(head, 0);
  let offset = head.length;
  for (const blob of blobs) {
    body.set(blob, offset);
    offset += blob.length;
  }
  return { body, jsonLength: head.length };
}

function postBinary(
  app: ReturnType<typeof testApp>["app"],
  path: string,
  json: unknown,
  blobs: Uint8Array[],
  jsonLength?: number,
): Promise<Response> {
  const request = binaryRequest(json, blobs);
  return Promise.resolve(
    app.request(path, {
      method: "POST",
      headers: {
        "content-type": "application/octet-stream",
        "inference-header-content-length": String(jsonLength ?? request.jsonLength),
      },
      body: request.body,
    }),
  );
}

interface V2Output {
  name: string;
  datatype: string;
  shape: number[];
  data?: unknown[];
  parameters?: { binary_data_size?: number };
}

interface V2Response {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: V2Output[];
}

async function readBinaryResponse(res: Response): Promise<{ json: V2Response; blobs: Uint8Array }> {
  const length = Number(res.headers.get("inference-header-content-length"));
  const bytes = new Uint8Array(await res.arrayBuffer());
  const json = JSON.parse(new TextDecoder().decode(bytes.subarray(0, length))) as V2Response;
  return { json, blobs: bytes.subarray(length) };
}

async function v2Error(res: Response): Promise<string> {
  const body = (await res.json()) as { error: unknown };
  expect(typeof body.error).toBe("string");
  return body.error as string;
}

describe("KServe v2 REST: binary tensor extension", () => {
  it("reads binary FP32 inputs and answers requested outputs as binary, the rest as JSON", async () => {
    const { app, service } = testApp();
    const res = await postBinary(
      app,
      "/v2/models/iris/infer",
      {
        inputs: [
          {
            name: "features",
            shape: [1, 4],
            datatype: "FP32",
            parameters: { binary_data_size: 16 },
          },
        ],
        outputs: [{ name: "rowsum", parameters: { binary_data: true } }, { name: "probabilities" }],
      },
      [f32le([1, 2, 3, 4.5])],
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(Array.from(service.calls[0]?.request.inputs[0]?.data as Float32Array)).toEqual([
      1, 2, 3, 4.5,
    ]);
    const { json, blobs } = await readBinaryResponse(res);
    expect(json.outputs).toEqual([
      { name: "probabilities", datatype: "FP32", shape: [1, 3], data: [0.5, 0.25, 0.25] },
      { name: "rowsum", datatype: "FP32", shape: [1], parameters: { binary_data_size: 4 } },
    ]);
    expect(Array.from(blobs)).toEqual(Array.from(f32le([10.5])));
  });

  it("round-trips FP16 in binary with binary_data_output", async () => {
    const { app } = testApp();
    // 1.0, -2.0 and 0.5 as IEEE half bits.
    const bits = [0x3c00, 0xc000, 0x3800];
    const res = await postBinary(
      app,
      "/v2/models/half/infer",
      {
        inputs: [{ name: "x", shape: [3], datatype: "FP16", parameters: { binary_data_size: 6 } }],
        parameters: { binary_data_output: true },
      },
      [u16le(bits)],
    );
    expect(res.status).toBe(200);
    const { json, blobs } = await readBinaryResponse(res);
    expect(json).toEqual({
      model_name: "half",
      model_version: "1",
      outputs: [{ name: "y", datatype: "FP16", shape: [3], parameters: { binary_data_size: 6 } }],
    });
    expect(Array.from(blobs)).toEqual(Array.from(u16le(bits)));
  });

  it("refuses to send FP16 outputs as JSON", async () => {
    const { app } = testApp();
    const res = await postBinary(
      app,
      "/v2/models/half/infer",
      {
        inputs: [{ name: "x", shape: [1], datatype: "FP16", parameters: { binary_data_size: 2 } }],
      },
      [u16le([0x3c00])],
    );
    expect(res.status).toBe(400);
    expect(await v2Error(res)).toMatch(/FP16.*JSON/);
  });

  it("reads and writes BYTES in binary, mixed with a JSON input of another model", async () => {
    const { app } = testApp();
    const res = await postBinary(
      app,
      "/v2/models/echo/infer",
      {
        inputs: [
          { name: "text", shape: [2], datatype: "BYTES", parameters: { binary_data_size: 16 } },
        ],
        outputs: [{ name: "text", parameters: { binary_data: true } }],
      },
      [bytesElements(["hello", "wö"])],
    );
    expect(res.status).toBe(200);
    const { json, blobs } = await readBinaryResponse(res);
    expect(json.outputs).toEqual([
      { name: "text", datatype: "BYTES", shape: [2], parameters: { binary_data_size: 16 } },
    ]);
    expect(Array.from(blobs)).toEqual(Array.from(bytesElements(["hello", "wö"])));
    const mixed = await postBinary(
      app,
      "/v2/models/double/infer",
      {
        inputs: [
          { name: "a", shape: [1], datatype: "INT64", data: [5] },
          { name: "b", shape: [1], datatype: "INT64", parameters: { binary_data_size: 8 } },
        ],
      },
      [new Uint8Array([7, 0, 0, 0, 0, 0, 0, 0])],
    );
    expect(mixed.status).toBe(200);
    expect(((await mixed.json()) as V2Response).outputs[0]?.data).toEqual([12]);
  });

  const sizeErrors: [string, unknown, Uint8Array[], number | undefined, RegExp][] = [
    [
      "sizes past the end of the body",
      {
        inputs: [
          {
            name: "features",
            shape: [1, 4],
            datatype: "FP32",
            parameters: { binary_data_size: 16 },
          },
        ],
      },
      [f32le([1, 2, 3])],
      undefined,
      /past the end/,
    ],
    [
      "bytes left over",
      {
        inputs: [
          {
            name: "features",
            shape: [1, 4],
            datatype: "FP32",
            parameters: { binary_data_size: 16 },
          },
        ],
      },
      [f32le([1, 2, 3, 4, 5])],
      undefined,
      /add up to 16/,
    ],
    [
      "binary data no input claims",
      { inputs: [{ name: "features", shape: [1, 4], datatype: "FP32", data: [1, 2, 3, 4] }] },
      [f32le([1])],
      undefined,
      /add up to 0/,
    ],
    [
      "a size that does not match the shape",
      {
        inputs: [
          {
            name: "features",
            shape: [1, 4],
            datatype: "FP32",
            parameters: { binary_data_size: 12 },
          },
        ],
      },
      [f32le([1, 2, 3])],
      undefined,
      /features/,
    ],
    [
      "both data and binary_data_size",
      {
        inputs: [
          {
            name: "features",
            shape: [1, 4],
            datatype: "FP32",
            data: [1, 2, 3, 4],
            parameters: { binary_data_size: 16 },
          },
        ],
      },
      [f32le([1, 2, 3, 4])],
      undefined,
      /exactly one of/,
    ],
    [
      "a header longer than the body",
      { inputs: [] },
      [],
      10_000,
      /Inference-Header-Content-Length/,
    ],
  ];
  for (const [what, json, blobs, jsonLength, message] of sizeErrors) {
    it(`rejects ${what} with 400`, async () => {
      const { app, service } = testApp();
      const res = await postBinary(app, "/v2/models/iris/infer", json, blobs, jsonLength);
      expect(res.status).toBe(400);
      expect(await v2Error(res)).toMatch(message);
      expect(service.calls).toHaveLength(0);
    });
  }

  it("rejects binary_data_size without the Inference-Header-Content-Length header", async () => {
    const { app } = testApp();
    const res = await postJson(app, "/v2/models/iris/infer", {
      inputs: [
        { name: "features", shape: [1, 4], datatype: "FP32", parameters: { binary_data_size: 16 } },
      ],
    });
    expect(res.status).toBe(400);
    expect(await v2Error(res)).toMatch(/Inference-Header-Content-Length/);
  });
});
