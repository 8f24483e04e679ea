/**
 * Raw-socket clients for the HTTP abuse tests and bench: slow headers, stalled uploads and silent
 * connections, each watched until the gateway closes it.
 */
import { connect, type Socket } from "node:net";
import { localConfig } from "../e2e/harness.js";

/** A local-model gateway config with these `server.limits` (and other server keys). */
export function limitedConfig(limits: Record<string, number>, server = ""): string {
  const block = Object.entries(limits)
    .map(([key, value]) => `    ${key}: ${value}\n`)
    .join("");
  return localConfig().replace("  grpcPort: 0\n", `${server}  limits:\n${block}`);
}

/** A raw connection and what it received until the gateway closed it. */
export interface Watched {
  socket: Socket;
  /** Resolves when the socket closes: what arrived and how long after opening. */
  closed: Promise<{ data: string; afterMs: number }>;
}

/** Opens a raw TCP connection to 127.0.0.1:port and watches it until it closes. */
export function open(port: number): Promise<Watched> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect({ host: "127.0.0.1", port });
    let data = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      data += chunk;
    });
    const closed = new Promise<{ data: string; afterMs: number }>((done) => {
      socket.once("close", () => done({ data, afterMs: performance.now() - started }));
    });
    socket.on("error", () => undefined); // a reset counts as closed
    socket.once("connect", () => resolve({ socket, closed }));
    socket.once("error", reject);
  });
}

/** {@link open}, or "refused" when the connect itself fails (the listener is closed at its cap). */
export function tryOpen(port: number): Promise<Watched | "refused"> {
  return open(port).catch(() => "refused" as const);
}

/** Request headers for a JSON predict of iris declaring `length` body bytes. */
export function predictHead(length: number): string {
  return [
    "POST /v1/models/iris/predict HTTP/1.1",
    "Host: 127.0.0.1",
    "Content-Type: application/json",
    `Content-Length: ${length}`,
    "",
    "",
  ].join("\r\n");
}

/** A valid iris predict body padded with spaces to exactly `length` bytes. */
export function paddedPredictBody(length: number): string {
  const body = JSON.stringify({ inputs: [[5.1, 3.5, 1.4, 0.2]] });
  return body + " ".repeat(Math.max(0, length - body.length));
}

/** The status code of the first HTTP response in `data`, or undefined. */
export function statusOf(data: string): number | undefined {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(data);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
