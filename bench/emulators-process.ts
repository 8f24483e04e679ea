/**
 * Backend emulators in child processes (`emulator-host.ts`), so that a benchmark's load generator
 * is alone on its event loop, as a real client is. Node 20 cannot run the emulators' TypeScript
 * itself, so the repository is compiled once per bench file into a temp tree (with the project's
 * own compiler) and each emulator runs there as `node <tree>/bench/emulator-host.js`. The tree,
 * and every process started here, are torn down by `deferCleanup` when the bench file ends.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EmulatorMode } from "../test/emulators/control.js";
import { deferCleanup } from "./cleanup.js";
import type { CallCounts, HostCommand, HostMessage, HostSpec } from "./emulator-host.js";
import { ROOT } from "./report.js";

/** One emulator running in its own process. */
export interface EmulatorProcess {
  /** `http://127.0.0.1:<port>` of the REST API, when it serves REST. */
  readonly restUrl: string | undefined;
  /** `127.0.0.1:<port>` of the gRPC API, when it serves gRPC. */
  readonly grpcAddress: string | undefined;
  readonly pid: number;
  /** Sets how inference calls are answered from now on (resolves once the child applied it). */
  setMode(mode: EmulatorMode): Promise<void>;
  /** Inference calls served so far. */
  calls(): Promise<CallCounts>;
  /** Closes the emulator and waits for the process to exit (SIGKILL after 10 s). Idempotent. */
  stop(): Promise<void>;
}

/** Options of `startEmulatorProcess`. */
export interface EmulatorProcessOptions {
  kind: HostSpec["kind"];
  /** Serve REST (default true). */
  rest?: boolean;
  /** Serve gRPC (default true). */
  grpc?: boolean;
  /** Models directory (default the repository's models/). */
  modelsDir?: string;
  /** Scheduling niceness of the child (0–19; default that of this process). */
  nice?: number;
  /** Extra node flags for the child, e.g. `--cpu-prof`. */
  nodeArgs?: readonly string[];
}

const HOST_JS = "bench/emulator-host.js";
/** How long a child may take to load its models and listen. */
const START_TIMEOUT_MS = 60_000;
/** How long one control command may take. */
const COMMAND_TIMEOUT_MS = 10_000;

let compiled: Promise<string> | undefined;

/** The compiled tree of this bench file, built on first use. */
function compiledTree(): Promise<string> {
  compiled ??= compile();
  return compiled;
}

async function compile(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "infergate-bench-js-"));
  deferCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const tsc = join(ROOT, "node_modules/.bin/tsc");
  const args = ["-p", join(ROOT, "tsconfig.json"), "--noEmit", "false", "--outDir", dir];
  // Type errors anywhere in the repository (files mid-edit) still emit; only a missing host fails.
  const output = await new Promise<string>((resolve) => {
    execFile(tsc, args, { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }, (_err, stdout, stderr) =>
      resolve(`${stdout}${stderr}`),
    );
  });
  if (!existsSync(join(dir, HOST_JS))) {
    throw new Error(`compiling the emulator host failed:\n${output.slice(0, 4000)}`);
  }
  // The emitted files are ES modules, and the emulators find protos/ relative to themselves.
  writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  symlinkSync(join(ROOT, "protos"), join(dir, "protos"), "dir");
  return dir;
}

/** Starts one emulator in a child process and resolves once it listens. */
export async function startEmulatorProcess(
  options: EmulatorProcessOptions,
): Promise<EmulatorProcess> {
  const tree = await compiledTree();
  const spec: HostSpec = {
    kind: options.kind,
    modelsDir: options.modelsDir ?? join(ROOT, "models"),
    ...(options.rest === undefined ? {} : { rest: options.rest }),
    ...(options.grpc === undefined ? {} : { grpc: options.grpc }),
    ...(options.nice === undefined ? {} : { nice: options.nice }),
  };
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), join(tree, HOST_JS), JSON.stringify(spec)],
    { stdio: ["ignore", "inherit", "inherit", "ipc"] },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not spawn the emulator host");
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const control = new HostControl(child, exited);
  deferCleanup(() => control.stop());
  const ready = await control.ready();
  return {
    restUrl: ready.restUrl,
    grpcAddress: ready.grpcAddress,
    pid,
    setMode: async (mode) => {
      await control.request((id) => ({ id, op: "setMode", mode }));
    },
    calls: async () => {
      const reply = await control.request((id) => ({ id, op: "calls" }));
      return reply.calls ?? { total: 0, cancelled: 0 };
    },
    stop: () => control.stop(),
  };
}

type Reply = Extract<HostMessage, { type: "reply"; ok: true }>;
type Ready = Extract<HostMessage, { type: "ready" }>;

/** The IPC side of one child: its ready message, request/reply by id, and shutdown. */
class HostControl {
  private nextId = 1;
  private readonly pending = new Map<number, (message: HostMessage) => void>();
  private onReady: ((message: HostMessage) => void) | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly child: ChildProcess,
    private readonly exited: Promise<void>,
  ) {
    child.on("message", (raw: unknown) => this.receive(raw));
    void exited.then(() => {
      const gone: HostMessage = { type: "failed", error: "the emulator host exited" };
      this.onReady?.(gone);
      for (const settle of this.pending.values()) settle(gone);
      this.pending.clear();
    });
  }

  ready(): Promise<Ready> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.onReady = undefined;
        reject(new Error("the emulator host did not start in time"));
      }, START_TIMEOUT_MS);
      this.onReady = (message) => {
        clearTimeout(timer);
        this.onReady = undefined;
        if (message.type === "ready") resolve(message);
        else reject(new Error(message.type === "failed" ? message.error : "unexpected message"));
      };
    });
  }

  request(command: (id: number) => HostCommand): Promise<Reply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error("the emulator host did not answer in time"));
      }, COMMAND_TIMEOUT_MS);
      this.pending.set(id, (message) => {
        clearTimeout(timer);
        this.pending.delete(id);
        if (message.type === "reply" && message.ok) resolve(message);
        else if (message.type === "reply") reject(new Error(message.error));
        else reject(new Error(message.type === "failed" ? message.error : "unexpected message"));
      });
      this.child.send(command(id));
    });
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return;
      const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
      // Disconnecting is the host's signal to close its listeners and exit.
      if (this.child.connected) this.child.disconnect();
      else this.child.kill("SIGTERM");
      await this.exited;
      clearTimeout(timer);
    })();
    return this.stopping;
  }

  private receive(raw: unknown): void {
    if (typeof raw !== "object" || raw === null || !("type" in raw)) return;
    const message = raw as HostMessage;
    if (message.type === "reply") this.pending.get(message.id)?.(message);
    else this.onReady?.(message);
  }
}
