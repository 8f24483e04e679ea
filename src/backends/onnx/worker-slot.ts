/**
 * One worker thread of a WorkerPool: its start-up handshake, the one job it runs at a time, its
 * death and its restart (worker-protocol.ts describes the messages). The pool owns the queue and
 * decides when to restart; the slot tells it when it becomes idle or goes down.
 */
import { fileURLToPath } from "node:url";
import { type TransferListItem, Worker } from "node:worker_threads";
import { BackendError, BackendUnavailableError, type GatewayError } from "../../errors.js";
import {
  fromWireError,
  PROTOCOL_VERSION,
  parseFromWorker,
  type RunMessage,
  type WireError,
} from "./worker-protocol.js";

/** A job and how to settle its caller's promise. */
export interface Pending<Result> {
  id: number;
  job: unknown;
  transfer: TransferListItem[];
  resolve(result: Result): void;
  reject(err: GatewayError): void;
}

/** How a slot starts and talks to its worker. */
export interface SlotSettings<Init, Result> {
  /** How errors name the pool's owner, e.g. `onnx backend "local"`. */
  label: string;
  script: URL;
  workerData: unknown;
  parseInit(value: unknown): Init;
  parseResult(value: unknown): Result;
}

/** What the slot tells its pool. */
export interface SlotOwner {
  /** The slot can take a job: its worker has just loaded or finished one. */
  idle(): void;
  /** The slot's worker has gone; its job, if any, has been failed already. */
  down(reason: string): void;
}

/** A slot's life: starting -> idle <-> busy, and down from any of them until restarted. */
export type SlotState = "starting" | "idle" | "busy" | "down";

/** `Error: message` for logs and error messages. */
export function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** One worker thread and the job it runs. */
export class WorkerSlot<Init, Result> {
  private current: SlotState = "down";
  private worker: Worker | undefined;
  private job: Pending<Result> | undefined;
  private starting: { resolve(init: Init): void; reject(err: GatewayError): void } | undefined;
  private lastError: string | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  /** Deaths since this slot last completed a job; the pool's restart back-off grows with it. */
  failures = 0;

  constructor(
    private readonly settings: SlotSettings<Init, Result>,
    private readonly owner: SlotOwner,
  ) {}

  get state(): SlotState {
    return this.current;
  }

  /** Starts a worker; resolves with its checked `ready` payload, rejects when it fails to load. */
  start(): Promise<Init> {
    return new Promise<Init>((resolve, reject) => {
      let worker: Worker;
      try {
        worker = new Worker(this.settings.script, { workerData: this.settings.workerData });
      } catch (err) {
        reject(new BackendUnavailableError(`${this.settings.label}: cannot start a worker`));
        this.died(describe(err));
        return;
      }
      this.worker = worker;
      this.current = "starting";
      this.starting = { resolve, reject };
      this.lastError = undefined;
      worker.on("message", (raw: unknown) => {
        if (this.worker === worker) this.onMessage(worker, raw);
      });
      worker.on("messageerror", (err: Error) => {
        if (this.worker === worker) this.settle(undefined, { error: err });
      });
      worker.on("error", (err: Error) => {
        if (this.worker === worker) this.lastError = describe(err);
      });
      worker.on("exit", (code: number) => {
        if (this.worker !== worker) return;
        this.worker = undefined;
        this.died(this.lastError ?? `exit code ${code}`);
      });
    });
  }

  /** Starts a replacement worker after `delayMs`, unless `allowed()` says no by then. */
  restartAfter(delayMs: number, allowed: () => boolean): void {
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      // A failed restart ends in died() again, and the pool schedules the next try.
      if (allowed()) this.start().catch(() => undefined);
    }, delayMs);
    // A pending restart alone must not keep the process alive.
    this.restartTimer.unref();
  }

  /** Sends an idle slot's worker a job. A job that cannot be sent is failed at once. */
  run(pending: Pending<Result>): void {
    const message: RunMessage = { type: "run", id: pending.id, job: pending.job };
    this.current = "busy";
    this.job = pending;
    try {
      this.worker?.postMessage(message, pending.transfer);
    } catch (err) {
      this.current = "idle";
      this.job = undefined;
      pending.reject(
        new BackendError(
          `${this.settings.label}: cannot send the call to a worker: ${describe(err)}`,
        ),
      );
    }
  }

  /** Cancels a pending restart and terminates the worker, whatever it is doing. */
  async stop(): Promise<void> {
    clearTimeout(this.restartTimer);
    await this.worker?.terminate();
  }

  private onMessage(worker: Worker, raw: unknown): void {
    const message = parseFromWorker(raw);
    const { label, script } = this.settings;
    if (message === undefined) return;
    if (message.type === "done" || message.type === "fail") {
      const outcome =
        message.type === "done" ? { result: message.result } : { wire: message.error };
      this.settle(message.id, outcome);
      return;
    }
    const starting = this.starting;
    this.starting = undefined;
    let refusal: GatewayError | undefined;
    let init: Init | undefined;
    if (message.type === "failed") {
      refusal = fromWireError(message.error);
    } else if (message.protocol !== PROTOCOL_VERSION) {
      refusal = new BackendUnavailableError(
        `${label}: ${fileURLToPath(script)} is out of date (protocol ${message.protocol}, ` +
          `expected ${PROTOCOL_VERSION}); run \`npm run build\``,
      );
    } else {
      try {
        init = this.settings.parseInit(message.init);
      } catch (err) {
        refusal = new BackendUnavailableError(`${label}: ${describe(err)}`, { cause: err });
      }
    }
    if (refusal !== undefined || init === undefined) {
      const err = refusal ?? new BackendUnavailableError(`${label}: a worker reported nothing`);
      this.lastError = err.message;
      starting?.reject(err);
      void worker.terminate();
      return;
    }
    this.current = "idle";
    starting?.resolve(init);
    this.owner.idle();
  }

  /** Ends the current job (when `id` matches it, or whatever it is for undefined). */
  private settle(
    id: number | undefined,
    outcome: { result: unknown } | { wire: WireError } | { error: Error },
  ): void {
    const job = this.job;
    if (job === undefined || (id !== undefined && job.id !== id)) return;
    this.job = undefined;
    this.current = "idle";
    const { label } = this.settings;
    if ("result" in outcome) {
      this.failures = 0;
      try {
        job.resolve(this.settings.parseResult(outcome.result));
      } catch (err) {
        job.reject(
          new BackendError(`${label}: a worker answered in an unknown form: ${describe(err)}`),
        );
      }
    } else if ("wire" in outcome) {
      job.reject(fromWireError(outcome.wire));
    } else {
      job.reject(
        new BackendError(
          `${label}: a worker's answer could not be read: ${describe(outcome.error)}`,
        ),
      );
    }
    this.owner.idle();
  }

  /** The worker has gone: fail what depended on it, then tell the pool. */
  private died(reason: string): void {
    const { label } = this.settings;
    this.current = "down";
    this.failures++;
    this.starting?.reject(
      new BackendUnavailableError(`${label}: a worker stopped before it was ready (${reason})`),
    );
    this.starting = undefined;
    const job = this.job;
    this.job = undefined;
    job?.reject(
      new BackendUnavailableError(`${label}: the worker running the call stopped (${reason})`),
    );
    this.owner.down(reason);
  }
}
