/**
 * Test support: a raw HTTP/2 gRPC client that sends ModelInfer calls and never reads the answers
 * (stream flow-control window 0, so the server can send headers and trailers but no data), the
 * way a slow or hostile client holds a server's answer buffers. Not used by production code.
 */
import { type ClientHttp2Session, connect, type IncomingHttpHeaders } from "node:http2";
import type { WireModelInferRequest } from "../../src/protocols/kserve/proto.js";
import { kserveService } from "../../src/protocols/kserve/proto.js";

/** How one never-read call ended. */
export interface SlowCallEnd {
  /** `grpc-status` from a trailers-only answer or the trailers, if any came. */
  grpcStatus: number | undefined;
  grpcMessage: string | undefined;
  /** Headers of a trailers-only answer, or the response headers. */
  headers: IncomingHttpHeaders | undefined;
  /** RST_STREAM code (0 when the stream closed normally). */
  rstCode: number;
}

/** One call: resolves when the server has sent headers (or closed first), and when closed. */
export interface SlowCall {
  headers: Promise<IncomingHttpHeaders>;
  ended: Promise<SlowCallEnd>;
}

/** A connection that never reads. */
export interface SlowReader {
  /** Sends one ModelInfer (already serialized: see `serializeInfer`). */
  infer(serialized: Buffer, metadata?: Record<string, string>): SlowCall;
  /** Starts reading after all: opens every stream's window (answers then flow and are read). */
  startReading(): void;
  /** Drops the TCP connection (as a client that goes away). */
  destroy(): void;
}

/** A ModelInferRequest serialized once, to send many times. */
export function serializeInfer(request: WireModelInferRequest): Buffer {
  return kserveService().methods.ModelInfer.requestSerialize(request);
}

/** Opens a connection to `host:port` whose streams never let the server send answer bytes. */
export async function slowReader(address: string): Promise<SlowReader> {
  const session: ClientHttp2Session = connect(`http://${address}`, {
    settings: { initialWindowSize: 0 },
    // Node's client default (10 MB) would refuse new streams while a few large requests are
    // still being written; an attacker has no such limit.
    maxSessionMemory: 4096,
  });
  session.on("error", () => {
    // A reset or a dropped connection is what the tests provoke; calls report it.
  });
  await new Promise<void>((resolve, reject) => {
    session.once("connect", () => resolve());
    session.once("error", reject);
  });
  const path = kserveService().methods.ModelInfer.path;
  return {
    infer(serialized, metadata = {}) {
      const stream = session.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
        ...metadata,
      });
      stream.on("error", () => {
        // RST_STREAM from the server: `ended` reports its code.
      });
      // Flowing, so a trailers-only answer ends the stream; with a window of 0 no answer byte
      // can arrive, so nothing is read until `startReading`.
      stream.resume();
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(serialized.length, 1);
      stream.end(Buffer.concat([prefix, serialized]));
      let last: IncomingHttpHeaders | undefined;
      // Settles when the stream closes without headers too (reset before answering): empty.
      const headers = new Promise<IncomingHttpHeaders>((resolve) => {
        stream.once("response", (h) => {
          last = h;
          resolve(h);
        });
        stream.once("close", () => resolve({}));
      });
      stream.once("trailers", (t) => {
        last = t;
      });
      const ended = new Promise<SlowCallEnd>((resolve) => {
        stream.once("close", () => {
          const status = last?.["grpc-status"];
          const message = last?.["grpc-message"];
          resolve({
            grpcStatus: status === undefined ? undefined : Number(status),
            grpcMessage: typeof message === "string" ? decodeURIComponent(message) : undefined,
            headers: last,
            rstCode: stream.rstCode ?? 0,
          });
        });
      });
      return { headers, ended };
    },
    startReading() {
      session.settings({ initialWindowSize: 1 << 20 });
    },
    destroy() {
      session.destroy();
    },
  };
}

/** Never-read calls spread over connections (see `holdAnswers`). */
export interface HeldAnswers {
  readers: SlowReader[];
  calls: SlowCall[];
  /**
   * How each call began: held (200 headers, no grpc-status: its answer is queued), a trailers-only
   * status, or neither (reset before any headers: `grpcStatus` undefined, not held).
   */
  starts: Array<{ held: boolean; grpcStatus: number | undefined }>;
  /** Drops every connection. */
  destroy(): void;
}

/**
 * Opens `connections` never-reading connections and sends `calls` ModelInfer calls round-robin
 * over them, at most `concurrency` waiting for their answer's headers at a time (the answer is
 * built and queued by then), the way an attacker piles up answers the gateway must hold.
 */
export async function holdAnswers(
  address: string,
  options: { connections: number; calls: number; serialized: Buffer; concurrency?: number },
): Promise<HeldAnswers> {
  const readers = await Promise.all(
    Array.from({ length: options.connections }, () => slowReader(address)),
  );
  const calls: SlowCall[] = [];
  const starts: HeldAnswers["starts"] = [];
  let next = 0;
  const worker = async () => {
    while (next < options.calls) {
      const i = next++;
      const reader = readers[i % readers.length] as SlowReader;
      const call = reader.infer(options.serialized);
      calls[i] = call;
      const headers = await call.headers;
      const status = headers["grpc-status"];
      starts[i] = {
        held: headers[":status"] !== undefined && status === undefined,
        grpcStatus: status === undefined ? undefined : Number(status),
      };
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 1 }, worker));
  return {
    readers,
    calls,
    starts,
    destroy: () => {
      for (const reader of readers) reader.destroy();
    },
  };
}
