/**
 * The `server:` block of the config (docs/config.md): listeners, admin placement, processes, and
 * the per-request cost limits and the gRPC listener's HTTP/2 limits (`server.limits`,
 * `server.grpc`).
 */
import { z } from "zod";
import { durationMs, durationMsOrZero, port, positiveInt } from "./primitives.js";

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

/** `server:` — listeners, limits and process settings (docs/config.md "server"). */
export const serverSchema = z
  .strictObject({
    host: z.string().min(1).default("0.0.0.0"),
    port: port.default(8080),
    grpcPort: port.optional(),
    bodyLimitBytes: positiveInt.default(8_388_608),
    /** Largest gRPC message accepted or sent; default: bodyLimitBytes. */
    grpcMaxMessageBytes: positiveInt.optional(),
    drainTimeoutMs: durationMsOrZero.default(10_000),
    /** Bytes the in-process response cache may hold (answers + keys), LRU beyond it. */
    cacheMaxBytes: positiveInt.default(64 * 1024 * 1024),
    /**
     * Serve `/admin/*` (plus `/healthz`, `/readyz`, `/metrics`) on this port only, off the public
     * one, as Envoy keeps its admin interface apart; absent = everything on `port`.
     */
    adminPort: port.optional(),
    /** Where the admin listener binds (only with adminPort); absent = 127.0.0.1, loopback only. */
    adminHost: z.string().min(1).optional(),
    /** Reload when the config file's contents change, as a ConfigMap update does (docs/kubernetes.md). */
    watchConfig: z.boolean().default(false),
    /**
     * Gateway processes sharing the listeners (docs/workers.md): a count, or `auto` for one per
     * core; 1 is a single process. Takes effect on restart.
     */
    workers: z.union([z.literal("auto"), positiveInt.max(256)]).default(1),
    /** The server name v2 server metadata reports (Triton's own examples check for "triton"). */
    name: z.string().min(1).max(128).default("infergate"),
    limits: limitsSchema.default(() => limitsSchema.parse({})),
    grpc: grpcServerSchema.default(() => grpcServerSchema.parse({})),
  })
  .superRefine((server, ctx) => {
    if (server.adminHost !== undefined && server.adminPort === undefined) {
      ctx.addIssue({ code: "custom", path: ["adminHost"], message: "adminHost needs adminPort" });
    }
    // 0 means "any free port", so only fixed ports can collide. The admin listener shares an
    // address with the others when it binds the same host, or when they bind every interface.
    const adminHost = server.adminHost ?? "127.0.0.1";
    const adminShares =
      adminHost === server.host ||
      ["0.0.0.0", "::"].includes(server.host) ||
      adminHost === "0.0.0.0";
    const fixed: Array<[string, number | undefined]> = [
      ["port", server.port],
      ["grpcPort", server.grpcPort],
      ["adminPort", adminShares ? server.adminPort : undefined],
    ];
    const seen = new Map<number, string>();
    for (const [key, value] of fixed) {
      if (value === undefined || value === 0) continue;
      const other = seen.get(value);
      if (other !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: `${key} ${value} is already ${other}`,
        });
      }
      seen.set(value, key);
    }
  });
