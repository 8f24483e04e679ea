/**
 * The request body, read with the current `server.bodyLimitBytes` (a reload may change it).
 *
 * Under @hono/node-server the body is read straight from Node's IncomingMessage: touching
 * `c.req.raw` would make the adapter build a full web Request (undici Request, ReadableStream,
 * AbortSignal) for every request, which profiling showed to be one of the largest per-request
 * costs. A `Content-Length` over the limit is refused before reading; a chunked body is counted as
 * it streams in and never held past the limit.
 */
import type { IncomingMessage } from "node:http";
import type { Context, MiddlewareHandler } from "hono";
import { PayloadTooLargeError } from "../errors.js";
import type { AppEnv } from "./deps.js";

/** Options of {@link payloadLimit}. */
export interface PayloadLimitOptions {
  /** The current limit in bytes. */
  maxBytes: () => number;
}

/** Fixes this request's body limit and refuses a declared length over it (413). */
export function payloadLimit(options: PayloadLimitOptions): MiddlewareHandler<AppEnv> {
  return async function payloadLimit(c, next) {
    const maxBytes = options.maxBytes();
    c.set("bodyLimit", maxBytes);
    const declared = c.req.header("content-length");
    if (declared !== undefined && Number(declared) > maxBytes)
      throw new PayloadTooLargeError(maxBytes);
    await next();
  };
}

/** The whole body, or PayloadTooLargeError once it passes the limit. */
export function readLimitedBody(c: Context<AppEnv>): Promise<Uint8Array> {
  const maxBytes = c.get("bodyLimit") ?? Number.POSITIVE_INFINITY;
  const incoming = c.env?.incoming;
  return incoming === undefined ? readWebBody(c, maxBytes) : readIncoming(incoming, maxBytes);
}

function readIncoming(incoming: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      incoming.off("data", onData);
      incoming.off("end", onEnd);
      incoming.off("error", onError);
      incoming.off("aborted", onAborted);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        // Drain the rest without keeping it, so the connection can still carry the 413.
        incoming.resume();
        reject(new PayloadTooLargeError(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onAborted = () => onError(new Error("aborted"));
    if (incoming.readableEnded) {
      resolve(new Uint8Array(0));
      return;
    }
    incoming.on("data", onData);
    incoming.on("end", onEnd);
    incoming.on("error", onError);
    incoming.on("aborted", onAborted);
  });
}

async function readWebBody(c: Context<AppEnv>, maxBytes: number): Promise<Uint8Array> {
  const body = c.req.raw.body;
  if (body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new PayloadTooLargeError(maxBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}
