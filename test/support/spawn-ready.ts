/**
 * Starts a test server process and resolves once its output says it is ready, for the throwaway
 * servers the tests run themselves (redis-server, postgres).
 */
import { type ChildProcess, spawn } from "node:child_process";

/** How to recognise a ready server, and how to name it in errors. */
export interface ReadyOptions {
  /** Text the server prints (stdout or stderr) once it accepts connections. */
  readonly readyText: string;
  /** For errors, e.g. "redis-server on port 6379". */
  readonly label: string;
  readonly timeoutMs: number;
}

/** Spawns `cmd` and resolves with the process once it printed `readyText`; else kills it. */
export function spawnUntilReady(
  cmd: string,
  args: readonly string[],
  options: ReadyOptions,
): Promise<ChildProcess> {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let output = "";
    const fail = (reason: string) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${options.label} ${reason}\n${output.slice(-2000)}`));
    };
    const timer = setTimeout(() => fail("did not start in time"), options.timeoutMs);
    const onData = (chunk: Buffer) => {
      // Only the tail matters (for errors); the pipes keep flowing for the server's whole life.
      output = (output + chunk.toString()).slice(-4000);
      if (output.includes(options.readyText)) {
        clearTimeout(timer);
        child.off("exit", onExit);
        resolve(child);
      }
    };
    const onExit = (code: number | null) => fail(`exited with ${code}`);
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
    child.once("error", (err) => fail(`failed to spawn: ${err.message}`));
  });
}

/**
 * True when a suite should skip because its server is `missing` (a reason, or undefined when the
 * server is there); never on CI (`CI` set), where a missing server must fail the suite instead.
 */
export function skipWhenMissing(what: string, missing: string | undefined): boolean {
  if (missing === undefined || process.env.CI) return false;
  console.warn(`skipping ${what} tests: ${missing}`);
  return true;
}
