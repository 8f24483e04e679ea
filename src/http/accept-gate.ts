/**
 * Stops accepting at the connection cap, as nginx does when its worker connections run out
 * (docs/security.md "Timeouts and caps"). Node 20 has no way to pause accepting: past
 * `maxConnections` it accepts each new connection and closes it at once, and a flood of reconnects
 * then costs the gateway an accept and a close each (about a tenth of a core at 7,000 a second,
 * in bursts that delay every other request on the event loop). So at the cap the listening socket
 * is closed — the kernel refuses further connects without waking the gateway — and opened again
 * on the same address shortly after a connection ends. Open connections are not touched.
 *
 * Not for cluster workers: their listening socket is the primary's, shared by every worker.
 */
import type { Server } from "node:http";
import { Server as NetServer, type Socket } from "node:net";
import type { Logger } from "../logger.js";

/** Options of {@link gateAccepts}. */
export interface AcceptGateOptions {
  /** The current cap (a reload may change it). */
  maxConnections: () => number;
  /** The address the server listens on, to listen on again. */
  host: string;
  port: number;
  logger: Logger;
  protocol: string;
  /** How often a paused gate looks again when no connection ends (a reload may raise the cap). */
  recheckMs?: number;
  /** How long after room opens up the gate listens again (default 50 ms). */
  resumeDelayMs?: number;
}

/** A running gate. */
export interface AcceptGate {
  /** True while the listening socket is closed at the cap. */
  readonly paused: boolean;
  /** Stops re-opening (the server is draining or closing for good). */
  stop(): void;
}

/** Closes `server`'s listening socket while it holds `maxConnections()` connections. */
export function gateAccepts(server: Server, options: AcceptGateOptions): AcceptGate {
  const recheckMs = options.recheckMs ?? 500;
  const resumeDelayMs = options.resumeDelayMs ?? 50;
  let open = 0;
  let paused = false;
  let stopped = false;
  let reopening = false;
  let recheck: NodeJS.Timeout | undefined;
  let resumeTimer: NodeJS.Timeout | undefined;
  let pauses = 0;

  const pause = () => {
    if (paused || stopped) return;
    paused = true;
    pauses += 1;
    // net.Server's close: http.Server's would also close the idle keep-alive connections.
    NetServer.prototype.close.call(server);
    recheck = setInterval(maybeResume, recheckMs).unref();
    if (pauses === 1 || pauses % 1000 === 0) {
      options.logger.warn(
        { protocol: options.protocol, open, pauses },
        "server.limits.maxConnections reached: not accepting until a connection ends",
      );
    }
  };

  const canResume = () => paused && !stopped && !reopening && open < options.maxConnections();

  // Waits a little before listening again: connections cut at a timeout end in a wave, and
  // listening again for each one (an accept, then the cap again) cost more than the refusals.
  const maybeResume = () => {
    if (resumeTimer === undefined && canResume()) {
      resumeTimer = setTimeout(reopen, resumeDelayMs).unref();
    }
  };

  const reopen = () => {
    resumeTimer = undefined;
    if (!canResume()) return;
    reopening = true;
    const onError = (err: Error) => {
      // The port was taken meanwhile; look again on the next connection end or recheck.
      reopening = false;
      options.logger.error(
        { protocol: options.protocol, err: err.message },
        "could not listen again after the connection cap",
      );
    };
    server.once("error", onError);
    server.listen(options.port, options.host, () => {
      server.off("error", onError);
      reopening = false;
      paused = false;
      clearInterval(recheck);
      recheck = undefined;
      if (stopped) NetServer.prototype.close.call(server);
    });
  };

  // Node's http.Server restarts its header/request-timeout check on every "listening", and the
  // check's timer survives a net-level close. Re-listening faster than its period (a flood does)
  // would keep postponing it: timeouts would stop being enforced, then fire for everyone at once.
  for (const listener of server.listeners("listening")) {
    if (listener.name === "setupConnectionsTracking") {
      server.off("listening", listener as (...args: unknown[]) => void);
    }
  }

  server.on("connection", (socket: Socket) => {
    open += 1;
    socket.once("close", () => {
      open -= 1;
      maybeResume();
    });
    if (open >= options.maxConnections()) pause();
  });

  return {
    get paused() {
      return paused;
    },
    stop() {
      stopped = true;
      clearInterval(recheck);
      recheck = undefined;
      clearTimeout(resumeTimer);
      resumeTimer = undefined;
    },
  };
}
