/**
 * Minimal `node:http` backends in a child process each, so the proxies in front of them are
 * measured against a server that costs almost nothing per request:
 *   - `startFixedServer`: one body for every request;
 *   - `startReplayServer`: the first answer of the real upstream (an emulator) to each kind of
 *     request (method, path, content type), replayed from then on. The gateway's own request
 *     encoding (binary tensors) and a plain client's JSON get the answers the real backend gives
 *     each of them, at the cost of a bare server.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { deferCleanup } from "./cleanup.js";

/** A running bare server. */
export interface BareServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** `127.0.0.1:<port>`, for a proxy's upstream. */
  readonly host: string;
  readonly pid: number;
}

/** Answers every request with BARE_BODY (after reading the request's). */
const FIXED_SERVER = `
const http = require("node:http");
const body = process.env.BARE_BODY;
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 30000;
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
`;

/**
 * Replays BARE_UPSTREAM's answers. At most 64 kinds of request are remembered (the benches send a
 * handful); beyond that every request goes to the upstream.
 */
const REPLAY_SERVER = `
const http = require("node:http");
const upstream = new URL(process.env.BARE_UPSTREAM);
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
const answers = new Map();
const KEEP = ["content-type", "inference-header-content-length"];
const server = http.createServer((req, res) => {
  const key = req.method + " " + req.url + " " + (req.headers["content-type"] || "");
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const known = answers.get(key);
    if (known !== undefined) {
      res.writeHead(known.status, known.headers);
      res.end(known.body);
      return;
    }
    const body = Buffer.concat(chunks);
    const headers = { ...req.headers, host: upstream.host, "content-length": String(body.length) };
    const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent }, (up) => {
      const parts = [];
      up.on("data", (c) => parts.push(c));
      up.on("end", () => {
        const answer = Buffer.concat(parts);
        const kept = { "content-length": String(answer.length) };
        for (const name of KEEP) if (up.headers[name] !== undefined) kept[name] = up.headers[name];
        if (up.statusCode === 200 && answers.size < 64) answers.set(key, { status: 200, headers: kept, body: answer });
        res.writeHead(up.statusCode, kept);
        res.end(answer);
      });
    });
    out.on("error", (err) => { res.writeHead(502); res.end(String(err)); });
    out.end(body);
  });
});
server.keepAliveTimeout = 30000;
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
`;

/** A bare server answering every request with `body`. */
export function startFixedServer(body: string): Promise<BareServer> {
  return startBare(FIXED_SERVER, { BARE_BODY: body });
}

/** A bare server replaying `upstream`'s (an origin URL) first answer to each kind of request. */
export function startReplayServer(upstream: string): Promise<BareServer> {
  return startBare(REPLAY_SERVER, { BARE_UPSTREAM: upstream });
}

async function startBare(script: string, env: Record<string, string>): Promise<BareServer> {
  const child = spawn(process.execPath, ["-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...env },
  });
  deferCleanup(() => child.kill("SIGKILL"));
  const stdout = child.stdout;
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not spawn the bare server");
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`bare server exited ${code}`)));
    createInterface({ input: stdout }).once("line", (line) => resolve(Number(line)));
  });
  return { url: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}`, pid };
}
