/** Jobs on Redis through BullMQ (docs/async.md "Several replicas on Redis"). */
import type { JobLogger, StoreHooks } from "./engine.js";
import type { JobStore } from "./types.js";

/** Options of {@link RedisJobStore.open}. */
export interface RedisStoreOptions extends StoreHooks {
  url: string;
  keyPrefix: string;
  logger: JobLogger;
}

/** BullMQ-backed store. */
export const RedisJobStore = {
  async open(_options: RedisStoreOptions): Promise<JobStore> {
    throw new Error("jobs on Redis are not available yet");
  },
};
