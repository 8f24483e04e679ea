/**
 * What a client that does not read its answers may cost the gRPC front (docs/grpc.md "A client
 * that does not read"). HTTP/2 flow control keeps an answer the client does not read inside the
 * gateway: grpc-js hands it to the stream, and the stream holds it until the client's window lets
 * it out, with no time limit. This interceptor bounds both how long and how much:
 *
 * - a call whose answer has not left the gateway within `sendTimeoutMs` of being handed over is
 *   reset (RST_STREAM CANCEL), which drops its buffers (grpc-js's own path, a status after the
 *   data, would wait behind the unsent data forever);
 * - the bytes unsent answers hold are counted (each answer, and its request, which grpc-js keeps
 *   as long as the stream), per connection and in all; an answer that would take them past
 *   `maxUnreadResponseBytes` or `maxUnreadResponseBytesTotal` is refused with RESOURCE_EXHAUSTED
 *   before any of it is queued, so the client gets a clean status, not a reset (`UnreadBudget`);
 *   a call whose request alone would pass them is refused before the model runs.
 *
 * Each answer message counts, and has its deadline, from the moment it is handed over until
 * grpc-js reports it written (the client's window let it all out) or its stream closes (call
 * reset, or client gone).
 */
import { EventEmitter } from "node:events";
import { constants, type Http2Session, type ServerHttp2Stream } from "node:http2";
import {
  Metadata,
  type Responder,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServiceDefinition,
  status,
} from "@grpc/grpc-js";
import { pickRequestId } from "../gateway/request-id.js";
import { UnreadBudget, type UnreadLimits } from "./unread-budget.js";

/** The limits, from `server.grpc` (see docs/grpc.md "Limits"). */
export interface SendGuardOptions {
  sendTimeoutMs: number;
  /** What unread answers may hold, per connection and in all. */
  unread: UnreadLimits;
  /** Called once if grpc-js no longer exposes the call's HTTP/2 stream (calls then go unguarded). */
  onUnguarded?: (err: Error) => void;
}

/** gRPC's 5-byte message prefix (compressed flag + length) that grpc-js adds to each message. */
const FRAME_PREFIX_BYTES = 5;

/**
 * The interceptor. The front must serialize with `passSerialized` so that the message this
 * interceptor serializes (to know its size) is not serialized a second time.
 */
