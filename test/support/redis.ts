/**
 * A real, throwaway redis-server for tests: loopback only, a free port, no persistence
 * (`--save "" --appendonly no`), killed and restarted on demand on the same port. Uses Debian's
 * /usr/bin/redis-server, or $REDIS_SERVER.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { freePort } from "./ports.js";
import { skipWhenMissing, spawnUntilReady } from "./spawn-ready.js";

/** Where the server binary is looked for. */
export const REDIS_SERVER_PATH = process.env.REDIS_SERVER ?? "/usr/bin/redis-server";

/**
 * Why Redis tests cannot run here, or undefined when they can. On CI (`CI` set) the server must
 * exist, so suites should fail there instead of skipping: see `requireRedisServer`.
 */
export function redisServerMissing(): string | undefined {
  return existsSync(REDIS_SERVER_PATH)
    ? undefined
    : `redis-server not found at ${REDIS_SERVER_PATH} (apt-get install redis-server, or set REDIS_SERVER)`;
}

/** True when a suite should skip: no server and not on CI (where a missing server is an error). */
export function skipWithoutRedis(): boolean {
  return skipWhenMissing("Redis", redisServerMissing());
}

/** A running test Redis. */
export interface TestRedis {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** SIGKILLs the server (no goodbye to clients, like a crash) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts a fresh, empty server on the same port (after `kill`). */
  restart(): Promise<void>;
  /** SIGSTOPs the server: connections stay open but nothing answers (a hung Redis). */
  pause(): void;
  /** SIGCONTs a paused server. */
  resume(): void;
  /** Kills the server for good; safe to call twice. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;
const START_ATTEMPTS = 3;

/** Starts a redis-server on a free loopback port; throws a clear error when there is none. */
export async function startRedis(): Promise<TestRedis> {
  const missing = redisServerMissing();
  if (missing !== undefined) throw new Error(missing);
  let child: ChildProcess | undefined;
  let port = 0;
  let lastError: unknown;
  // The free port may be taken between probing and binding: try a few.
  for (let attempt = 0; attempt < START_ATTEMPTS && child === undefined; attempt++) {
    port = await freePort();
    try {
      child = await spawnRedis(port);
    } catch (err) {
      lastError = err;
    }
  }
  if (child === undefined) throw new Error("could not start redis-server", { cause: lastError });
  let current: ChildProcess | undefined = child;
  const kill = async () => {
    const proc = current;
    current = undefined;
    if (proc !== undefined) await killProcess(proc);
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    async restart() {
      await kill();
      current = await spawnRedis(port);
    },
    pause() {
      current?.kill("SIGSTOP");
    },
    resume() {
      current?.kill("SIGCONT");
    },
    stop: kill,
  };
}

/** Spawns the server and resolves once it accepts connections. */
function spawnRedis(port: number): Promise<ChildProcess> {
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    tmpdir(),
    "--loglevel",
    "notice",
  ];
  return spawnUntilReady(REDIS_SERVER_PATH, args, {
    readyText: "Ready to accept connections",
    label: `redis-server on port ${port}`,
    timeoutMs: START_TIMEOUT_MS,
  });
}

function killProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || (child.signalCode !== null && child.signalCode !== "SIGSTOP")) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    // SIGKILL ends a stopped process too.
    child.kill("SIGKILL");
  });
}
