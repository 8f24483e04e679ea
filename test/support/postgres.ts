/**
 * A real, throwaway PostgreSQL for tests: Debian's binaries (`initdb`, `postgres` on PATH, under
 * /usr/lib/postgresql/<version>/bin, or $PG_BIN), a cluster in a temp directory, listening on
 * 127.0.0.1 only on a free port and on a unix socket inside that directory, trust auth, fsync off.
 * initdb refuses to run as root, so as root both run as the `postgres` system user (setpriv, which
 * execs in place so signals reach the server itself) in a directory chowned to it.
 */
import { type ChildProcess, execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chmod, chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./ports.js";
import { skipWhenMissing, spawnUntilReady } from "./spawn-ready.js";

const run = promisify(execFile);
const START_TIMEOUT_MS = 30_000;
const START_ATTEMPTS = 3;
const SYSTEM_USER = "postgres";

/** The directory holding `initdb` and `postgres`, or undefined when there is none. */
export function postgresBinDir(): string | undefined {
  const candidates = [
    ...(process.env.PG_BIN ? [process.env.PG_BIN] : []),
    ...(process.env.PATH ?? "").split(delimiter).filter((d) => d !== ""),
  ];
  const versions = existsSync("/usr/lib/postgresql")
    ? readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a))
    : [];
  candidates.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`));
  return candidates.find((d) => existsSync(join(d, "initdb")) && existsSync(join(d, "postgres")));
}

/** Why Postgres tests cannot run here, or undefined when they can. */
export function postgresMissing(): string | undefined {
  return postgresBinDir() === undefined
    ? "PostgreSQL binaries (initdb, postgres) not found (apt-get install postgresql, or set PG_BIN)"
    : undefined;
}

/** True when a suite should skip: no binaries and not on CI (where that is an error). */
export function skipWithoutPostgres(): boolean {
  return skipWhenMissing("PostgreSQL", postgresMissing());
}

/** A running test PostgreSQL. */
export interface TestPostgres {
  /** `postgresql://postgres@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  readonly port: number;
  /** Fast shutdown, then the cluster's directory is removed; safe to call twice. */
  stop(): Promise<void>;
}

interface Identity {
  readonly uid: number;
  readonly gid: number;
}

/** As root: the postgres system user's ids (servers refuse to run as root). */
async function identity(): Promise<Identity | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const { stdout } = await run("id", ["-u", SYSTEM_USER]).catch(() => {
    throw new Error(
      `running as root needs the "${SYSTEM_USER}" system user (apt-get install postgresql)`,
    );
  });
  const gid = (await run("id", ["-g", SYSTEM_USER])).stdout;
  return { uid: Number(stdout.trim()), gid: Number(gid.trim()) };
}

/** The command line, run as the postgres user when we are root. */
function asUser(who: Identity | undefined, bin: string, args: string[]): [string, string[]] {
  if (who === undefined) return [bin, args];
  return [
    "setpriv",
    [`--reuid=${who.uid}`, `--regid=${who.gid}`, "--clear-groups", "--", bin, ...args],
  ];
}

/** Creates a cluster and starts a server for it; throws a clear error when it cannot. */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (bin === undefined) throw new Error(postgresMissing());
  const who = await identity();
  const dir = await mkdtemp(join(tmpdir(), "infergate-pg-"));
  const data = join(dir, "data");
  if (who !== undefined) await chown(dir, who.uid, who.gid);
  await chmod(dir, 0o700);
  try {
    const user = who === undefined ? userInfo().username : SYSTEM_USER;
    const [cmd, args] = asUser(who, join(bin, "initdb"), [
      "-D",
      data,
      "-U",
      "postgres",
      "--auth=trust",
      "--no-sync",
      "-E",
      "UTF8",
      "--locale=C",
    ]);
    await run(cmd, args, { cwd: dir, env: { ...process.env, USER: user } });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw new Error("initdb failed", { cause: err });
  }
  let child: ChildProcess | undefined;
  let port = 0;
  let lastError: unknown;
  for (let attempt = 0; attempt < START_ATTEMPTS && child === undefined; attempt++) {
    port = await freePort();
    try {
      child = await spawnServer(who, bin, data, dir, port);
    } catch (err) {
      lastError = err;
    }
  }
  if (child === undefined) {
    await rm(dir, { recursive: true, force: true });
    throw new Error("could not start postgres", { cause: lastError });
  }
  const server = child;
  let stopped: Promise<void> | undefined;
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop() {
      stopped ??= (async () => {
        await stopServer(server);
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

function spawnServer(
  who: Identity | undefined,
  bin: string,
  data: string,
  socketDir: string,
  port: number,
): Promise<ChildProcess> {
  const [cmd, args] = asUser(who, join(bin, "postgres"), [
    "-D",
    data,
    "-p",
    String(port),
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    `unix_socket_directories=${socketDir}`,
    "-c",
    "fsync=off",
    "-c",
    "max_connections=20",
  ]);
  return spawnUntilReady(cmd, args, {
    readyText: "ready to accept connections",
    label: `postgres on port ${port}`,
    timeoutMs: START_TIMEOUT_MS,
  });
}

/** SIGINT is Postgres's fast shutdown (sessions cut, clean exit); SIGKILL if it lingers. */
function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGINT");
  });
}
