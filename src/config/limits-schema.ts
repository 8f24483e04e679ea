/**
 * The server's per-request cost limits and its gRPC listener's HTTP/2 limits: `server.limits` and
 * `server.grpc` (docs/config.md).
 */
import { z } from "zod";
import { durationMs, positiveInt } from "./primitives.js";

/**
 * What one request may cost the gateway, checked before the work is done (see docs/config.md
 * "server.limits"). Defaults suit a gateway behind a load balancer: generous for real tensors,
 * far below what would stall the event loop or take gigabytes.
 */
export const limitsSchema = z.strictObject({
  /** Deepest JSON nesting accepted in a request body (objects and arrays together). */
  maxJsonDepth: positiveInt.max(1024).default(64),
  /** Tensor elements in one request, all inputs together (declared shape, checked first). */
  maxElements: positiveInt.default(4_194_304),
  /** Decoded tensor bytes in one request (shape × datatype size, checked before allocating). */
  maxTensorBytes: positiveInt.default(64 * 1024 * 1024),
  /** Bytes of one answer's outputs before encoding; over it the answer is a 502 (backend's). */
  maxOutputBytes: positiveInt.default(64 * 1024 * 1024),
  /** BYTES (string) elements in one request. */
  maxBytesElements: positiveInt.default(65_536),
  /** A request's headers must arrive within this (slowloris). */
  headersTimeoutMs: durationMs.default(10_000),
  /** A whole request (headers and body) must arrive within this. */
  requestTimeoutMs: durationMs.default(30_000),
  /** An upload that sends nothing for this long is cut. */
  bodyIdleTimeoutMs: durationMs.default(5_000),
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: durationMs.default(5_000),
  /** Open connections per HTTP listener; past it new ones are refused. */
  maxConnections: positiveInt.default(4096),
  /** Request-body bytes buffered at once over all requests; past it 503 OVERLOADED. */
  maxBufferedBodyBytes: positiveInt.default(256 * 1024 * 1024),
});

/** The gRPC listener's HTTP/2 limits (see docs/config.md "server.grpc"). */
export const grpcServerSchema = z.strictObject({
  /** Concurrent streams (calls) per connection. */
  maxConcurrentStreams: positiveInt.default(256),
  /** Server pings an idle connection this often, and drops it when no ack in keepaliveTimeoutMs. */
  keepaliveTimeMs: durationMs.default(60_000),
  keepaliveTimeoutMs: durationMs.default(20_000),
  /** A connection with no calls for this long is closed (GOAWAY). */
  maxConnectionIdleMs: durationMs.default(300_000),
  /** A connection is closed after this long (clients reconnect and rebalance). */
  maxConnectionAgeMs: durationMs.default(1_800_000),
  maxConnectionAgeGraceMs: durationMs.default(30_000),
  /** A call whose answer the client does not read within this is cancelled. */
  sendTimeoutMs: durationMs.default(10_000),
  /** Unread answer bytes buffered per connection; past it the call is cancelled. */
  maxUnreadResponseBytes: positiveInt.default(16 * 1024 * 1024),
  /** The same, all gRPC connections together (many connections, one held answer each). */
  maxUnreadResponseBytesTotal: positiveInt.default(256 * 1024 * 1024),
});
