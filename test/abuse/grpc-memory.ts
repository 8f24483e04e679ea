/**
 * Measuring a gateway process's memory, for tests and benchmarks. `collectGarbage` forces a full
 * garbage collection in another node process through its inspector (started with
 * `--inspect=127.0.0.1:<port>`), so a memory figure taken after it shows what is still referenced,
 * not garbage an idle process has not collected yet (loopback only).
 * `memoryAfterGc` reads the external memory from the gateway's `/metrics` (prom-client's default
 * `nodejs_external_memory_bytes`).
 */
import { WebSocket } from "undici";
import { freePort } from "../support/ports.js";

/** Node flags that open the inspector on a free loopback port, and that port. */
export async function inspectorArgs(): Promise<{ args: string[]; port: number }> {
  const port = await freePort();
  return { args: [`--inspect=127.0.0.1:${port}`], port };
}

/** Runs `HeapProfiler.collectGarbage` (a full, compacting GC) in the process on `port`. */
export async function collectGarbage(port: number): Promise<void> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{
    webSocketDebuggerUrl: string;
  }>;
  const url = targets[0]?.webSocketDebuggerUrl;
  if (url === undefined) throw new Error(`no inspector target on port ${port}`);
  const ws = new WebSocket(url);
  try {
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve());
      ws.addEventListener("error", () => reject(new Error("inspector connection failed")));
    });
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("message", (event) => {
        const reply = JSON.parse(String(event.data)) as { id?: number; error?: unknown };
        if (reply.id !== 1) return;
        if (reply.error !== undefined) reject(new Error(JSON.stringify(reply.error)));
        else resolve();
      });
      ws.send(JSON.stringify({ id: 1, method: "HeapProfiler.collectGarbage" }));
    });
  } finally {
    ws.close();
  }
}

/** A gateway process's memory, MiB, after a full GC: RSS, and V8's external (Buffer) memory. */
export async function memoryAfterGc(
  gateway: { url: string; rssMb(): number },
  inspectPort: number,
): Promise<{ rss: number; external: number }> {
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await pause(200);
  await collectGarbage(inspectPort);
  await pause(200);
  const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
  const external = Number(/^\S*nodejs_external_memory_bytes (\d+)/m.exec(metrics)?.[1]);
  return { rss: gateway.rssMb(), external: external / (1024 * 1024) };
}

/**
 * Runs `start` with `env` added to process.env (a gateway process started meanwhile inherits it),
 * then restores process.env.
 */
export async function withEnv<T>(env: Record<string, string>, start: () => Promise<T>): Promise<T> {
  const saved = Object.keys(env).map((key) => [key, process.env[key]] as const);
  Object.assign(process.env, env);
  try {
    return await start();
  } finally {
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}
