/**
 * Graceful drain of a Node HTTP server without losing requests that already reached it.
 *
 * Node's `server.close()` also closes every connection it deems idle, and a keep-alive connection
 * whose next request is still unparsed in the socket buffer looks idle — its request is lost (the
 * client sees ECONNRESET). So, like Envoy's drain, we stop listening without touching connections,
 * answer every further request with `Connection: close`, and close idle connections only once no
 * request has been running for a short quiet period.
 */
import type { Server, ServerResponse } from "node:http";
import { Server as NetServer } from "node:net";

/** Tracks requests on an HTTP server and drains it on demand. */
export class HttpDrainer {
  private readonly active = new Set<ServerResponse>();
  private lastActivity = 0;
  private draining = false;

  /** `beforeDrain` runs first (the accept gate must not listen again once draining starts). */
  constructor(
    private readonly server: Server,
    private readonly beforeDrain: () => void = () => {},
  ) {
    server.on("request", (_req, res) => {
      this.active.add(res);
      this.lastActivity = Date.now();
      if (this.draining) res.setHeader("connection", "close");
      res.once("close", () => {
        this.active.delete(res);
        this.lastActivity = Date.now();
      });
    });
  }

  /**
   * Stops accepting connections, lets requests on open connections finish, then closes the
   * connections. Resolves when every connection is closed or `timeoutMs` has passed (then the rest
   * are cut).
   */
  async drain(timeoutMs: number, quietMs = 100): Promise<void> {
    this.draining = true;
    this.beforeDrain();
    // Answers still being computed must not invite the client to reuse a connection we will close.
    for (const res of this.active) if (!res.headersSent) res.setHeader("connection", "close");
    const until = Date.now() + timeoutMs;
    const closed = new Promise<void>((resolve) => {
      // net.Server's close stops listening and waits for connections; http.Server's would also
      // cut the "idle" ones at once.
      NetServer.prototype.close.call(this.server, () => resolve());
    });
    while (Date.now() < until) {
      if (this.active.size === 0 && Date.now() - this.lastActivity >= quietMs) break;
      await sleep(Math.min(20, Math.max(1, until - Date.now())));
    }
    this.server.closeIdleConnections();
    const left = until - Date.now();
    if (left > 0) await Promise.race([closed, sleep(left)]);
    this.server.closeAllConnections();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
