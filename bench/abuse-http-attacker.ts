/**
 * The attacker of bench/abuse-http.bench.ts, in its own process so its sockets do not share the
 * measuring client's event loop. Modes: `slowloris` (connections that send a header line every
 * second and never finish), `flood` (silent connections, reopened as soon as the gateway closes
 * them), `stall` (uploads that send all but the last bytes of a declared body, then stall; opened
 * once). Prints one JSON line of counts when done.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { deferCleanup } from "./cleanup.js";

/** What one attacker run saw. */
export interface AttackStats {
  /** Connections the gateway accepted (connect succeeded). */
  opened: number;
  /** Connections closed by the gateway with no answer within 200 ms of opening (refused). */
  refused: number;
  /** Connections the gateway closed, by the status it answered first ("none" = no answer). */
  statuses: Record<string, number>;
  /** Most connections open at once. */
  peakOpen: number;
  /** CPU the attacker process used, % of one core over its run. */
  cpuPercent: number;
}

/** Options of one attacker run. */
export interface AttackOptions {
  mode: "slowloris" | "flood" | "stall";
  port: number;
  /** Connections kept open (slowloris, flood) or uploads sent (stall). */
  count: number;
  seconds: number;
  /** stall: the declared body length; all but 10 KB of it is sent. */
  bodyBytes?: number;
  /** Runs the attacker on this CPU only (taskset), away from the gateway's. */
  cpu?: number;
}

const SCRIPT = `
const net = require("node:net");
const { MODE, PORT, COUNT, SECONDS, BODY_BYTES } = process.env;
const until = Date.now() + Number(SECONDS) * 1000;
const stats = { opened: 0, refused: 0, statuses: {}, peakOpen: 0 };
const live = new Set();
let done = false;
const body = MODE === "stall" ? Buffer.alloc(Number(BODY_BYTES) - 10000, 32) : undefined;
function one() {
  if (done || Date.now() >= until) return;
  const s = net.connect({ host: "127.0.0.1", port: Number(PORT) });
  const opened = Date.now();
  let head = "";
  s.setEncoding("latin1");
  s.on("connect", () => {
    stats.opened++;
    live.add(s);
    stats.peakOpen = Math.max(stats.peakOpen, live.size);
    if (MODE === "slowloris") s.write("POST /v1/predict HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n");
    if (MODE === "stall") {
      s.write("POST /v1/models/iris/predict HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nContent-Type: application/json\\r\\nContent-Length: " + BODY_BYTES + "\\r\\n\\r\\n");
      s.write(body);
    }
  });
  s.on("data", (d) => { if (head.length < 16) head += d; });
  s.on("error", () => {});
  s.on("close", () => {
    live.delete(s);
    if (done) return;
    const status = /^HTTP\\/1\\.1 (\\d{3})/.exec(head)?.[1] ?? "none";
    stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
    if (status === "none" && Date.now() - opened < 200) stats.refused++;
    if (MODE !== "stall") setTimeout(one, MODE === "flood" ? 50 : 100);
  });
}
for (let i = 0; i < Number(COUNT); i++) setTimeout(one, i % 500);
const drip = setInterval(() => {
  if (MODE === "slowloris") for (const s of live) s.write("X-Slow: 1\\r\\n");
}, 1000);
setTimeout(() => {
  done = true;
  clearInterval(drip);
  for (const s of live) s.destroy();
  const cpu = process.cpuUsage();
  stats.cpuPercent = Math.round((cpu.user + cpu.system) / 10 / Number(SECONDS)) / 1000;
  console.log(JSON.stringify(stats));
  process.exit(0);
}, Number(SECONDS) * 1000);
`;

/** Runs one attack in a child process; resolves with its counts when it ends. */
export async function attack(options: AttackOptions): Promise<AttackStats> {
  const command =
    options.cpu === undefined
      ? [process.execPath, "-e", SCRIPT]
      : ["taskset", "-c", String(options.cpu), process.execPath, "-e", SCRIPT];
  const child = spawn(command[0] as string, command.slice(1), {
    stdio: ["ignore", "pipe", "inherit"],
    env: {
      ...process.env,
      MODE: options.mode,
      PORT: String(options.port),
      COUNT: String(options.count),
      SECONDS: String(options.seconds),
      BODY_BYTES: String(options.bodyBytes ?? 0),
    },
  });
  deferCleanup(() => child.kill("SIGKILL"));
  const stdout = child.stdout;
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => code !== 0 && reject(new Error(`attacker exited ${code}`)));
    createInterface({ input: stdout }).once("line", (line) => resolve(JSON.parse(line)));
  });
}
