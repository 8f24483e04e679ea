/**
 * nginx as the baseline reverse proxy: a plain `proxy_pass` with upstream keepalive, one worker
 * (the gateway is one Node thread too), no access log, every path (pid, logs, temp files) in a
 * temp dir so it needs no system setup. Debian's nginx; installed with apt-get when missing.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../test/support/ports.js";

const NGINX = process.env.NGINX_BIN ?? "/usr/sbin/nginx";

/** A running nginx. */
export interface NginxProcess {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** `bin`, with Debian's package `pkg` installed first when it is missing. */
export function ensureDebianBinary(bin: string, pkg: string): string {
  if (existsSync(bin)) return bin;
  process.stdout.write(`${pkg} missing: apt-get install -y ${pkg}\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "--no-install-recommends", pkg], {
    stdio: "inherit",
    env,
  });
  if (!existsSync(bin)) throw new Error(`apt-get installed ${pkg} but ${bin} is missing`);
  return bin;
}

/** The nginx binary, installed from Debian's packages when it is missing. */
export function ensureNginx(): string {
  return ensureDebianBinary(NGINX, "nginx");
}

/** The nginx.conf proxying `127.0.0.1:<port>` to `upstream` (host:port), paths under `dir`. */
export function nginxConf(dir: string, port: number, upstream: string): string {
  return `daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream backend {
    server ${upstream};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

/** Starts nginx in front of `upstream` (host:port) on a free port; resolves once it answers. */
export async function startNginx(upstream: string): Promise<NginxProcess> {
  const bin = ensureNginx();
  const dir = mkdtempSync(join(tmpdir(), "infergate-nginx-"));
  for (const sub of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) {
    mkdirSync(join(dir, sub));
  }
  const port = await freePort();
  writeFileSync(join(dir, "nginx.conf"), nginxConf(dir, port, upstream));
  // -e: nginx opens its compiled-in error log before reading the config; keep that in dir too.
  const child = spawn(
    bin,
    ["-p", dir, "-e", join(dir, "error.log"), "-c", join(dir, "nginx.conf")],
    {
      stdio: ["ignore", "inherit", "inherit"],
    },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not spawn nginx");
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await waitForPort("nginx", child, port, join(dir, "error.log"));
  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    pid,
    stop: () => {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill("SIGQUIT"); // graceful shutdown
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/** Polls until the proxy `name` accepts a TCP connection (at most 10 s); its log if it exits. */
export async function waitForPort(
  name: string,
  child: ChildProcess,
  port: number,
  logFile: string,
): Promise<void> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) {
      const log = existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
      throw new Error(`${name} exited ${child.exitCode}: ${log}`);
    }
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${name} did not start listening within 10 s`);
}
