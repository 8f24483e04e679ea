/**
 * One clear line for a listener that could not bind (`port 8080 (http) is already in use on
 * 0.0.0.0`), instead of a stack. Node's HTTP server reports EADDRINUSE/EACCES with the port and
 * address on the error; grpc-js only inside its message, so both are read.
 */
import type { GatewayConfig } from "./config/schema.js";

type ServerConfig = Pick<
  GatewayConfig["server"],
  "host" | "port" | "grpcPort" | "adminPort" | "adminHost"
>;

const BIND_CODES = ["EADDRINUSE", "EACCES", "EADDRNOTAVAIL"] as const;
type BindCode = (typeof BIND_CODES)[number];

/** `[listen EADDRINUSE: address already in use 127.0.0.1:8081]` as grpc-js words it. */
const MESSAGE_CODE = /\b(EADDRINUSE|EACCES|EADDRNOTAVAIL)\b/;
/** The address that ends the message: `host:port` or `[ipv6]:port`, before grpc-js's `]`. */
const MESSAGE_ADDRESS = /(\[[^\]\s]+\]|[^\s[\]]+):(\d+)\]*$/;

interface BindFailure {
  code: BindCode;
  host: string | undefined;
  port: number | undefined;
  grpc: boolean;
}

function bindFailure(err: unknown): BindFailure | undefined {
  if (!(err instanceof Error)) return undefined;
  const fields = err as Error & { code?: unknown; port?: unknown; address?: unknown };
  const code = BIND_CODES.find((c) => c === fields.code);
  if (code !== undefined) {
    return {
      code,
      host: typeof fields.address === "string" ? fields.address : undefined,
      port: typeof fields.port === "number" ? fields.port : undefined,
      grpc: false,
    };
  }
  const matched = MESSAGE_CODE.exec(err.message);
  if (matched === null) return undefined;
  const address = MESSAGE_ADDRESS.exec(err.message.trim());
  return {
    code: matched[1] as BindCode,
    host: address?.[1]?.replace(/^\[|\]$/g, ""),
    port: address === null ? undefined : Number(address[2]),
    grpc: true,
  };
}

/** Which configured listener a port belongs to (the gRPC one when grpc-js reported it). */
function listenerOf(failure: BindFailure, server: ServerConfig): string {
  if (failure.grpc) return "grpc";
  if (failure.port !== undefined && failure.port === server.adminPort) return "admin";
  return "http";
}

/**
 * The line to print when `err` is a listener failing to bind, else undefined. `server` is the
 * config's `server` block, to name the listener and fill in what the error leaves out.
 */
export function describeListenError(err: unknown, server: ServerConfig): string | undefined {
  const failure = bindFailure(err);
  if (failure === undefined) return undefined;
  const listener = listenerOf(failure, server);
  const configured =
    listener === "grpc" ? server.grpcPort : listener === "admin" ? server.adminPort : server.port;
  const port = failure.port ?? configured;
  const host =
    failure.host ?? (listener === "admin" ? (server.adminHost ?? "127.0.0.1") : server.host);
  switch (failure.code) {
    case "EADDRINUSE":
      return `port ${port} (${listener}) is already in use on ${host}`;
    case "EACCES":
      return `port ${port} (${listener}) on ${host}: permission denied (ports below 1024 need privileges)`;
    case "EADDRNOTAVAIL":
      return `port ${port} (${listener}): address ${host} is not available on this machine`;
  }
}
