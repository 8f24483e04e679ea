/**
 * grpc-js server channel options from `server.grpc` (docs/grpc.md "Limits"): stream count per
 * connection, keepalive pings, and connection idle and age limits, all enforced by grpc-js.
 */
import type { ServerOptions } from "@grpc/grpc-js";
import { type GrpcServerConfig, grpcServerSchema } from "../config/schema.js";

/** `server.grpc` with every default, for fronts started without a config (tests). */
export const DEFAULT_GRPC_LIMITS: GrpcServerConfig = grpcServerSchema.parse({});

/** The grpc-js `Server` options for these limits and message size. */
export function grpcServerOptions(
  limits: GrpcServerConfig,
  maxMessageBytes: number,
): ServerOptions {
  return {
    "grpc.max_receive_message_length": maxMessageBytes,
    "grpc.max_send_message_length": maxMessageBytes,
    // Sent in the SETTINGS frame: a client opening more streams on one connection is refused.
    "grpc.max_concurrent_streams": limits.maxConcurrentStreams,
    "grpc.keepalive_time_ms": limits.keepaliveTimeMs,
    "grpc.keepalive_timeout_ms": limits.keepaliveTimeoutMs,
    "grpc.max_connection_idle_ms": limits.maxConnectionIdleMs,
    "grpc.max_connection_age_ms": limits.maxConnectionAgeMs,
    "grpc.max_connection_age_grace_ms": limits.maxConnectionAgeGraceMs,
  };
}
