/**
 * A Triton backend's own model configuration (docs/triton.md "Model configuration"), read from
 * the backend over the protocol its config selects, for the gateway to answer with its own model
 * name and versions. Any failure is "no config": the caller builds one from metadata instead.
 */
import * as grpc from "@grpc/grpc-js";
import { unaryCall } from "../backends/remote/grpc-client.js";
import type { TargetRef } from "../backends/types.js";
import { effectiveProtocol } from "../config/references.js";
import type { GatewayConfig } from "../config/schema.js";
import { KSERVE_SERVICE_NAME } from "../protocols/kserve/proto.js";
import { tritonServiceDefinition } from "./grpc-proto.js";

/** How long the gateway waits for a backend's config. */
const CONFIG_TIMEOUT_MS = 2_000;
/** Largest config answer read over REST. */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** gRPC clients by address, one channel each; bounded (the config names few Triton addresses). */
const clients = new Map<string, grpc.Client>();
const MAX_CLIENTS = 64;

const first = (v: string | readonly string[] | undefined) => (typeof v === "string" ? v : v?.[0]);

/** The target's model config from its Triton backend, or undefined (not Triton, or no answer). */
export async function tritonBackendConfig(
  config: GatewayConfig,
  target: TargetRef,
): Promise<Record<string, unknown> | undefined> {
  const backend = config.backends[target.backend];
  if (backend?.type !== "triton") return undefined;
  try {
    if (effectiveProtocol(backend) === "grpc") {
      const address = first(backend.grpc);
      return address === undefined ? undefined : await overGrpc(target, address);
    }
    const url = first(backend.url);
    return url === undefined ? undefined : await overRest(target, url);
  } catch {
    return undefined;
  }
}

async function overRest(target: TargetRef, url: string): Promise<Record<string, unknown>> {
  const version =
    target.version === undefined ? "" : `/versions/${encodeURIComponent(target.version)}`;
  const res = await fetch(
    `${url.replace(/\/$/, "")}/v2/models/${encodeURIComponent(target.model)}${version}/config`,
    {
      signal: AbortSignal.timeout(CONFIG_TIMEOUT_MS),
    },
  );
  if (!res.ok) throw new Error(`config: HTTP ${res.status}`);
  const length = Number(res.headers.get("content-length") ?? "0");
  if (length > MAX_CONFIG_BYTES) throw new Error("config too large");
  const text = await res.text();
  if (text.length > MAX_CONFIG_BYTES) throw new Error("config too large");
  const body: unknown = JSON.parse(text);
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw new Error("config is not an object");
  return body as Record<string, unknown>;
}

async function overGrpc(target: TargetRef, address: string): Promise<Record<string, unknown>> {
  let client = clients.get(address);
  if (client === undefined) {
    const Client = grpc.makeGenericClientConstructor(
      tritonServiceDefinition(),
      KSERVE_SERVICE_NAME,
    );
    client = new Client(address, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": MAX_CONFIG_BYTES,
    });
    if (clients.size < MAX_CLIENTS) clients.set(address, client);
  }
  const res = await unaryCall<
    { name: string; version: string },
    { config?: Record<string, unknown> | null }
  >(
    target.backend,
    client,
    "ModelConfig",
    { name: target.model, version: target.version ?? "" },
    { deadline: Date.now() + CONFIG_TIMEOUT_MS },
  );
  if (res.config === undefined || res.config === null) throw new Error("no config in the answer");
  return res.config;
}
