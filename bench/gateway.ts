/**
 * The gateway under test, in its own process (`node dist/cli.js serve`, so `npm run build` first),
 * as it runs in production: the load generator must not share its event loop. By default with the
 * node flags `npm start` uses (read from package.json, so the benchmark runs what users run);
 * `startFlags: false` starts a plain `node`, to measure what those flags change. Optionally under
 * `node --cpu-prof`, whose profile is written when the process exits normally (SIGTERM → drain →
 * exit), never on SIGKILL.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ROOT } from "./report.js";

/** A running gateway process. */
export interface GatewayProcess {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** `127.0.0.1:<port>` of the gRPC front, when the config opens one. */
  readonly grpcAddress: string | undefined;
  readonly pid: number;
  /** Resident set size now, in MiB. */
  rssMb(): number;
  /** SIGTERM, then waits for the exit (SIGKILL after 15 s). Idempotent. */
  stop(): Promise<void>;
}

/** Options of `startGateway`. */
export interface GatewayOptions {
  /** Wait for the gRPC listener too (the config must set `server.grpcPort`). */
  grpc?: boolean;
  /** Run under `node --cpu-prof`, writing the profile into this directory on exit. */
  cpuProfDir?: string;
  /** Use the node flags of package.json's `start` script (default true). */
  startFlags?: boolean;
  /** More node flags for this gateway (after the start script's). */
  nodeArgs?: readonly string[];
  /**
   * Another build's cli.js (default this checkout's dist/cli.js), e.g. the last commit's built
   * elsewhere, to measure a change before/after in one run (BENCH_BASELINE_CLI in the scenarios).
   */
  cli?: string;
}

/**
 * The node flags package.json's `start` script puts before `dist/cli.js` (e.g.
 * `--max-semi-space-size=16`), so the benchmarks run the gateway as `npm start` does.
 */
export function startScriptFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    scripts?: Record<string, string>;
  };
  const start = pkg.scripts?.start ?? "";
  const words = start.split(/\s+/).filter((w) => w !== "");
  const node = words.indexOf("node");
  const cli = words.indexOf("dist/cli.js");
  if (node < 0 || cli < node) return [];
  return words.slice(node + 1, cli).filter((w) => w.startsWith("--"));
}

/** Starts a gateway on `config` (YAML text) and resolves once it listens. */
export async function startGateway(
  config: string,
  options: GatewayOptions = {},
): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), "infergate-bench-"));
  writeFileSync(join(dir, "gateway.yaml"), config);
  // BENCH_GATEWAY_NODE_ARGS: extra node flags for diagnosis, e.g. "--trace-gc".
  const extra = (process.env.BENCH_GATEWAY_NODE_ARGS ?? "").split(" ").filter((a) => a !== "");
  const nodeArgs = [
    ...(options.startFlags === false ? [] : startScriptFlags()),
    ...(options.nodeArgs ?? []),
    ...extra,
    ...(options.cpuProfDir === undefined
      ? []
      : ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfDir}`]),
  ];
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      options.cli ?? join(ROOT, "dist/cli.js"),
      "serve",
      "--config",
      join(dir, "gateway.yaml"),
    ],
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, LOG_LEVEL: "info" } },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not spawn the gateway");
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const ports = await listeningPorts(child, options.grpc === true);
  // BENCH_GATEWAY_LOG: a file that gets the gateway's stdout (its log, and what the flags print).
  const logFile = process.env.BENCH_GATEWAY_LOG;
  if (logFile !== undefined && logFile !== "" && child.stdout !== null) {
    child.stdout.pipe(createWriteStream(logFile, { flags: "a" }));
  }
  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${ports.http}`,
    grpcAddress: ports.grpc === undefined ? undefined : `127.0.0.1:${ports.grpc}`,
    pid,
    rssMb: () => rssMb(pid),
    stop: () => {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

function listeningPorts(
  child: ChildProcess,
  grpc: boolean,
): Promise<{ http: number; grpc: number | undefined }> {
  const stdout = child.stdout;
  if (stdout === null) throw new Error("gateway stdout is not piped");
  return new Promise((resolve, reject) => {
    let http: number | undefined;
    let grpcPort: number | undefined;
    child.once("exit", (code) => reject(new Error(`gateway exited ${code} before listening`)));
    createInterface({ input: stdout }).on("line", (line) => {
      let entry: { msg?: string; protocol?: string; port?: number };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return;
      }
      if (entry.msg !== "listening" || entry.port === undefined) return;
      if (entry.protocol === "http") http = entry.port;
      if (entry.protocol === "grpc") grpcPort = entry.port;
      if (http !== undefined && (!grpc || grpcPort !== undefined)) {
        resolve({ http, grpc: grpcPort });
      }
    });
  });
}

/** A process's resident set size in MiB: /proc/<pid>/status VmRSS, else `ps -o rss=`. */
export function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    if (kb !== undefined) return Number(kb) / 1024;
  } catch {
    // Not Linux, or the process is gone: ask ps.
  }
  const out = execFileSync("ps", ["-o", "rss=", "-p", String(pid)], { encoding: "utf8" });
  return Number(out.trim()) / 1024;
}

/** Samples a process's RSS every `everyMs` until stopped; reports the peak and the last value. */
export class RssSampler {
  private peak = 0;
  private last = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    everyMs = 100,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  /** Stops sampling; the peak and the last sample, MiB. */
  stop(): { peakMb: number; lastMb: number } {
    clearInterval(this.timer);
    this.sample();
    return { peakMb: this.peak, lastMb: this.last };
  }

  private sample(): void {
    try {
      this.last = rssMb(this.pid);
      this.peak = Math.max(this.peak, this.last);
    } catch {
      // The process exited between samples; keep what was seen.
    }
  }
}

/**
 * CPU time (user + system) a process has used, in ms, from /proc/<pid>/stat (clock ticks of
 * 10 ms on Linux, so only meaningful over seconds). Includes its threads (libuv pool, onnxruntime).
 */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the parenthesised command name, which may itself contain spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / CLOCK_TICKS;
}

/** Linux's USER_HZ; 100 on every mainstream kernel build. */
const CLOCK_TICKS = 100;

/** The pids of a process's direct children (nginx's workers), from /proc. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter((s) => s !== "")
      .map(Number);
  } catch {
    return [];
  }
}

/** The gateway's event-loop delay since the last reading, ms beyond the 10 ms sampling timer. */
export interface LoopDelay {
  p99Ms: number;
  maxMs: number;
}

/** prom-client's monitorEventLoopDelay timer period: its samples include it. */
const LOOP_TIMER_MS = 10;

/**
 * Reads the gateway's event-loop delay (prom-client's `monitorEventLoopDelay`, exposed on its own
 * `/metrics`) in one scrape: each scrape resets the histogram, so this also starts a new window.
 */
export async function eventLoopDelay(gatewayUrl: string): Promise<LoopDelay> {
  const res = await fetch(`${gatewayUrl}/metrics`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status}`);
  const read = (name: string) => {
    const line = text
      .split("\n")
      .find((l) => l.startsWith(`infergate_nodejs_eventloop_lag_${name}_seconds `));
    const seconds = Number(line?.slice(line.lastIndexOf(" ") + 1));
    return Number.isFinite(seconds) ? Math.max(0, seconds * 1000 - LOOP_TIMER_MS) : Number.NaN;
  };
  return { p99Ms: read("p99"), maxMs: read("max") };
}
