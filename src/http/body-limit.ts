/**
 * The request body, read with the current `server.bodyLimitBytes` (a reload may change it), the
 * body-idle timeout and the gateway-wide buffered-bytes budget (docs/security.md "Timeouts and
 * caps").
 *
 * Under @hono/node-server the body is read straight from Node's IncomingMessage: touching
 * `c.req.raw` would make the adapter build a full web Request (undici Request, ReadableStream,
 * AbortSignal) for every request, which profiling showed to be one of the largest per-request
 * costs. A `Content-Length` over the limit is refused before reading; a chunked body is counted as
 * it streams in and never held past the limit.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context, MiddlewareHandler } from "hono";
import { GatewayError, OverloadedError, PayloadTooLargeError } from "../errors.js";
import type { BodyBudget, BodyLease } from "./body-budget.js";
import { BodyCollector } from "./body-collector.js";
import type { AppEnv } from "./deps.js";

/** Options of {@link payloadLimit}. */
export interface PayloadLimitOptions {
  /** The current limit in bytes. */
  maxBytes: () => number;
  /** The current body-idle timeout (ms); absent = none. */
  bodyIdleMs?: () => number;
  /** The gateway-wide budget of buffered body bytes; absent = unbounded. */
  budget?: BodyBudget;
}

/** How this request's body is read: set by {@link payloadLimit}. */
export interface BodyReadSettings {
  idleMs: number;
  lease: BodyLease | undefined;
}

/** An upload that stalled: nothing arrived for the body-idle timeout. Answered 408. */
export class BodyIdleTimeoutError extends GatewayError {
  constructor(idleMs: number) {
    super("INVALID_REQUEST", `request body stalled: nothing received for ${idleMs} ms`);
  }

  override get status(): number {
    return 408;
  }
}

/**
 * Fixes this request's body limit, idle timeout and budget lease, refuses a declared length over
 * the limit (413), and gives the lease back once the request is answered.
 */
export function payloadLimit(options: PayloadLimitOptions): MiddlewareHandler<AppEnv> {
  return async function payloadLimit(c, next) {
    const maxBytes = options.maxBytes();
    c.set("bodyLimit", maxBytes);
    const declared = c.req.header("content-length");
    if (declared !== undefined && Number(declared) > maxBytes)
      throw new PayloadTooLargeError(maxBytes);
    const lease = options.budget?.lease();
    c.set("bodyRead", { idleMs: options.bodyIdleMs?.() ?? 0, lease });
    try {
      await next();
    } finally {
      // Errors are answered inside next(), so this runs once the request is answered, whatever
      // the outcome; the bytes are no longer held by this request.
      lease?.release();
    }
  };
}

/** The whole body, or PayloadTooLargeError / BodyIdleTimeoutError / OverloadedError. */
export function readLimitedBody(c: Context<AppEnv>): Promise<Uint8Array> {
  const maxBytes = c.get("bodyLimit") ?? Number.POSITIVE_INFINITY;
  const settings = c.get("bodyRead") ?? { idleMs: 0, lease: undefined };
  const incoming = c.env?.incoming;
  return incoming === undefined
    ? readWebBody(c, maxBytes, settings.lease)
    : readIncoming(incoming, c.env?.outgoing, maxBytes, settings);
}

function readIncoming(
  incoming: IncomingMessage,
  outgoing: ServerResponse | undefined,
  maxBytes: number,
  { idleMs, lease }: BodyReadSettings,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const body = new BodyCollector(incoming.headers["content-length"]);
    let idle: NodeJS.Timeout | undefined;
    const cleanup = () => {
      if (idle !== undefined) clearTimeout(idle);
      incoming.off("data", onData);
      incoming.off("end", onEnd);
      incoming.off("error", onError);
      incoming.off("aborted", onAborted);
    };
    const fail = (err: Error) => {
      cleanup();
      body.drop();
      reject(err);
    };
    // Refused mid-body: stop reading and close the connection after the answer. The adapter
    // drains what is still coming for a moment (so the client sees the answer), then closes;
    // except when refused for the body budget: the gateway is short of memory, and reading what
    // the uploads still send costs more than a client that may see a reset instead of the 503
    // (measured: 200 refused 8 MB uploads moved 1.3 GB more through the gateway).
    const refuse = (err: Error) => {
      outgoing?.setHeader("connection", "close");
      incoming.pause();
      if (err instanceof OverloadedError) outgoing?.once("finish", () => incoming.socket.destroy());
      fail(err);
    };
    const onData = (chunk: Buffer) => {
      idle?.refresh();
      if (body.size + chunk.length > maxBytes) return refuse(new PayloadTooLargeError(maxBytes));
      try {
        lease?.take(chunk.length);
      } catch (err) {
        return refuse(err as Error);
      }
      body.add(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(body.bytes());
    };
    const onError = (err: Error) => fail(err);
    const onAborted = () => fail(new Error("aborted"));
    if (incoming.readableEnded) {
      resolve(new Uint8Array(0));
      return;
    }
    if (idleMs > 0) idle = setTimeout(() => refuse(new BodyIdleTimeoutError(idleMs)), idleMs);
    incoming.on("data", onData);
    incoming.on("end", onEnd);
    incoming.on("error", onError);
    incoming.on("aborted", onAborted);
  });
}

async function readWebBody(
  c: Context<AppEnv>,
  maxBytes: number,
  lease: BodyLease | undefined,
): Promise<Uint8Array> {
  const body = c.req.raw.body;
  if (body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    try {
      if (size > maxBytes) throw new PayloadTooLargeError(maxBytes);
      lease?.take(value.byteLength);
    } catch (err) {
      await reader.cancel();
      throw err;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}
