import { constants } from "node:http2";
import {
  Client,
  credentials,
  Server,
  ServerCredentials,
  ServerInterceptingCall,
  status,
} from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GrpcFakeService, inferRequest, input } from "../../test/support/grpc-harness.js";
import { serializeInfer, slowReader } from "../../test/support/grpc-slow-reader.js";
import { kserveService, type WireModelInferResponse } from "../protocols/kserve/proto.js";
import { http2StreamOf } from "./send-guard.js";
import { createGrpcFront, type GrpcFront } from "./server.js";
import { DEFAULT_GRPC_LIMITS } from "./server-options.js";

/** An FP32 [1, n] input for the "double" model: its answer is as big (4n bytes). */
const request = (n: number) =>
  serializeInfer(
    inferRequest({
      inputs: [input("x", "FP32", [1, n])],
      raw_input_contents: [Buffer.alloc(4 * n, 1)],
    }),
  );

const ANSWER_ELEMENTS = 64 * 1024; // 256 KiB answers
const BUDGET = 1100 * 1024; // two calls (256 KiB request + 256 KiB answer) fit, a third does not

/** Counts model runs, to tell a call refused before the model ran from one refused after. */
class CountingService extends GrpcFakeService {
  runs = 0;
  override infer(
    ...args: Parameters<GrpcFakeService["infer"]>
  ): ReturnType<GrpcFakeService["infer"]> {
    this.runs++;
    return super.infer(...args);
  }
}

const service = new CountingService();
const fronts: GrpcFront[] = [];

/** A front on loopback with these limits; its address. */
async function startFront(sendTimeoutMs: number): Promise<string> {
  const front = createGrpcFront(() => service, {
    maxMessageBytes: 1024 * 1024,
    limits: { ...DEFAULT_GRPC_LIMITS, sendTimeoutMs, maxUnreadResponseBytes: BUDGET },
  });
  fronts.push(front);
  return `127.0.0.1:${await front.listen("127.0.0.1", 0)}`;
}

let address: string;
beforeAll(async () => {
  // Long enough that a loaded machine sets up each case before the resets, short for the suite.
  address = await startFront(1500);
});
afterAll(() => Promise.all(fronts.map((f) => f.close(0))));

