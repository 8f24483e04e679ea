/**
 * The messages a gateway's primary process and its workers exchange over the cluster IPC channel
 * (docs/workers.md), and a small request/answer layer over them. Every ask has a timeout and the
 * number of asks waiting at once is capped, so a worker that stops answering costs a bounded amount.
 */

/** What one side may ask the other. */
export type Ask =
  /** Worker → primary: reload every worker. Primary → worker: reload this one. */
  | "reload"
  /** Worker → primary: the `/metrics` text of the whole gateway. */
  | "metrics"
  /** Primary → worker: this worker's metrics as prom-client JSON. */
  | "metrics-json"
  /**
   * Worker → primary: apply a run-time split in every other worker (the body is the split).
   * Primary → worker: apply it here.
   */
  | "traffic";

/** A question; the other side answers with the same id. */
export interface AskMessage {
  kind: "infergate:ask";
  id: number;
  ask: Ask;
  /** What the ask carries, when it carries anything (JSON-serialisable). */
  body?: unknown;
}

/** The answer to an {@link AskMessage}. */
export interface AnswerMessage {
  kind: "infergate:answer";
  id: number;
  value?: unknown;
  error?: string;
}

/** Primary → workers: where the job worker's private listener is (null while it is down). */
export interface JobsPortMessage {
  kind: "infergate:jobs-port";
  port: number | null;
}

/** Worker → primary: this worker serves (its listeners are open). */
export interface ReadyMessage {
  kind: "infergate:ready";
  /** Only from the job worker: its private listener's port. */
  jobsPort?: number;
}

/** Every message of the gateway's own protocol. */
export type IpcMessage = AskMessage | AnswerMessage | JobsPortMessage | ReadyMessage;

const KINDS = new Set([
  "infergate:ask",
  "infergate:answer",
  "infergate:jobs-port",
  "infergate:ready",
]);

/** True for a message of this protocol (others, e.g. Node's own, pass by). */
export function isIpcMessage(value: unknown): value is IpcMessage {
  return (
    typeof value === "object" &&
    value !== null &&
    "kind" in value &&
    typeof value.kind === "string" &&
    KINDS.has(value.kind)
  );
}

/** Most asks one channel has waiting at once; more are refused at once. */
const MAX_PENDING = 256;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** How a channel answers asks from the other side. */
export type AskHandlers = Partial<Record<Ask, (body?: unknown) => Promise<unknown>>>;

/** Asks and answers over one IPC link (a worker's `process`, or the primary's `Worker`). */
export class IpcChannel {
  #next = 0;
  readonly #pending = new Map<number, Pending>();

  /**
   * @param send writes one message; false or a throw when the link is gone.
   * @param handlers what this side answers.
   * @param onMessage every other message of the protocol.
   */
  constructor(
    private readonly send: (message: IpcMessage) => boolean,
    private readonly handlers: AskHandlers,
    private readonly onMessage: (message: JobsPortMessage | ReadyMessage) => void = () => undefined,
  ) {}

  /** Asks the other side; rejects when it does not answer within `timeoutMs`. */
  ask(ask: Ask, timeoutMs: number, body?: unknown): Promise<unknown> {
    if (this.#pending.size >= MAX_PENDING) {
      return Promise.reject(new Error(`too many ${ask} asks waiting`));
    }
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`no answer to ${ask} within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.#pending.set(id, { resolve, reject, timer });
      const message: AskMessage = { kind: "infergate:ask", id, ask };
      if (body !== undefined) message.body = body;
      if (!this.#trySend(message)) {
        this.#settle(id, undefined, "the other process is gone");
      }
    });
  }

  /** Feeds one received message in; foreign messages are ignored. */
  receive(message: unknown): void {
    if (!isIpcMessage(message)) return;
    if (message.kind === "infergate:answer") {
      this.#settle(message.id, message.value, message.error);
    } else if (message.kind === "infergate:ask") {
      void this.#answer(message);
    } else {
      this.onMessage(message);
    }
  }

  /** Fails every ask still waiting (the link closed). */
  close(reason: string): void {
    for (const id of [...this.#pending.keys()]) this.#settle(id, undefined, reason);
  }

  /** Sends a message that expects no answer; false when the link is gone. */
  tell(message: JobsPortMessage | ReadyMessage): boolean {
    return this.#trySend(message);
  }

  async #answer(message: AskMessage): Promise<void> {
    const handler = this.handlers[message.ask];
    let answer: AnswerMessage;
    try {
      if (handler === undefined) throw new Error(`cannot answer ${message.ask}`);
      answer = { kind: "infergate:answer", id: message.id, value: await handler(message.body) };
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      answer = { kind: "infergate:answer", id: message.id, error };
    }
    this.#trySend(answer);
  }

  #settle(id: number, value: unknown, error: string | undefined): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    if (error === undefined) pending.resolve(value);
    else pending.reject(new Error(error));
  }

  #trySend(message: IpcMessage): boolean {
    try {
      return this.send(message);
    } catch {
      // The link closed between the check and the write (ERR_IPC_CHANNEL_CLOSED).
      return false;
    }
  }
}
