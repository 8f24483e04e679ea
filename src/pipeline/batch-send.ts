/**
 * A batch's members and the one backend call that carries them: the inputs concatenated along
 * dimension 0, the answer split back by rows, and a bad-input answer retried member by member
 * (batcher.ts decides when a batch leaves; this file what happens once it does).
 */
import type { BackendCall, BackendResult, Priority } from "../backends/types.js";
import { isClientFault } from "../fault.js";
import type { NamedTensor } from "../tensor/types.js";
import type { TimerHandle } from "../timer.js";
import { concatInputs, splitResult } from "./batch-split.js";
import type { InferFn, TargetCall } from "./types.js";

/** A batch call in flight: aborted only when every member still waiting for it has given up. */
export interface Flight {
  live: number;
  readonly controller: AbortController;
}

/** One request in the batcher. */
export interface Member {
  readonly request: TargetCall;
  /** Inputs in the batch's name order. */
  readonly inputs: NamedTensor[];
  readonly rows: number;
  readonly arrivedAt: number;
  state: "queued" | "sent" | "done";
  /** The batch it waits in, while queued. */
  batch: OpenBatch | undefined;
  /** The shared call it rides in, once sent in a batch of several. */
  flight: Flight | undefined;
  /** The caller's promise; set right after the member is built. */
  resolve: (result: BackendResult) => void;
  reject: (err: unknown) => void;
  readonly onAbort: () => void;
}

/** A batch still taking requests. */
export interface OpenBatch {
  readonly key: string;
  readonly next: InferFn;
  /** The open batches of the wrapped function this batch belongs to. */
  readonly group: Map<string, OpenBatch>;
  /** Arrival order; members that left stay (marked done) until the batch leaves or compacts. */
  members: Member[];
  /** Rows and count of the members still queued. */
  rows: number;
  live: number;
  /** When the batch leaves at the latest, on the `now` clock. */
  readonly flushAt: number;
  /** A lower bound of the queued members' deadlines (exact after each expiry pass). */
  earliestDeadline: number;
  timer: TimerHandle | undefined;
  open: boolean;
}

/** Settles a member once: with its answer, or with an error. */
export type Settle = (member: Member, result: BackendResult | undefined, err: unknown) => void;

/** Calls `next`, turning a synchronous throw into a rejection. */
export function invoke(next: InferFn, request: TargetCall): Promise<BackendResult> {
  try {
    return next(request);
  } catch (err) {
    return Promise.reject(err);
  }
}

/** Sends the members as one call and settles each with its rows of the answer. */
export function sendBatch(next: InferFn, sent: Member[], settle: Settle): void {
  const flight: Flight = { live: sent.length, controller: new AbortController() };
  let deadline = 0;
  let priority: Priority = "batch";
  for (const member of sent) {
    member.flight = flight;
    deadline = Math.max(deadline, member.request.call.deadline);
    priority = higher(priority, member.request.call.priority ?? "live");
  }
  const failAll = (err: unknown) => {
    for (const member of sent) settle(member, undefined, err);
  };
  const first = sent[0];
  if (first === undefined) return;
  let call: BackendCall;
  try {
    call = {
      inputs: concatInputs(sent.map((m) => m.inputs)),
      deadline,
      signal: flight.controller.signal,
      priority,
      ...(first.request.call.outputs === undefined ? {} : { outputs: first.request.call.outputs }),
    };
  } catch (err) {
    failAll(err);
    return;
  }
  const backend = first.request.target.backend;
  invoke(next, { target: first.request.target, call }).then(
    (result) => {
      let answers: BackendResult[];
      try {
        answers = splitResult(
          backend,
          result,
          sent.map((m) => m.rows),
        );
      } catch (err) {
        failAll(err);
        return;
      }
      sent.forEach((member, i) => {
        const answer = answers[i];
        if (answer !== undefined) settle(member, answer, undefined);
      });
    },
    (err: unknown) => {
      // A backend's bad-input answer may be one member's fault: never fail the others for it.
      // Each member is retried alone once (at most one extra call per member, only then).
      if (!isClientFault(err)) {
        failAll(err);
        return;
      }
      for (const member of sent) {
        if (member.state === "done") continue;
        member.request.call.signal.removeEventListener("abort", member.onAbort);
        invoke(next, member.request).then(
          (result) => settle(member, result, undefined),
          (e: unknown) => settle(member, undefined, e),
        );
      }
    },
  );
}

const RANK: Readonly<Record<Priority, number>> = { live: 0, async: 1, batch: 2 };

/** The more urgent of two lanes. */
export function higher(a: Priority, b: Priority): Priority {
  return RANK[a] <= RANK[b] ? a : b;
}
