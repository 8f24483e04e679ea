/**
 * wrk (Debian's, installed with apt-get when missing) as the closed-loop load generator: C
 * connections each sending its next request as the last answer arrives, from one thread, so a
 * proxy's saturation is measured with a client far cheaper than the proxy itself.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureDebianBinary } from "./nginx.js";

const WRK = process.env.WRK_BIN ?? "/usr/bin/wrk";

/** One wrk run. */
export interface WrkResult {
  /** Answers received (any status). */
  requests: number;
  /** Non-2xx/3xx answers plus socket errors. */
  errors: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** A wrk Lua script POSTing `body` as JSON; its path. */
export function wrkPostScript(body: string): string {
  const dir = mkdtempSync(join(tmpdir(), "infergate-wrk-"));
  const file = join(dir, "post.lua");
  if (body.includes("]==]")) throw new Error("body cannot be quoted for Lua");
  writeFileSync(
    file,
    `wrk.method = "POST"\nwrk.body = [==[${body}]==]\nwrk.headers["Content-Type"] = "application/json"\n`,
  );
  return file;
}

/** Runs wrk against `url` with `connections` connections for `seconds`. */
export async function runWrk(
  url: string,
  script: string,
  options: { connections: number; seconds: number },
): Promise<WrkResult> {
  const bin = ensureDebianBinary(WRK, "wrk");
  const args = [
    "-t1",
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    "--latency",
    "-s",
    script,
    url,
  ];
  const out = await new Promise<string>((resolve, reject) => {
    execFile(bin, args, { encoding: "utf8" }, (err, stdout) =>
      err === null ? resolve(stdout) : reject(err),
    );
  });
  return parseWrk(out);
}

/** Reads wrk's `--latency` report. */
export function parseWrk(out: string): WrkResult {
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const perSecond = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  if (!Number.isFinite(requests) || !Number.isFinite(perSecond)) {
    throw new Error(`unreadable wrk output: ${out}`);
  }
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = socket === null ? 0 : socket.slice(1).reduce((s, n) => s + Number(n), 0);
  return {
    requests,
    errors: non2xx + socketErrors,
    perSecond,
    p50Ms: percentileMs(out, "50"),
    p99Ms: percentileMs(out, "99"),
  };
}

function percentileMs(out: string, pct: string): number {
  const m = new RegExp(`^\\s+${pct}%\\s+([\\d.]+)(us|ms|s)\\s*$`, "m").exec(out);
  if (m === null) return Number.NaN;
  const value = Number(m[1]);
  return m[2] === "us" ? value / 1000 : m[2] === "s" ? value * 1000 : value;
}