describe("a client that never reads its answers", () => {
  it("has a never-read answer reset (RST_STREAM CANCEL) after sendTimeoutMs", async () => {
    const reader = await slowReader(address);
    const call = reader.infer(request(ANSWER_ELEMENTS));
    expect((await call.headers)[":status"]).toBe(200);
    const end = await call.ended;
    expect(end.rstCode).toBe(constants.NGHTTP2_CANCEL);
    expect(end.grpcStatus).toBeUndefined();
    reader.destroy();
  });

  it("gets RESOURCE_EXHAUSTED (trailers only, with x-request-id) past maxUnreadResponseBytes on its connection, and room again once the held answers are reset", async () => {
    const reader = await slowReader(address);
    const held = [reader.infer(request(ANSWER_ELEMENTS)), reader.infer(request(ANSWER_ELEMENTS))];
    await Promise.all(held.map((c) => c.headers));
    const runs = service.runs;
    const refused = await reader.infer(request(ANSWER_ELEMENTS), { "x-request-id": "over-1" })
      .ended;
    expect(refused.grpcStatus).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused.grpcMessage).toMatch(/connection holds \d+ bytes of unread answers/);
    expect(refused.headers?.["x-request-id"]).toBe("over-1");
    expect(refused.rstCode).toBe(0);
    // Its request alone passed the limit: refused before the model ran.
    expect(service.runs).toBe(runs);

    // Another connection has its own budget.
    const other = await slowReader(address);
    const first = other.infer(request(ANSWER_ELEMENTS));
    expect((await first.headers)["grpc-status"]).toBeUndefined();

    const ends = await Promise.all(held.map((c) => c.ended));
    expect(ends.map((e) => e.rstCode)).toEqual([
      constants.NGHTTP2_CANCEL,
      constants.NGHTTP2_CANCEL,
    ]);
    // The resets gave the budget back: the connection takes an answer again.
    const again = reader.infer(request(ANSWER_ELEMENTS));
    expect((await again.headers)["grpc-status"]).toBeUndefined();
    reader.destroy();
    other.destroy();
  });

  it("delivers held answers to a client that starts reading before sendTimeoutMs, and gives their room back", async () => {
    // A send deadline no loaded machine reaches before the client starts reading.
    const reader = await slowReader(await startFront(60_000));
    const held = [reader.infer(request(ANSWER_ELEMENTS)), reader.infer(request(ANSWER_ELEMENTS))];
    await Promise.all(held.map((c) => c.headers));
    const over = await reader.infer(request(ANSWER_ELEMENTS)).ended;
    expect(over.grpcStatus).toBe(status.RESOURCE_EXHAUSTED);
    reader.startReading();
    const ends = await Promise.all(held.map((c) => c.ended));
    expect(ends.map((e) => [e.grpcStatus, e.rstCode])).toEqual([
      [status.OK, 0],
      [status.OK, 0],
    ]);
    const next = reader.infer(request(ANSWER_ELEMENTS));
    expect((await next.ended).grpcStatus).toBe(status.OK);
    reader.destroy();
  });

  it("leaves a client that reads answered, on its own connection, while answers are held", async () => {
    const reader = await slowReader(address);
    const stuck = [reader.infer(request(ANSWER_ELEMENTS)), reader.infer(request(ANSWER_ELEMENTS))];
    await Promise.all(stuck.map((c) => c.headers));
    const { ModelInfer } = kserveService().methods;
    const client = new Client(address, credentials.createInsecure(), {
      "grpc.max_receive_message_length": 4 * 1024 * 1024,
    });
    const wire = inferRequest({
      inputs: [input("x", "FP32", [1, ANSWER_ELEMENTS])],
      raw_input_contents: [Buffer.alloc(4 * ANSWER_ELEMENTS, 1)],
    });
    const res = await new Promise<WireModelInferResponse>((resolve, reject) =>
      client.makeUnaryRequest(
        ModelInfer.path,
        ModelInfer.requestSerialize,
        ModelInfer.responseDeserialize,
        wire,
        (err, value) => (err !== null || value === undefined ? reject(err) : resolve(value)),
      ),
    );
    const out = Buffer.from(res.raw_output_contents[0] ?? new Uint8Array());
    expect(out.length).toBe(4 * ANSWER_ELEMENTS);
    const element = Buffer.alloc(4, 1).readFloatLE(0);
    expect([out.readFloatLE(0), out.readFloatLE(out.length - 4)]).toEqual([
      2 * element,
      2 * element,
    ]);
    client.close();
    reader.destroy();
  });
});

describe("http2StreamOf", () => {
  it("finds the HTTP/2 stream under a grpc-js server call (fails if a grpc-js upgrade moves it)", async () => {
    const found: unknown[] = [];
    const server = new Server({
      interceptors: [
        (_method, call) => {
          found.push(http2StreamOf(call)?.session);
          return new ServerInterceptingCall(call);
        },
      ],
    });
    const { definition, methods } = kserveService();
    server.addService(definition, {
      ServerLive: (_call: unknown, callback: (err: null, res: { live: boolean }) => void) =>
        callback(null, { live: true }),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      ),
    );
    const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      const live = await new Promise((resolve, reject) =>
        client.makeUnaryRequest(
          methods.ServerLive.path,
          methods.ServerLive.requestSerialize,
          methods.ServerLive.responseDeserialize,
          {},
          (err, value) => (err !== null ? reject(err) : resolve(value)),
        ),
      );
      expect(live).toEqual({ live: true });
      expect(found).toHaveLength(1);
      expect(found[0]).toBeDefined();
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});
