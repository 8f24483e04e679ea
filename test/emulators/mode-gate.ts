/**
 * The EmulatorMode switches and the call record, the same for every emulator: each one only names
 * its own server's errors for "unavailable" (503 / UNAVAILABLE) and "error" (500 / INTERNAL).
 */
import type { CallRecord, EmulatorMode } from "./control.js";
import type { HostileAnswer } from "./hostile.js";

/** The errors an emulator's server answers a failing mode with, for a call to `model`. */
export interface ModeFailures {
  unavailable(model: string): Error;
  error(model: string): Error;
}

/** The calls an emulator served and how it answers the next ones. */
export class ModeGate {
  /** Every inference call so far, in arrival order. */
  readonly calls: CallRecord[] = [];
  private mode: EmulatorMode = { kind: "ok" };
  private served = 0;
  /** Resolvers of stalled calls, released on kill so nothing waits forever. */
  private readonly stalled = new Set<() => void>();

  constructor(private readonly failures: ModeFailures) {}

  /** Sets how the next inference calls are answered. */
  setMode(mode: EmulatorMode): void {
    this.mode = { ...mode };
  }

  /** The hostile answer inference calls get now, if any. */
  get hostile(): HostileAnswer | undefined {
    return this.mode.hostile;
  }

  /** Records an inference call; its handler marks it cancelled when the client goes away. */
  record(
    protocol: CallRecord["protocol"],
    model: string,
    version: string | undefined,
    batchSize: number | undefined,
  ): CallRecord {
    const call: CallRecord = { protocol, model, version, batchSize, at: Date.now() };
    this.calls.push(call);
    return call;
  }

  /**
   * Applies the mode to one call to `model`: waits `delayMs` (ending early when the client
   * leaves), then stalls until the client leaves, or throws the failure (`unavailable`, `error`,
   * every `failEvery`-th call). Resolves true to go on computing, false when the client left.
   * `gone` resolves when the client closes the request or cancels the call.
   */
  async admit(gone: Promise<void>, model: string): Promise<boolean> {
    const mode = this.mode;
    this.served++;
    if (mode.delayMs !== undefined && mode.delayMs > 0) {
      if (!(await waitUnlessGone(mode.delayMs, gone))) return false;
    }
    if (mode.kind === "stall") {
      await new Promise<void>((resolve) => {
        this.stalled.add(resolve);
        void gone.then(() => {
          this.stalled.delete(resolve);
          resolve();
        });
      });
      return false;
    }
    const failEvery = mode.failEvery ?? 0;
    if (mode.kind === "unavailable" || (failEvery > 0 && this.served % failEvery === 0)) {
      throw this.failures.unavailable(model);
    }
    if (mode.kind === "error") throw this.failures.error(model);
    return true;
  }

  /** Releases every stalled call (the process died). */
  releaseStalled(): void {
    for (const resolve of this.stalled) resolve();
    this.stalled.clear();
  }
}

/** Resolves true after `ms`, or false as soon as `gone` resolves. */
function waitUnlessGone(ms: number, gone: Promise<void>): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(true), ms);
    void gone.then(() => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}
