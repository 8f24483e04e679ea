/**
 * HAProxy as a second baseline reverse proxy: HTTP mode, one thread (the gateway is one Node
 * thread too), server-side keep-alive reused across clients (`http-reuse always`), no logging,
 * run in the foreground (`-db`, no master process, so its pid is the proxy's). Debian's haproxy;
 * installed with apt-get when missing.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../test/support/ports.js";
import { ensureDebianBinary, waitForPort } from "./nginx.js";

const HAPROXY = process.env.HAPROXY_BIN ?? "/usr/sbin/haproxy";

/** A running HAProxy. */
export interface HaproxyProcess {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** The haproxy.cfg proxying `127.0.0.1:<port>` to `upstream` (host:port). */
export function haproxyConf(port: number, upstream: string): string {
  return `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend front
  bind 127.0.0.1:${port}
  default_backend upstream
backend upstream
  server one ${upstream}
`;
}

/** Starts HAProxy in front of `upstream` (host:port) on a free port; resolves once it answers. */
export async function startHaproxy(upstream: string): Promise<HaproxyProcess> {
  const bin = ensureDebianBinary(HAPROXY, "haproxy");
  const dir = mkdtempSync(join(tmpdir(), "infergate-haproxy-"));
  const port = await freePort();
  const conf = join(dir, "haproxy.cfg");
  writeFileSync(conf, haproxyConf(port, upstream));
  const child = spawn(bin, ["-db", "-f", conf], { stdio: ["ignore", "ignore", "inherit"] });
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not spawn haproxy");
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await waitForPort("haproxy", child, port, join(dir, "none.log"));
  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    pid,
    stop: () => {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
