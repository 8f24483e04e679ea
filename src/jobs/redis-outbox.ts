/**
 * Webhook deliveries of the Redis store (redis-store.ts): a BullMQ queue of its own, one BullMQ
 * job per event (its id is the `webhook-id`), with the retry schedule as a custom backoff, so
 * deliveries survive restarts and any replica sends them.
 */
import { type Job, Queue, UnrecoverableError, Worker } from "bullmq";
import {
  type Delivery,
  type DeliveryOutcome,
  type DeliveryPolicy,
  newDeliveryId,
  retryDelayMs,
  type Sender,
} from "./delivery.js";
import type { JobRecord } from "./types.js";
import { eventJson } from "./view.js";

const QUEUE = "webhooks";
const DELIVER = "deliver";

/** What the outbox needs. */
export interface RedisOutboxOptions {
  url: string;
  /** BullMQ's key prefix. */
  prefix: string;
  send: Sender;
  policy: DeliveryPolicy;
  onOutcome: (o: DeliveryOutcome) => void;
  onError: (err: unknown, what: string) => void;
}

/** The webhook queue and the worker sending it. */
export class RedisOutbox {
  readonly #queue: Queue;
  readonly #options: RedisOutboxOptions;
  #worker: Worker | undefined;

  constructor(options: RedisOutboxOptions) {
    this.#options = options;
    this.#queue = new Queue(QUEUE, {
      connection: { url: options.url, maxRetriesPerRequest: 1 },
      prefix: options.prefix,
    });
    this.#queue.on("error", (err) => options.onError(err, "webhook queue"));
  }

  /** Queues the event of a job that just finished, when it has a webhook. */
  async add(job: JobRecord): Promise<void> {
    if (job.webhook === undefined) return;
    const delivery: Delivery = {
      id: newDeliveryId(),
      jobId: job.id,
      url: job.webhook.url,
      payload: eventJson(job, job.finishedAt ?? Date.now()),
      attempts: 0,
    };
    await this.#queue.add(DELIVER, delivery, {
      jobId: delivery.id,
      attempts: this.#options.policy.maxAttempts,
      backoff: { type: "custom" },
      removeOnComplete: true,
      removeOnFail: true,
    });
  }

  /** Starts sending (on every replica: BullMQ hands each delivery to one of them). */
  start(): void {
    const { send, policy, onOutcome, onError } = this.#options;
    this.#worker = new Worker(
      QUEUE,
      async (bull: Job) => {
        const delivery = bull.data as Delivery;
        const made = bull.attemptsMade + 1;
        const result = await send({ ...delivery, attempts: made - 1 });
        if (result === "delivered") {
          onOutcome("delivered");
          return;
        }
        if (result === "gone" || result === "refused") {
          onOutcome(result);
          throw new UnrecoverableError(result);
        }
        onOutcome(made >= policy.maxAttempts ? "failed" : "retry");
        throw new Error("webhook delivery failed");
      },
      {
        connection: { url: this.#options.url, maxRetriesPerRequest: null },
        prefix: this.#options.prefix,
        concurrency: policy.concurrency,
        settings: {
          backoffStrategy: (attemptsMade: number) => retryDelayMs(attemptsMade, policy.retryBaseMs),
        },
      },
    );
    this.#worker.on("error", (err) => onError(err, "webhook worker"));
  }

  /** Stops the worker (attempts in flight end first, bounded by the webhook timeout). */
  async close(): Promise<void> {
    await this.#worker?.close();
    await this.#queue.close();
  }
}
