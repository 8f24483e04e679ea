/**
 * Triton's repository index of the gateway (docs/triton.md "Repository"): every configured model
 * version with READY or UNAVAILABLE, from the same readiness probe as ModelReady.
 */

import type { InferenceApi } from "../gateway/types.js";
import { compareVersions } from "../routing/versions.js";
import { configOf, NO_HEADERS } from "./gateway-view.js";

/** `RepositoryIndexResponse.ModelIndex`. */
export interface ModelIndexEntry {
  name: string;
  version: string;
  state: "READY" | "UNAVAILABLE";
  reason: string;
}

/**
 * The index, sorted by model then version. `readyOnly` keeps the READY ones (the request's
 * `ready` flag). The probes run in parallel, each bounded by the service's probe timeout.
 */
export async function repositoryIndex(
  service: InferenceApi,
  readyOnly: boolean,
): Promise<ModelIndexEntry[]> {
  const config = configOf(service);
  const pairs = service
    .models()
    .sort()
    .flatMap((model) => {
      const versions = config?.models[model]?.versions;
      const ids =
        versions === undefined
          ? [service.resolve(model, undefined, NO_HEADERS).version]
          : Object.keys(versions).sort(compareVersions);
      return ids.map((version) => ({ model, version }));
    });
  const entries = await Promise.all(
    pairs.map(async ({ model, version }): Promise<ModelIndexEntry> => {
      const ready = await service
        .ready(service.resolve(model, version, NO_HEADERS))
        .catch(() => false);
      return {
        name: model,
        version,
        state: ready ? "READY" : "UNAVAILABLE",
        reason: ready ? "" : "no reachable target",
      };
    }),
  );
  return readyOnly ? entries.filter((e) => e.state === "READY") : entries;
}
