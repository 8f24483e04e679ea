/**
 * gRPC clients that never read their answers (docs/grpc.md "A client that does not read"): the
 * gateway holds at most `server.grpc.maxUnreadResponseBytes` for them per connection, refuses
 * calls past it with RESOURCE_EXHAUSTED, keeps answering other clients, and releases what it held
 * when `sendTimeoutMs` resets the calls or the client goes away.
 *
 * The gateway runs in its own process (dist/cli.js: build first) so its memory is its own. Figures
 * are taken after a full GC forced through the inspector: V8's external memory (the Buffers the
 * answers live in) and RSS. The child runs with glibc's mmap threshold fixed, so freed answer
 * buffers go back to the OS and RSS shows the release (by default glibc raises the threshold
 * and keeps freed 4 MB blocks in its heap: RSS then stays up although nothing is referenced).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProcess, startGateway } from "../../bench/gateway.js";
import { MODELS_DIR } from "../e2e/harness.js";
import { kserveClient } from "../e2e/kserve-client.js";
import { inferRequest, input } from "../support/grpc-harness.js";
import { type HeldAnswers, holdAnswers, serializeInfer } from "../support/grpc-slow-reader.js";
import { inspectorArgs, memoryAfterGc, withEnv } from "./grpc-memory.js";

const MiB = 1024 * 1024;
const ELEMENTS = 1_000_000; // FP32 [1, 1e6]: echo_fp32 answers its 4 MB input with 4 MB
/** A held call costs its request and its answer, about 8 MB: two fit, a third does not. */
const BUDGET = 17_000_000;
const CONNECTIONS = 2;
const CALLS = 20;
const SEND_TIMEOUT_MS = 5000;
const RESOURCE_EXHAUSTED = 8;
const NGHTTP2_CANCEL = 8;

let gateway: GatewayProcess | undefined;
let inspectPort = 0;
beforeAll(async () => {
  const inspector = await inspectorArgs();
  inspectPort = inspector.port;
  gateway = await withEnv({ MALLOC_MMAP_THRESHOLD_: "131072" }, () =>
    startGateway(
      `server:
  host: 127.0.0.1
  port: 0
  grpcPort: 0
  grpc: { maxUnreadResponseBytes: ${BUDGET}, sendTimeoutMs: ${SEND_TIMEOUT_MS} }
backends:
  local: { type: onnx, modelDir: ${MODELS_DIR} }
models:
  echo_fp32:
    versions: { "1": { backend: local } }
`,
      { grpc: true, nodeArgs: inspector.args },
    ),
  );
});
afterAll(() => gateway?.stop());

const memory = (gw: GatewayProcess) => memoryAfterGc(gw, inspectPort);

const serialized = serializeInfer(
  inferRequest({
    model_name: "echo_fp32",
    inputs: [input("x", "FP32", [1, ELEMENTS])],
    raw_input_contents: [Buffer.alloc(4 * ELEMENTS, 1)],
  }),
);

const hold = (gw: GatewayProcess, calls: number): Promise<HeldAnswers> =>
  holdAnswers(gw.grpcAddress as string, { connections: CONNECTIONS, calls, serialized });

describe("gRPC clients that never read", () => {
  it("hold at most maxUnreadResponseBytes per connection, are refused past it, leave other clients answered, and are released by sendTimeoutMs and by disconnecting", async () => {
    const gw = gateway as GatewayProcess;
    // Warm up (model session, pools), so the baseline is the gateway after such calls.
    (await hold(gw, 2)).destroy();
    const before = await memory(gw);

    const held = await hold(gw, CALLS);
    const kept = held.starts.filter((s) => s.held).length;
    expect(kept).toBe(2 * CONNECTIONS);
    expect(held.starts.filter((s) => !s.held).map((s) => s.grpcStatus)).toEqual(
      Array(CALLS - kept).fill(RESOURCE_EXHAUSTED),
    );
    const during = await memory(gw);
    const budgetMb = (CONNECTIONS * BUDGET) / MiB;
    expect(during.external - before.external).toBeLessThan(budgetMb + 4);
    expect(during.rss - before.rss).toBeLessThan(budgetMb + 48);

    const client = kserveClient(gw.grpcAddress as string);
    try {
      const res = await client.call("ModelInfer", {
        model_name: "echo_fp32",
        inputs: [
          { name: "x", datatype: "FP32", shape: [1, 2], contents: { fp32_contents: [1, 2] } },
        ],
      });
      // Answers are raw, as Triton's are: two little-endian FP32 values.
      expect(res.outputs).toMatchObject([{ name: "y", shape: ["1", "2"] }]);
      const raw = (res as { raw_output_contents?: Buffer[] }).raw_output_contents?.[0];
      expect(raw === undefined ? [] : [...new Float32Array(new Uint8Array(raw).buffer)]).toEqual([
        1, 2,
      ]);
    } finally {
      client.close();
    }

    // sendTimeoutMs resets the held calls; the connections stay open, the memory is released.
    const ends = await Promise.all(held.calls.map((c) => c.ended));
    expect(ends.filter((e) => e.rstCode === NGHTTP2_CANCEL)).toHaveLength(kept);
    const afterTimeout = await memory(gw);
    expect(afterTimeout.external - before.external).toBeLessThan(2);
    // External memory is the release proof; RSS also holds what glibc keeps of freed blocks.
    expect(afterTimeout.rss - before.rss).toBeLessThan(48);
    held.destroy();

    // A client that goes away while the gateway holds its answers leaves nothing behind.
    const again = await hold(gw, 2 * CONNECTIONS);
    expect(again.starts.every((s) => s.held)).toBe(true);
    again.destroy();
    const afterDisconnect = await memory(gw);
    expect(afterDisconnect.external - before.external).toBeLessThan(2);
    expect(afterDisconnect.rss - before.rss).toBeLessThan(48);
  });
});
