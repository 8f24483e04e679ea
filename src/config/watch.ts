/**
 * `server.watchConfig`: reload when the config file's contents change (see docs/kubernetes.md
 * "Config updates"). A Kubernetes ConfigMap volume never rewrites the file in place: it writes a
 * new timestamped directory and swaps the `..data` symlink the file points through, so the file's
 * own inode never changes. The watcher therefore watches the file's directory, and also polls at a
 * low rate for filesystems whose watch events are unreliable (network mounts, some overlays).
 * Every trigger is debounced, and a reload runs only when the contents' hash differs from the
 * last one seen, so a burst of writes or a `touch` costs at most one reload.
 */
import { createHash } from "node:crypto";
import { type FSWatcher, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Logger } from "../logger.js";

/** Quiet time after the last event before the file is read: editors and kubelet write in steps. */
export const DEFAULT_DEBOUNCE_MS = 500;
/** The poll fallback's period: cheap (one small read and a hash), slow enough not to matter. */
export const DEFAULT_POLL_MS = 5000;

/** Options for watchConfigFile. */
export interface ConfigWatchOptions {
  /** The config file, as given to `serve --config`. */
  path: string;
  /** The reload to run (the same one SIGHUP and POST /admin/reload run). */
  reload: () => Promise<{ ok: boolean }>;
  logger: Logger;
  debounceMs?: number;
  /** Poll period; 0 turns polling off. */
  pollMs?: number;
  /** false = poll only (no fs.watch); for filesystems known to drop events. */
  fsEvents?: boolean;
  /** Called after each check of the file, with whether its contents had changed. */
  onCheck?: (changed: boolean) => void;
}

/** A running watch; close() stops it (a reload already started still finishes). */
export interface ConfigWatch {
  /** Resolves once the starting contents are hashed, so earlier edits are not missed. */
  ready: Promise<void>;
  close(): void;
}

/**
 * Watches `options.path` and runs `options.reload` once per change of its contents. A rejected
 * reload (a bad edit) keeps the old config; the runtime logs why, and the next edit is tried.
 */
export function watchConfigFile(options: ConfigWatchOptions): ConfigWatch {
  const path = resolve(options.path);
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const { logger } = options;
  let lastHash: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let checking = false;
  let again = false;
  let closed = false;
  const ready = hashFile(path).then((hash) => {
    lastHash = hash;
  });

  // One check at a time; a trigger during a check runs one more check after it.
  const check = async (): Promise<void> => {
    if (closed) return;
    if (checking) {
      again = true;
      return;
    }
    checking = true;
    try {
      await ready;
      do {
        again = false;
        const hash = await hashFile(path);
        const changed = hash !== undefined && hash !== lastHash;
        if (changed) {
          lastHash = hash;
          logger.info({ config: path }, "config file changed; reloading");
          const applied = await options.reload().then(
            (result) => result.ok,
            (err: unknown) => {
              // Nothing the watcher runs may crash the process; the old config keeps serving.
              logger.error({ err, config: path }, "config reload failed");
              return false;
            },
          );
          if (!applied) logger.warn({ config: path }, "changed config file not applied");
        }
        options.onCheck?.(changed);
      } while (again && !closed);
    } finally {
      checking = false;
    }
  };

  const schedule = (): void => {
    if (closed) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void check();
    }, debounceMs);
    timer.unref();
  };

  let watcher: FSWatcher | undefined;
  if (options.fsEvents !== false) {
    try {
      // Any event in the directory: the ConfigMap swap renames `..data`, not the file.
      watcher = watch(dirname(path), { persistent: false }, schedule);
      watcher.on("error", (err) => {
        logger.warn({ err, config: path }, "config directory watch failed; polling only");
        watcher?.close();
      });
    } catch (err) {
      logger.warn({ err, config: path }, "cannot watch the config directory; polling only");
    }
  }
  // A poll never postpones a pending check (a poll faster than the debounce would starve it).
  const poll =
    pollMs > 0
      ? setInterval(() => {
          if (timer === undefined) schedule();
        }, pollMs)
      : undefined;
  poll?.unref();

  return {
    ready,
    close() {
      closed = true;
      watcher?.close();
      if (timer !== undefined) clearTimeout(timer);
      if (poll !== undefined) clearInterval(poll);
    },
  };
}

/** The SHA-256 of the file's contents (through symlinks), or undefined while it cannot be read. */
async function hashFile(path: string): Promise<string | undefined> {
  try {
    return createHash("sha256")
      .update(await readFile(path))
      .digest("hex");
  } catch {
    // Mid-swap or deleted: wait for the next event or poll rather than reloading a missing file.
    return undefined;
  }
}
