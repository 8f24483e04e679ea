/**
 * server.watchConfig against a real Runtime: each change of the file's contents runs one reload
 * (counted by the runtime's own infergate_config_reloads_total), whether the file is rewritten,
 * written in a burst, or swapped the way a Kubernetes ConfigMap volume swaps its `..data` link.
 */
import {
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Runtime } from "../gateway/runtime.js";
import { createMetrics, type Metrics } from "../metrics/registry.js";
import { type ConfigWatch, type ConfigWatchOptions, watchConfigFile } from "./watch.js";

const DEBOUNCE_MS = 40;
/** Long enough after the last check that a second reload, if one were coming, would have run. */
const QUIET_MS = DEBOUNCE_MS * 6;

/** A valid config whose drainTimeoutMs tells which edit is live. */
const config = (drainTimeoutMs: number) =>
  `server:\n  drainTimeoutMs: ${drainTimeoutMs}\n  watchConfig: true\nbackends: {}\nmodels: {}\n`;

interface Harness {
  runtime: Runtime;
  metrics: Metrics;
  watch: ConfigWatch;
  checks: boolean[];
  drain: () => number;
  reloads: (result: "success" | "failure") => Promise<number>;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "infergate-watch-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function start(
  configPath: string,
  extra: Partial<ConfigWatchOptions> = { pollMs: 0 },
): Promise<Harness> {
  const metrics = createMetrics();
  const logger = pino({ level: "silent" });
  const info = { name: "infergate", version: "test", extensions: [] };
  const runtime = await Runtime.start({ configPath, metrics, logger, info });
  const checks: boolean[] = [];
  const watch = watchConfigFile({
    path: configPath,
    reload: () => runtime.reload(),
    logger,
    debounceMs: DEBOUNCE_MS,
    onCheck: (changed) => checks.push(changed),
    ...extra,
  });
  cleanups.push(async () => {
    watch.close();
    await runtime.close(0);
  });
  await watch.ready;
  const reloads = async (result: "success" | "failure") => {
    const { values } = await metrics.configReloads.get();
    return values.find((v) => v.labels.result === result)?.value ?? 0;
  };
  const drain = () => runtime.current().config.server.drainTimeoutMs;
  return { runtime, metrics, watch, checks, drain, reloads };
}

const waitFor = (condition: () => boolean | Promise<boolean>) =>
  vi.waitFor(
    async () => {
      if (!(await condition())) throw new Error("not yet");
    },
    { timeout: 5000, interval: 10 },
  );
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("watchConfigFile", () => {
  it("reloads once when the file is edited", async () => {
    const path = join(tempDir(), "gateway.yaml");
    writeFileSync(path, config(1000));
    const h = await start(path);
    writeFileSync(path, config(2000));
    await waitFor(() => h.drain() === 2000);
    await sleep(QUIET_MS);
    expect(await h.reloads("success")).toBe(1);
    expect(await h.reloads("failure")).toBe(0);
  });

  it("reloads once for a burst of writes, with the last contents", async () => {
    const path = join(tempDir(), "gateway.yaml");
    writeFileSync(path, config(1000));
    const h = await start(path);
    for (let i = 1; i <= 10; i++) writeFileSync(path, config(1000 + i));
    await waitFor(() => h.drain() === 1010);
    await sleep(QUIET_MS);
    expect(await h.reloads("success")).toBe(1);
  });

  it("keeps the old config on an invalid edit and applies the next good one", async () => {
    const path = join(tempDir(), "gateway.yaml");
    writeFileSync(path, config(1000));
    const h = await start(path);
    writeFileSync(path, config(1000).replace("models: {}", "models: { iris: {} }"));
    await waitFor(async () => (await h.reloads("failure")) === 1);
    expect(h.drain()).toBe(1000);
    writeFileSync(path, config(3000));
    await waitFor(() => h.drain() === 3000);
    await sleep(QUIET_MS);
    expect(await h.reloads("failure")).toBe(1);
    expect(await h.reloads("success")).toBe(1);
  });

  it("reloads once per ConfigMap-style ..data symlink swap", async () => {
    // kubelet's layout: gateway.yaml -> ..data/gateway.yaml, ..data -> ..<timestamp>/. Each
    // update writes a new timestamped directory, swaps ..data and deletes the old directory.
    const dir = tempDir();
    const publish = (name: string, text: string) => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, "gateway.yaml"), text);
    };
    publish("..v0", config(1000));
    symlinkSync("..v0", join(dir, "..data"));
    symlinkSync("..data/gateway.yaml", join(dir, "gateway.yaml"));
    const h = await start(join(dir, "gateway.yaml"));

    // Two swaps: a watch on the file's first inode would see the first one and miss the second.
    for (const [n, drain] of [
      [1, 4000],
      [2, 4500],
    ] as const) {
      publish(`..v${n}`, config(drain));
      symlinkSync(`..v${n}`, join(dir, "..data_tmp"));
      renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
      rmSync(join(dir, `..v${n - 1}`), { recursive: true });
      await waitFor(() => h.drain() === drain);
      await sleep(QUIET_MS);
      expect(await h.reloads("success")).toBe(n);
    }
  });

  it("does not reload when the file is touched or rewritten with the same contents", async () => {
    const path = join(tempDir(), "gateway.yaml");
    writeFileSync(path, config(1000));
    const h = await start(path);
    const later = new Date(Date.now() + 60_000);
    utimesSync(path, later, later);
    await waitFor(() => h.checks.length >= 1);
    writeFileSync(path, config(1000));
    await waitFor(() => h.checks.length >= 2);
    await sleep(QUIET_MS);
    expect(h.checks.every((changed) => !changed)).toBe(true);
    expect(await h.reloads("success")).toBe(0);
  });

  it("notices a change by polling alone when filesystem events are off", async () => {
    const path = join(tempDir(), "gateway.yaml");
    writeFileSync(path, config(1000));
    const h = await start(path, { fsEvents: false, pollMs: 20 });
    writeFileSync(path, config(5000));
    await waitFor(() => h.drain() === 5000);
    await sleep(QUIET_MS);
    expect(await h.reloads("success")).toBe(1);
  });

  it("survives a reload that throws, and keeps watching", async () => {
    const path = join(tempDir(), "gateway.yaml");
    writeFileSync(path, config(1000));
    let calls = 0;
    const watch = watchConfigFile({
      path,
      reload: async () => {
        calls++;
        if (calls === 1) throw new Error("boom");
        return { ok: true };
      },
      logger: pino({ level: "silent" }),
      debounceMs: DEBOUNCE_MS,
      pollMs: 0,
    });
    cleanups.push(() => watch.close());
    await watch.ready;
    writeFileSync(path, config(2000));
    await waitFor(() => calls === 1);
    writeFileSync(path, config(3000));
    await waitFor(() => calls === 2);
  });

  it("stops reloading once closed", async () => {
    const path = join(tempDir(), "gateway.yaml");
    writeFileSync(path, config(1000));
    const h = await start(path, { pollMs: 20 });
    h.watch.close();
    writeFileSync(path, config(6000));
    await sleep(QUIET_MS);
    expect(h.drain()).toBe(1000);
    expect(h.checks).toEqual([]);
  });
});
