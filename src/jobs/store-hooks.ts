/**
 * What the engine hands a job store (engine.ts builds it once, both stores take it): the jobs
 * config, the state-change listener, webhook sending and where background errors go.
 */
import type { JobsConfig } from "./config.js";
import type { DeliveryOutcome, DeliveryPolicy } from "./delivery.js";
import type { JobListener } from "./types.js";
import type { webhookSender } from "./webhook.js";

/** The logger the engine and the stores write to (pino's signature). */
export interface JobLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** What a store is given by the engine. */
export interface StoreHooks {
  config: JobsConfig;
  onChange: JobListener;
  webhooks: {
    send: ReturnType<typeof webhookSender>;
    policy: DeliveryPolicy;
    onOutcome: (o: DeliveryOutcome) => void;
  };
  onError: (err: unknown, what: string) => void;
}
