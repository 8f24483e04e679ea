/** A free TCP port on loopback, for servers the tests and benchmarks start themselves. */
import { createServer } from "node:net";

/** Asks the OS for an ephemeral port, then releases it for the caller's server to bind. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
