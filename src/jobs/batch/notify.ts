/**
 * A finished batch's completion webhook (`batch.succeeded | batch.failed | batch.cancelled`),
 * signed and retried like the async jobs' (docs/async.md "Webhooks"), while the process runs.
 */
import type { WebhooksConfig } from "../config.js";
import { newDeliveryId, nextStep } from "../delivery.js";
import { webhookSender } from "../webhook.js";
import type { BatchMetrics } from "./metrics.js";
import type { BatchRecord } from "./types.js";
import { batchView } from "./view.js";

/** Delivers the event of a finished batch that asked for a webhook; never throws. */
export async function notifyBatch(
  batch: BatchRecord,
  webhooks: WebhooksConfig,
  metrics: BatchMetrics | undefined,
  stopped: () => boolean,
): Promise<void> {
  const url = batch.spec.webhook?.url;
  if (url === undefined) return;
  const send = webhookSender(() => webhooks);
  const payload = JSON.stringify({
    type: `batch.${batch.status}`,
    timestamp: new Date().toISOString(),
    data: batchView(batch),
  });
  const delivery = { id: newDeliveryId(), jobId: batch.id, url, payload, attempts: 0 };
  const policy = { ...webhooks, leaseMs: webhooks.timeoutMs };
  for (;;) {
    const result = await send(delivery);
    delivery.attempts++;
    const step = nextStep(result, delivery.attempts, policy);
    if (step.done) {
      metrics?.webhookDeliveries?.inc({ outcome: step.outcome });
      return;
    }
    if (stopped()) return;
    await new Promise((r) => setTimeout(r, step.delayMs).unref());
  }
}
