/**
 * Webhook deliveries of the Redis store (redis-store.ts): a BullMQ queue of its own, one BullMQ
 * job per event (its id is the `webhook-id`), with the retry schedule as a custom backoff, so
 * deliveries survive restarts and any replica sends them.
 *
 * A job has one event (it finishes once), so the delivery's id is made from the job's: queueing
 * it again is a no-op while BullMQ still holds it, pending or for `keepMs` after it ended. The
 * store queues it again whenever it meets a finished job whose replica may have died before
 * queueing it (redis-store.ts), which closes that window without sending an event twice.
 */
import { type Job, Queue, UnrecoverableError, Worker } from "bullmq";
import {
  type Delivery,
  type DeliveryOutcome,
  type DeliveryPolicy,
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
  /** How long a finished delivery is remembered (so a late re-queue is a no-op): the result TTL. */
  keepMs: number;
}

/** Finished deliveries remembered at most, whatever their age. */
const KEEP_COUNT = 10_000;

/** The `webhook-id` of a job's event. */
export function deliveryIdOf(jobId: string): string {
  return `msg_${jobId}`;
}

/** The webhook queue and the worker sending it. */
export class RedisOutbox {
  readonly #queue: Queue;
  readonly #options: RedisOutboxOptions;
  readonly #keep: { age: number; count: number };
  #worker: Worker | undefined;

  constructor(options: RedisOutboxOptions) {
    this.#options = options;
    this.#keep = { age: Math.max(1, Math.ceil(options.keepMs / 1000)), count: KEEP_COUNT };
    this.#queue = new Queue(QUEUE, {
      connection: { url: options.url, maxRetriesPerRequest: 1 },
      prefix: options.prefix,
    });
    this.#queue.on("error", (err) => options.onError(err, "webhook queue"));
  }

  /** Queues the event of a finished job, when it has a webhook (once per job, however often called). */
  async add(job: JobRecord): Promise<void> {
    if (job.webhook === undefined) return;
    const delivery: Delivery = {
      id: deliveryIdOf(job.id),
      jobId: job.id,
      url: job.webhook.url,
      payload: eventJson(job, job.finishedAt ?? Date.now()),
      attempts: 0,
    };
    await this.#queue.add(DELIVER, delivery, {
      jobId: delivery.id,
      attempts: this.#options.policy.maxAttempts,
      backoff: { type: "custom" },
      removeOnComplete: this.#keep,
      removeOnFail: this.#keep,
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
