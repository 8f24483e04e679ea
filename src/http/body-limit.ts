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
import { GatewayError, PayloadTooLargeError } from "../errors.js";
import type { BodyBudget, BodyLease } from "./body-budget.js";
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
    const chunks: Buffer[] = [];
    let size = 0;
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
      chunks.length = 0;
      reject(err);
    };
    // Refused mid-body: drain the rest without keeping it, so the connection can still carry the
    // answer, and close it after (the client may still be sending).
    const refuse = (err: Error) => {
      outgoing?.setHeader("connection", "close");
      fail(err);
      incoming.resume();
    };
    const onData = (chunk: Buffer) => {
      idle?.refresh();
      size += chunk.length;
      if (size > maxBytes) return refuse(new PayloadTooLargeError(maxBytes));
      try {
        lease?.take(chunk.length);
      } catch (err) {
        return refuse(err as Error);
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => fail(err);
    const onAborted = () => fail(new Error("aborted"));
    const onIdle = () => {
      refuse(new BodyIdleTimeoutError(idleMs));
      // A client that stalls its upload may not read our answer either: the socket goes once
      // the 408 is out, or a second later at most.
      outgoing?.once("finish", () => setTimeout(() => incoming.socket.destroy(), 1000).unref());
    };
    if (incoming.readableEnded) {
      resolve(new Uint8Array(0));
      return;
    }
    if (idleMs > 0) idle = setTimeout(onIdle, idleMs);
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
