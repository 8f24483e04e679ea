/**
 * Child-process entry of `emulators-process.ts`: hosts one backend emulator in a process of its
 * own, so that a benchmark's load generator has its event loop to itself and the emulators' work
 * (decoding, onnxruntime, encoding, delay timers) does not queue behind it or ahead of it.
 *
 * Run compiled, as `node <tree>/bench/emulator-host.js '<HostSpec JSON>'` with an IPC channel:
 * it answers `{type: "ready", restUrl, grpcAddress}` once listening (or `{type: "failed", error}`)
 * and then serves HostCommand messages, one reply each. It exits when the parent disconnects,
 * so a crashed bench leaves no emulator behind.
 */
import { setPriority } from "node:os";
import type { EmulatorControl, EmulatorMode } from "../test/emulators/control.js";
import type { HostileAnswer } from "../test/emulators/hostile.js";
import { ModelRunner } from "../test/emulators/runner.js";
import { startTfServingEmulator } from "../test/emulators/tfserving/index.js";
import { startTorchServeEmulator } from "../test/emulators/torchserve/index.js";
import { startTritonEmulator } from "../test/emulators/triton/index.js";

/** Which emulator to host and on which models. */
export interface HostSpec {
  kind: "triton" | "tfserving" | "torchserve";
  /** The Triton-layout models directory (passed explicitly: the compiled tree has none). */
  modelsDir: string;
  /** Serve REST (default true). */
  rest?: boolean;
  /** Serve gRPC (default true). */
  grpc?: boolean;
  /**
   * Scheduling niceness (0–19). Set before the models load, so onnxruntime's and libuv's threads
   * inherit it: a niced emulator's CPU yields to the processes on a request's path.
   */
  nice?: number;
}

/** What the parent asks; `id` comes back on the reply. */
export type HostCommand =
  | { id: number; op: "setMode"; mode: EmulatorMode }
  | { id: number; op: "calls" };

/** Counts of the inference calls served so far. */
export interface CallCounts {
  total: number;
  /**
   * Calls the emulator marked cancelled. Over gRPC this counts answered calls too: grpc-js 1.14
   * emits "cancelled" on every server stream's close, which the emulators' handlers take as one.
   */
  cancelled: number;
}

/** What the host sends back. */
export type HostMessage =
  | { type: "ready"; restUrl: string | undefined; grpcAddress: string | undefined }
  | { type: "failed"; error: string }
  | { type: "reply"; id: number; ok: true; calls?: CallCounts }
  | { type: "reply"; id: number; ok: false; error: string };

function send(message: HostMessage): void {
  process.send?.(message);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function parseSpec(raw: string | undefined): HostSpec {
  const spec: unknown = JSON.parse(raw ?? "");
  if (typeof spec !== "object" || spec === null) throw new Error("the host spec is not an object");
  const { kind, modelsDir, rest, grpc, nice } = spec as Record<string, unknown>;
  if (kind !== "triton" && kind !== "tfserving" && kind !== "torchserve") {
    throw new Error(`unknown emulator kind ${String(kind)}`);
  }
  if (typeof modelsDir !== "string") throw new Error("modelsDir must be a string");
  return {
    kind,
    modelsDir,
    ...(typeof rest === "boolean" ? { rest } : {}),
    ...(typeof grpc === "boolean" ? { grpc } : {}),
    ...(typeof nice === "number" ? { nice } : {}),
  };
}

/** A HostCommand, or undefined for anything else (the channel is ours, but check anyway). */
function parseCommand(raw: unknown): HostCommand | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const { id, op, mode } = raw as Record<string, unknown>;
  if (typeof id !== "number") return undefined;
  if (op === "calls") return { id, op };
  if (op === "setMode" && typeof mode === "object" && mode !== null) {
    const { kind, delayMs, failEvery, hostile } = mode as Record<string, unknown>;
    if (kind !== "ok" && kind !== "unavailable" && kind !== "error" && kind !== "stall") {
      return undefined;
    }
    return {
      id,
      op,
      mode: {
        kind,
        ...(typeof delayMs === "number" ? { delayMs } : {}),
        ...(typeof failEvery === "number" ? { failEvery } : {}),
        // The parent's own HostileAnswer (test/emulators/hostile.ts), passed through as sent.
        ...(typeof hostile === "object" && hostile !== null
          ? { hostile: hostile as HostileAnswer }
          : {}),
      },
    };
  }
  return undefined;
}

async function start(spec: HostSpec): Promise<EmulatorControl> {
  if (spec.nice !== undefined) setPriority(spec.nice);
  const runner = await ModelRunner.load(spec.modelsDir);
  const options = {
    runner,
    ...(spec.rest === undefined ? {} : { rest: spec.rest }),
    ...(spec.grpc === undefined ? {} : { grpc: spec.grpc }),
  };
  switch (spec.kind) {
    case "triton":
      return startTritonEmulator(options);
    case "tfserving":
      return startTfServingEmulator(options);
    case "torchserve":
      return startTorchServeEmulator(options);
  }
}

async function main(): Promise<void> {
  if (process.send === undefined) throw new Error("emulator-host needs an IPC channel");
  const emulator = await start(parseSpec(process.argv[2]));
  // The parent disconnects to stop us, or by dying: either way, close and exit.
  process.on("disconnect", () => {
    void emulator.close().finally(() => process.exit(0));
  });
  process.on("message", (raw: unknown) => {
    const command = parseCommand(raw);
    if (command === undefined) return;
    switch (command.op) {
      case "setMode":
        emulator.setMode(command.mode);
        send({ type: "reply", id: command.id, ok: true });
        return;
      case "calls": {
        const calls = emulator.calls;
        const cancelled = calls.reduce((n, c) => n + (c.cancelled === true ? 1 : 0), 0);
        send({
          type: "reply",
          id: command.id,
          ok: true,
          calls: { total: calls.length, cancelled },
        });
        return;
      }
    }
  });
  send({ type: "ready", restUrl: emulator.restUrl, grpcAddress: emulator.grpcAddress });
}

main().catch((err: unknown) => {
  send({ type: "failed", error: message(err) });
  process.exitCode = 1;
  process.disconnect?.();
});
