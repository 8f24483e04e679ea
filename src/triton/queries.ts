/**
 * The Triton extension queries both v2 fronts answer (statistics, model configuration), on top of
 * the InferenceApi; the fronts only turn them into JSON or gRPC messages.
 */
import type { HeaderLookup, InferenceApi } from "../gateway/types.js";
import { compareVersions } from "../routing/versions.js";
import { tritonBackendConfig } from "./backend-config.js";
import { configOf, NO_HEADERS, targetOf } from "./gateway-view.js";
import { buildModelConfig, type TritonModelConfig, versionPolicy } from "./model-config.js";
import { type ModelStatSnapshot, tritonStats } from "./statistics.js";
import { resolveAsTriton } from "./wording.js";

/** The configured version ids of a model, in version order. */
function versionsOf(service: InferenceApi, model: string): string[] {
  const versions = configOf(service)?.models[model]?.versions;
  if (versions === undefined) return [service.resolve(model, undefined, NO_HEADERS).version];
  return Object.keys(versions).sort(compareVersions);
}

/**
 * Statistics of every model (empty name), every version of one model (no version), or one
 * version. Unknown models and versions throw Triton's not-found errors.
 */
export function modelStatistics(
  service: InferenceApi,
  model: string,
  version: string | undefined,
): ModelStatSnapshot[] {
  if (model === "") {
    return service
      .models()
      .sort()
      .flatMap((m) => versionsOf(service, m).map((v) => tritonStats.snapshot(m, v)));
  }
  if (version === undefined || version === "") {
    resolveAsTriton(service, model, undefined, NO_HEADERS);
    return versionsOf(service, model).map((v) => tritonStats.snapshot(model, v));
  }
  const route = resolveAsTriton(service, model, version, NO_HEADERS);
  return [tritonStats.snapshot(route.model, route.version)];
}

/** The model configuration of a model version (the default or split one without a version). */
export async function modelConfiguration(
  service: InferenceApi,
  model: string,
  version: string | undefined,
  header: HeaderLookup,
): Promise<TritonModelConfig | Record<string, unknown>> {
  const release = service.hold();
  try {
    const route = resolveAsTriton(service, model, version || undefined, header);
    // A Triton backend's own config, under the gateway's name and versions; else one built here.
    const config = configOf(service);
    const target = targetOf(route);
    const own = config && target ? await tritonBackendConfig(config, target) : undefined;
    if (own !== undefined) {
      return {
        ...own,
        name: route.model,
        version_policy: versionPolicy(versionsOf(service, route.model)),
      };
    }
    return buildModelConfig(service, route, await service.metadata(route));
  } finally {
    release();
  }
}

/**
 * A value with its bigints made plain for an encoder: `asString` for protobuf (uint64 as decimal
 * strings); otherwise numbers, exact up to 2^53 (about 104 days of nanoseconds).
 */
export function plainBigints(value: unknown, asString: boolean): unknown {
  if (typeof value === "bigint") return asString ? value.toString() : Number(value);
  if (Array.isArray(value)) return value.map((v) => plainBigints(v, asString));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, plainBigints(v, asString)]),
    );
  }
  return value;
}

/** Why the gateway answers load, unload, shared memory, trace and log calls with "unimplemented". */
export const UNSUPPORTED_REASON = {
  repository:
    "model loading and unloading are not available through infergate: it routes to models its configuration names; change the configuration instead",
  sharedMemory:
    "shared memory is not available through infergate: the gateway runs in another process, often on another host, than its backends; send tensors in the request",
  trace: "trace settings are not available through infergate",
  logging: "log settings are not available through infergate; use its configuration",
} as const;
