/**
 * A gateway in a child process (`node dist/cli.js serve`), for tests that kill it with SIGKILL or
 * run several: started from a config file, ready once it logs its HTTP listener.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { createInterface } from "node:readline";

const CLI = resolve(import.meta.dirname, "../../dist/cli.js");

/** A gateway process. */
export interface GatewayProcess {
  url: string;
  child: ChildProcess;
  /** Log lines it wrote (JSON objects), newest last; bounded to the last 2000. */
  logs: Array<Record<string, unknown>>;
  /** SIGKILL (a crash: no drain, no goodbye) and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

/** Starts `dist/cli.js serve --config configPath` and waits for its HTTP listener. */
export async function startGatewayProcess(configPath: string): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [CLI, "serve", "--config", configPath], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, LOG_LEVEL: "info" },
  });
  const logs: Array<Record<string, unknown>> = [];
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error("gateway did not start in 20 s")), 20_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before listening`));
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entry);
      if (logs.length > 2000) logs.shift();
      if (entry.msg === "listening" && entry.protocol === "http") {
        clearTimeout(timer);
        resolveUrl(`http://127.0.0.1:${String(entry.port)}`);
      }
    });
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const signal = async (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await exited;
  };
  return { url, child, logs, kill: () => signal("SIGKILL"), stop: () => signal("SIGTERM") };
}
