/**
 * Tracing end to end (docs/access.md "Tracing"): an OTLP/HTTP receiver inside the test collects
 * what the gateway exports; a request carrying a W3C traceparent yields a server span under the
 * caller's span, target and cache spans under it, and one client span per backend attempt whose
 * traceparent the Triton emulator received (same trace id, the client span as parent).
 */
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ServerUnaryCall, sendUnaryData } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway } from "../../src/server.js";
import type { EmulatorControl } from "../emulators/control.js";
import { startEmulator } from "../emulators/host.js";
import { KSERVE_OUTPUTS } from "../emulators/hostile.js";
import { TritonCore } from "../emulators/triton/core.js";
import { grpcImplementation, tritonServiceDefinition } from "../emulators/triton/grpc.js";
import { restHandler } from "../emulators/triton/rest.js";
import { ownJobsDir } from "./auth-support.js";
import { writeConfig } from "./harness.js";
import { kserveClient } from "./kserve-client.js";
import { captureLogger } from "./log-capture.js";

type UnaryCall = ServerUnaryCall<unknown, unknown>;

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  links?: { traceId: string; spanId: string }[];
  name: string;
  kind: number;
  attributes?: { key: string; value: Record<string, unknown> }[];
}
interface OtlpRequest {
  resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

const SERVER = 2;
const CLIENT = 3;
const spans: OtlpSpan[] = [];
const seenTraceparents: string[] = [];
/** OTLP/HTTP protobuf bodies as they arrived. */
const protobufBodies: Buffer[] = [];
let receiver: Server;
let triton: EmulatorControl;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function postWithNodeHttp(
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: "POST", headers: { "content-type": "application/json", ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    void readBody(req).then((raw) => {
      if (req.headers["content-type"] === "application/x-protobuf") {
        protobufBodies.push(raw);
        res.writeHead(200, { "content-type": "application/x-protobuf" });
        res.end();
        return;
      }
      const body = JSON.parse(raw.toString("utf8")) as OtlpRequest;
      for (const rs of body.resourceSpans ?? [])
        for (const ss of rs.scopeSpans ?? []) spans.push(...(ss.spans ?? []));
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  // A Triton emulator whose handlers note the traceparent of every inference call.
  triton = await startEmulator({}, (runner) => {
    const core = new TritonCore(runner);
    const rest = restHandler(core);
    const grpc = grpcImplementation(core);
    const infer = grpc.ModelInfer as (call: UnaryCall, callback: sendUnaryData<unknown>) => void;
    return {
      gate: core.gate,
      rest: (req, res) => {
        const header = req.headers.traceparent;
        if (typeof header === "string" && req.url?.endsWith("/infer"))
          seenTraceparents.push(header);
        rest(req, res);
      },
      restKeepAliveMs: 30_000,
      grpc: () => [
        {
          definition: tritonServiceDefinition(),
          implementation: {
            ...grpc,
            ModelInfer: (call: UnaryCall, callback: sendUnaryData<unknown>) => {
              const header = call.metadata.get("traceparent")[0];
              if (typeof header === "string") seenTraceparents.push(header);
              infer(call, callback);
            },
          },
        },
      ],
      grpcMaxMessageBytes: 1024 * 1024,
      outputsFormat: KSERVE_OUTPUTS,
    };
  });
});
afterAll(async () => {
  await triton?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN = "00f067aa0ba902b7";
const GRPC_TRACE_ID = "5cf92f3577b34da6a3ce929d0e0e4799";
const JOB_TRACE_ID = "6df92f3577b34da6a3ce929d0e0e4700";

describe("tracing", () => {
  it("exports edge to backend spans with the caller's trace id, as the backend saw it", async () => {
    const port = (receiver.address() as AddressInfo).port;
    const configPath = writeConfig(`server: { host: 127.0.0.1, port: 0, grpcPort: 0 }
${ownJobsDir()}
tracing: { endpoint: "http://127.0.0.1:${port}", protocol: http/json, serviceName: infergate-test }
backends:
  triton: { type: triton, url: "${triton.restUrl}", protocol: rest }
  tritonGrpc: { type: triton, grpc: "${triton.grpcAddress}" }
defaults:
  cache: { ttlSeconds: 60 }
models:
  iris:
    versions: { "1": { backend: triton, model: iris, version: "1" } }
  irisOverGrpc:
    versions: { "1": { backend: tritonGrpc, model: iris, version: "1" } }
`);
    const gateway = await startGateway({ configPath, logger: captureLogger().logger, env: {} });
    try {
      // node:http, not fetch: the gateway's undici instrumentation is process-wide and would
      // replace the test's own traceparent with a span of its own.
      const { status } = await postWithNodeHttp(
        `http://127.0.0.1:${gateway.httpPort}/v1/models/iris/predict`,
        JSON.stringify({ inputs: [[5.1, 3.5, 1.4, 0.2]] }),
        { traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` },
      );
      expect(status).toBe(200);
      const submit = await postWithNodeHttp(
        `http://127.0.0.1:${gateway.httpPort}/v1/models/iris/async/predict`,
        JSON.stringify({ inputs: [[6.1, 2.8, 4.7, 1.2]] }),
        { traceparent: `00-${JOB_TRACE_ID}-${CALLER_SPAN}-01` },
      );
      expect(submit.status).toBe(202);
      const jobId = (JSON.parse(submit.body) as { id: string }).id;
      await expect
        .poll(
          async () => {
            const res = await fetch(`http://127.0.0.1:${gateway.httpPort}/v1/async/${jobId}`);
            return ((await res.json()) as { status: string }).status;
          },
          { timeout: 10_000, interval: 50 },
        )
        .toBe("succeeded");
      const client = kserveClient(`127.0.0.1:${gateway.grpcPort}`);
      try {
        await client.call(
          "ModelInfer",
          {
            model_name: "irisOverGrpc",
            inputs: [
              {
                name: "input",
                datatype: "FP32",
                shape: ["1", "4"],
                contents: { fp32_contents: [6, 3, 4, 1] },
              },
            ],
          },
          { traceparent: `00-${GRPC_TRACE_ID}-${CALLER_SPAN}-01` },
        );
      } finally {
        client.close();
      }
    } finally {
      await gateway.stop();
    }

    const http = spans.filter((s) => s.traceId === TRACE_ID);
    const edge = http.find((s) => s.kind === SERVER);
    expect(edge?.name).toBe("POST /v1/models/iris/predict");
    expect(edge?.parentSpanId).toBe(CALLER_SPAN);
    const target = http.find((s) => s.name === "target");
    expect(target?.parentSpanId).toBe(edge?.spanId);
    const cache = http.find((s) => s.name === "cache");
    expect(cache?.parentSpanId).toBe(target?.spanId);
    // The inference call (a GET before it fetched the model's metadata).
    const attempt = http.find((s) => s.kind === CLIENT && s.name === "POST");
    expect(attempt).toBeDefined();
    // The backend attempt descends from the edge span through the gateway's own spans.
    const byId = new Map(http.map((s) => [s.spanId, s]));
    let up = attempt;
    while (up !== undefined && up.spanId !== edge?.spanId) up = byId.get(up.parentSpanId ?? "");
    expect(up?.spanId).toBe(edge?.spanId);
    expect(seenTraceparents).toContain(`00-${TRACE_ID}-${attempt?.spanId}-01`);

    const grpcEdge = spans.find((s) => s.traceId === GRPC_TRACE_ID && s.kind === SERVER);
    expect(grpcEdge?.name).toBe("inference.GRPCInferenceService/ModelInfer");
    expect(grpcEdge?.parentSpanId).toBe(CALLER_SPAN);
    // A gRPC backend call: a client span under the gRPC edge whose traceparent the emulator got.
    const grpcAttempt = spans.find(
      (s) => s.traceId === GRPC_TRACE_ID && s.kind === CLIENT && s.name.endsWith("/ModelInfer"),
    );
    expect(grpcAttempt).toBeDefined();
    expect(seenTraceparents).toContain(`00-${GRPC_TRACE_ID}-${grpcAttempt?.spanId}-01`);

    // The job ran in a trace of its own, linked to the submit's server span, down to the backend.
    const submitEdge = spans.find((s) => s.traceId === JOB_TRACE_ID && s.kind === SERVER);
    expect(submitEdge?.name).toBe("POST /v1/models/iris/async/predict");
    const run = spans.find((s) => s.name === "async job");
    expect(run?.traceId).not.toBe(JOB_TRACE_ID);
    expect(run?.links).toMatchObject([{ traceId: JOB_TRACE_ID, spanId: submitEdge?.spanId }]);
    const runTarget = spans.find((s) => s.name === "target" && s.parentSpanId === run?.spanId);
    expect(runTarget?.traceId).toBe(run?.traceId);
    expect(seenTraceparents.some((t) => t.startsWith(`00-${run?.traceId}-`))).toBe(true);
  });

  it("exports OTLP/HTTP protobuf by default, with the caller's trace id in the spans", async () => {
    const port = (receiver.address() as AddressInfo).port;
    const configPath = writeConfig(`server: { host: 127.0.0.1, port: 0 }
${ownJobsDir()}
tracing: { endpoint: "http://127.0.0.1:${port}" }
backends:
  triton: { type: triton, url: "${triton.restUrl}", protocol: rest }
models:
  iris:
    versions: { "1": { backend: triton, model: iris, version: "1" } }
`);
    const gateway = await startGateway({ configPath, logger: captureLogger().logger, env: {} });
    const traceId = "7ef92f3577b34da6a3ce929d0e0e4711";
    try {
      const { status } = await postWithNodeHttp(
        `http://127.0.0.1:${gateway.httpPort}/v1/models/iris/predict`,
        JSON.stringify({ inputs: [[5.1, 3.5, 1.4, 0.2]] }),
        { traceparent: `00-${traceId}-${CALLER_SPAN}-01` },
      );
      expect(status).toBe(200);
    } finally {
      await gateway.stop();
    }
    // Trace and span ids are raw 16- and 8-byte fields in the protobuf encoding.
    const all = Buffer.concat(protobufBodies);
    expect(all.includes(Buffer.from(traceId, "hex"))).toBe(true);
    expect(all.includes(Buffer.from(CALLER_SPAN, "hex"))).toBe(true);
    expect(all.includes(Buffer.from("POST /v1/models/iris/predict"))).toBe(true);
    expect(seenTraceparents.some((t) => t.startsWith(`00-${traceId}-`))).toBe(true);
  });
});
