/**
 * Triton's `ModelStreamInfer` (docs/triton.md "Streaming"): every request on the stream is run as
 * ModelInfer would run it and answered in order; a failed request is its response's
 * `error_message` and the stream goes on. At most {@link MAX_IN_FLIGHT} requests of one stream run
 * at once: beyond that the stream stops reading until one is answered. Requests of one sequence
 * (the same `sequence_id`) run one after another, in stream order, so a stateful backend gets a
 * sequence's START before the rest even over a pool of connections.
 */
import type { handleBidiStreamingCall, ServerDuplexStream } from "@grpc/grpc-js";
import { callScope } from "../auth/principal.js";
import { toGatewayError } from "../errors.js";
import { pickRequestId } from "../gateway/request-id.js";
import type { InferenceApi, RequestContext, ServiceGetter } from "../gateway/types.js";
import type { WireModelInferRequest, WireModelInferResponse } from "../protocols/kserve/proto.js";
import type { DecodeLimits } from "../tensor/index.js";
import { classifyResponse, grpcClassRequests } from "../triton/classification.js";
import { inferAsTriton } from "../triton/input-check.js";
import { grpcTensorParameters, wireSequenceKey } from "../triton/parameters.js";
import { resolveAsTriton } from "../triton/wording.js";
import { decodeInferRequest, encodeInferResponse } from "./codec.js";

/** Requests of one stream computed at once. */
export const MAX_IN_FLIGHT = 16;

/** `ModelStreamInferResponse`. */
interface StreamResponse {
  error_message: string;
  infer_response: WireModelInferResponse | null;
}

type Call = ServerDuplexStream<WireModelInferRequest, StreamResponse>;

/** The handler; `service` is read once per request, like ModelInfer's. */
export function streamInfer(
  service: ServiceGetter<InferenceApi>,
  options: {
    decodeLimits?: () => DecodeLimits;
    onInternalError?: (err: unknown, rpc: string) => void;
  },
): handleBidiStreamingCall<WireModelInferRequest, StreamResponse> {
  return (call: Call) => {
    const header = (name: string) => {
      const value = call.metadata.get(name.toLowerCase())[0];
      return typeof value === "string" ? value : undefined;
    };
    const controller = new AbortController();
    call.on("cancelled", () => controller.abort());
    const scope = callScope(call);
    const context: RequestContext = {
      requestId: pickRequestId(header("x-request-id")),
      header,
      signal: controller.signal,
      scope,
    };
    const deadline = call.getDeadline();
    const ms = deadline instanceof Date ? deadline.getTime() : deadline;
    if (Number.isFinite(ms)) context.clientDeadline = ms;

    let tail: Promise<void> = Promise.resolve();
    /** The last request of each sequence still running (at most MAX_IN_FLIGHT entries). */
    const sequences = new Map<string, Promise<StreamResponse>>();
    let inFlight = 0;
    let ended = false;
    let paused = false;
    const finishIfDone = () => {
      if (ended && inFlight === 0 && !call.cancelled) call.end();
    };
    call.on("data", (wire: WireModelInferRequest) => {
      inFlight += 1;
      if (inFlight >= MAX_IN_FLIGHT && !paused) {
        paused = true;
        call.pause();
      }
      const key = wireSequenceKey(wire.parameters);
      const before = key === undefined ? undefined : sequences.get(key);
      const run = () => answerOne(service(scope), wire, context, options);
      const answer = before === undefined ? run() : before.then(run);
      if (key !== undefined) {
        sequences.set(key, answer);
        void answer.then(() => {
          if (sequences.get(key) === answer) sequences.delete(key);
        });
      }
      tail = tail
        .then(() => answer)
        .then((message) => {
          if (!call.cancelled) call.write(message);
          inFlight -= 1;
          if (paused && inFlight < MAX_IN_FLIGHT) {
            paused = false;
            call.resume();
          }
          finishIfDone();
        });
    });
    call.on("end", () => {
      ended = true;
      finishIfDone();
    });
    call.on("error", () => controller.abort());
  };
}

/** One request's response message; never rejects (a failure is its `error_message`). */
async function answerOne(
  svc: InferenceApi,
  wire: WireModelInferRequest,
  context: RequestContext,
  options: {
    decodeLimits?: () => DecodeLimits;
    onInternalError?: (err: unknown, rpc: string) => void;
  },
): Promise<StreamResponse> {
  const release = svc.hold();
  try {
    const route = resolveAsTriton(
      svc,
      wire.model_name,
      wire.model_version || undefined,
      context.header,
      wireSequenceKey(wire.parameters),
    );
    const { request } = decodeInferRequest(wire, options.decodeLimits?.());
    const tensorParameters = grpcTensorParameters(wire);
    if (tensorParameters !== undefined) request.tensorParameters = tensorParameters;
    const answer = await inferAsTriton(svc, route, request, context);
    const response = classifyResponse(route, answer, grpcClassRequests(wire.outputs));
    const body = encodeInferResponse(response, true, request.id, options.decodeLimits?.());
    return { error_message: "", infer_response: body };
  } catch (err) {
    const e = toGatewayError(err);
    if (e.code === "INTERNAL") options.onInternalError?.(err, "ModelStreamInfer");
    return { error_message: e.message, infer_response: null };
  } finally {
    release();
  }
}
