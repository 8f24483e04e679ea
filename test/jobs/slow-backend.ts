/**
 * A small TorchServe-convention backend for async-job tests: `POST /predictions/{m}` answers the
 * input row doubled after `delayMs`, can be held shut (every call waits until `open()`), and
 * counts calls by the first value of each input row, so a test can tell how often each job ran,
 * and under which `x-request-id`.
 * It runs in the test process, so it outlives a gateway process the test kills.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A running test backend. */
export interface SlowBackend {
  url: string;
  /** Calls per first input value (the row's id). */
  readonly calls: Map<number, number>;
  /** The `x-request-id` of each call, per first input value, in arrival order. */
  readonly requestIds: Map<number, string[]>;
  /** Total calls. */
  total(): number;
  /** Calls answered or in progress right now. */
  inFlight(): number;
  /** Holds every call until {@link open}. */
  hold(): void;
  open(): void;
  setDelay(ms: number): void;
  close(): Promise<void>;
}

/** The gateway config snippet for a backend named `slow` and model `m` on it. */
export function slowBackendConfig(url: string, extra = ""): string {
  return `backends:
  slow: { type: torchserve, url: "${url}" }
models:
  m:
    versions:
      "1":
        backend: slow
        inputs: [{ name: x, datatype: FP32, shape: [-1, 2] }]
        outputs: [{ name: y, datatype: FP32, shape: [-1, 2] }]
${extra}`;
}

/** Starts the backend on a free loopback port. */
export async function startSlowBackend(delayMs = 0): Promise<SlowBackend> {
  const calls = new Map<number, number>();
  const requestIds = new Map<number, string[]>();
  let total = 0;
  let inFlight = 0;
  let delay = delayMs;
  let gate: Promise<void> | undefined;
  let release: (() => void) | undefined;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === "GET" && req.url === "/ping") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"Healthy"}');
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rows = JSON.parse(Buffer.concat(chunks).toString()) as number[][];
    total++;
    inFlight++;
    for (const row of rows) {
      const id = row[0] ?? -1;
      calls.set(id, (calls.get(id) ?? 0) + 1);
      const seen = requestIds.get(id) ?? [];
      seen.push(String(req.headers["x-request-id"]));
      requestIds.set(id, seen);
    }
    try {
      if (gate !== undefined) await gate;
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(rows.map((row) => row.map((v) => v * 2))));
    } finally {
      inFlight--;
    }
  }

  function open(): void {
    release?.();
    gate = undefined;
    release = undefined;
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    requestIds,
    total: () => total,
    inFlight: () => inFlight,
    hold() {
      gate ??= new Promise((r) => {
        release = r;
      });
    },
    open,
    setDelay(ms) {
      delay = ms;
    },
    close() {
      open();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