export function sendGuard(options: SendGuardOptions): ServerInterceptor {
  const budget = new UnreadBudget<Http2Session>(options.unread);
  let warned = false;
  return (method, call) => {
    const stream = http2StreamOf(call);
    const session = stream?.session;
    if (stream === undefined || session === undefined) {
      if (!warned && stream === undefined) {
        warned = true;
        options.onUnguarded?.(new Error("grpc-js call without an HTTP/2 stream: send guard off"));
      }
      return new ServerInterceptingCall(call);
    }
    // grpc-js keeps a call's request chunks until its stream closes, so a held answer costs its
    // request too. Counting the chunks does not change the stream's flow (it stays paused).
    let received = 0;
    let requestCharged = false;
    stream.on("data", (chunk: Buffer) => {
      received += chunk.length;
    });
    // Answers handed over and not yet written out, oldest first (writes complete in order).
    const queued: Array<{ bytes: number; timer: NodeJS.Timeout }> = [];
    const written = () => {
      const done = queued.shift();
      if (done === undefined) return;
      clearTimeout(done.timer);
      budget.release(session, done.bytes);
    };
    stream.once("close", () => {
      while (queued.length > 0) written();
    });

    // Response metadata waits for the message: an answer refused for the budget then goes out
    // as a trailers-only RESOURCE_EXHAUSTED, the one form a client reads as a status.
    let metadata: { value: Metadata; next: (m: Metadata) => void } | undefined;
    const flushMetadata = () => {
      const pending = metadata;
      metadata = undefined;
      pending?.next(pending.value);
    };

    const refuse = (details: string) => {
      const trailers = metadata?.value;
      metadata = undefined;
      call.sendStatus({
        code: status.RESOURCE_EXHAUSTED,
        details,
        ...(trailers === undefined ? {} : { metadata: trailers }),
      });
    };

    return new WriteTrackingCall(call, written, {
      // A call arriving on a connection (or a gateway) already past its limit with the request
      // alone is refused before the model runs: piling up calls costs the gateway no compute.
      start: (next) => {
        let requestMetadata: Metadata | undefined;
        next({
          onReceiveMetadata: (value, nextMetadata) => {
            requestMetadata = value;
            nextMetadata(value);
          },
          onReceiveMessage: (message, nextMessage) => {
            const refusal = budget.check(session, received);
            if (refusal === undefined) {
              nextMessage(message);
              return;
            }
            // The request id the front would have answered with, as on every failure.
            const given = requestMetadata?.get("x-request-id").find((v) => typeof v === "string");
            const trailers = new Metadata();
            trailers.set(
              "x-request-id",
              pickRequestId(typeof given === "string" ? given : undefined),
            );
            metadata = { value: trailers, next: () => {} };
            refuse(refusal);
          },
        });
      },
      sendMetadata: (value, next) => {
        metadata = { value, next };
      },
      sendMessage: (message, next) => {
        let bytes: Buffer;
        try {
          bytes = method.responseSerialize(message);
        } catch {
          call.sendStatus({ code: status.INTERNAL, details: "Error serializing response" });
          return;
        }
        // Cancelled meanwhile: grpc-js drops the message, and "close" has already given back.
        if (stream.closed || stream.destroyed) return;
        const size = bytes.length + FRAME_PREFIX_BYTES + (requestCharged ? 0 : received);
        const refusal = budget.admit(session, size);
        if (refusal !== undefined) {
          refuse(refusal);
          return;
        }
        requestCharged = true;
        const timer = setTimeout(() => {
          if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
        }, options.sendTimeoutMs);
        queued.push({ bytes: size, timer });
        flushMetadata();
        next(bytes);
      },
      sendStatus: (value, next) => {
        flushMetadata();
        next(value);
      },
    });
  };
}

/**
 * A ServerInterceptingCall that reports each message's write completing (grpc-js calls a
 * message's callback once the HTTP/2 stream has sent it, i.e. the client's window let it out).
 */
class WriteTrackingCall extends ServerInterceptingCall {
  constructor(
    next: ServerInterceptingCallInterface,
    private readonly onWritten: () => void,
    responder: Responder,
  ) {
    super(next, responder);
  }

  override sendMessage(message: unknown, callback: () => void): void {
    super.sendMessage(message, () => {
      this.onWritten();
      callback();
    });
  }
}

/**
 * A service definition whose response serializers let an already serialized Buffer through, so
 * `sendGuard` can serialize a message once, measure it, and hand grpc-js the bytes.
 */
export function passSerialized(definition: ServiceDefinition): ServiceDefinition {
  return Object.fromEntries(
    Object.entries(definition).map(([name, method]) => {
      const serialize = method.responseSerialize as (value: unknown) => Buffer;
      const responseSerialize = (value: unknown) =>
        Buffer.isBuffer(value) ? value : serialize(value);
      return [name, { ...method, responseSerialize }];
    }),
  );
}

/**
 * The HTTP/2 stream under a grpc-js server call. grpc-js has no public accessor; its base call
 * (what the first server interceptor receives) keeps the stream in a field named `stream`. Checked
 * at run time, and `src/grpc/send-guard.test.ts` fails if a grpc-js upgrade moves it.
 */
export function http2StreamOf(
  call: ServerInterceptingCallInterface,
): ServerHttp2Stream | undefined {
  const stream: unknown = Reflect.get(call, "stream");
  if (
    stream instanceof EventEmitter &&
    "respond" in stream &&
    "close" in stream &&
    typeof stream.close === "function"
  ) {
    return stream as ServerHttp2Stream;
  }
  return undefined;
}
