#!/usr/bin/env node
/**
 * infergate's command line: `serve` (the default) and `validate`, as docs/operations.md "Starting" describes, and
 * `explain`, which prints how a request would be routed.
 */
import { parseArgs } from "node:util";
import { runPrimary, workerCount } from "./cluster/primary.js";
import { connectWorker, type WorkerLink } from "./cluster/worker.js";
import { loadConfigFile } from "./config/load.js";
import { watchConfigFile } from "./config/watch.js";
import { GatewayError } from "./errors.js";
import { ConfigInvalidError } from "./gateway/runtime.js";
import { BATCH_USAGE, batchCommand } from "./jobs/batch/cli.js";
import { describeListenError } from "./listen-errors.js";
import { createLogger, flushLogger, type Logger, LogLevelError } from "./logger.js";
import { explainRoute } from "./routing/explain.js";
import { startGateway } from "./server.js";

const DEFAULT_CONFIG = "config/gateway.yaml";
const USAGE = `usage: infergate [serve|validate] [--config FILE]
       infergate explain [--config FILE] --model M [--header k=v]... [--version V]

  serve      serve FILE (default: $INFERGATE_CONFIG, else ${DEFAULT_CONFIG})
  validate   check FILE; exit 0 when valid, else print every error and exit 1
  explain    print which version and target a request to model M would reach, and why`;

async function main(argv: string[]): Promise<number> {
  // `batch` has options of its own (docs/batch.md "The CLI").
  if (argv[0] === "batch") return batchCommand(argv.slice(1), DEFAULT_CONFIG);
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      help: { type: "boolean", short: "h" },
      model: { type: "string", short: "m" },
      header: { type: "string", short: "H", multiple: true },
      version: { type: "string" },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n${BATCH_USAGE}\n`);
    return 0;
  }
  const command = positionals[0] ?? "serve";
  const configPath = values.config ?? process.env.INFERGATE_CONFIG ?? DEFAULT_CONFIG;
  switch (command) {
    case "validate":
      return validate(configPath);
    case "serve":
      return serve(configPath);
    case "explain":
      return explain(configPath, values.model, values.header ?? [], values.version);
    default:
      process.stderr.write(`unknown command "${command}"\n${USAGE}\n`);
      return 2;
  }
}

async function validate(configPath: string): Promise<number> {
  const result = await loadConfigFile(configPath);
  if (result.ok) {
    process.stdout.write(`${configPath}: ok\n`);
    return 0;
  }
  process.stdout.write(`${result.errors.join("\n")}\n`);
  return 1;
}

async function explain(
  configPath: string,
  model: string | undefined,
  headerArgs: string[],
  version: string | undefined,
): Promise<number> {
  if (model === undefined) {
    process.stderr.write(`explain needs --model\n${USAGE}\n`);
    return 2;
  }
  const headers: Record<string, string> = {};
  for (const arg of headerArgs) {
    const eq = arg.indexOf("=");
    if (eq <= 0) {
      process.stderr.write(`--header expects name=value, got "${arg}"\n`);
      return 2;
    }
    headers[arg.slice(0, eq).trim().toLowerCase()] = arg.slice(eq + 1);
  }
  const result = await loadConfigFile(configPath);
  if (!result.ok) {
    process.stdout.write(`${result.errors.join("\n")}\n`);
    return 1;
  }
  try {
    const { lines } = explainRoute(result.config, {
      model,
      headers,
      ...(version === undefined ? {} : { version }),
    });
    process.stdout.write(`${lines.join("\n")}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    process.stdout.write(`${err.code}: ${err.message}\n`);
    return 1;
  }
}

/** How long the last log lines may take to reach stdout before the process exits anyway. */
const LOG_FLUSH_TIMEOUT_MS = 5000;

/** The serve command's logger, flushed before the process exits. */
let processLogger: Logger | undefined;

/**
 * `serve`: one gateway process, or with `server.workers` above 1 a primary that forks that many
 * (docs/workers.md). A config that does not load is reported by the single-process path.
 */
async function serve(configPath: string): Promise<number> {
  const worker = connectWorker();
  if (worker !== undefined) return serveUntilSignalled(configPath, worker);
  const loaded = await loadConfigFile(configPath);
  const count = loaded.ok ? workerCount(loaded.config.server.workers) : 1;
  if (count <= 1) return serveUntilSignalled(configPath);
  const logger = startLogger();
  if (logger === undefined) return 1;
  const server = loaded.ok ? loaded.config.server : undefined;
  return runPrimary({
    configPath,
    count,
    logger,
    drainTimeoutMs: server?.drainTimeoutMs ?? 0,
    watchConfig: server?.watchConfig ?? false,
  });
}

/** The process logger from LOG_LEVEL; undefined (after saying why) when the level is unknown. */
function startLogger(worker?: WorkerLink): Logger | undefined {
  try {
    const logger = createLogger();
    processLogger =
      worker === undefined ? logger : logger.child({ worker: worker.index, pid: process.pid });
    return processLogger;
  } catch (err) {
    if (!(err instanceof LogLevelError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return undefined;
  }
}

async function serveUntilSignalled(configPath: string, worker?: WorkerLink): Promise<number> {
  const logger = startLogger(worker);
  if (logger === undefined) return 1;
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway({
      configPath,
      logger,
      ...(worker === undefined ? {} : { worker }),
    });
  } catch (err) {
    if (err instanceof ConfigInvalidError) {
      logger.error({ config: configPath, errors: err.errors }, "invalid config");
      return 1;
    }
    const loaded = await loadConfigFile(configPath);
    const line = loaded.ok ? describeListenError(err, loaded.config.server) : undefined;
    if (line !== undefined) logger.error(line);
    else logger.error({ err }, "failed to start");
    return 1;
  }
  // A worker's SIGHUP reloads that worker; the primary's reloads them all.
  process.on("SIGHUP", () => {
    void gateway.runtime.reload();
  });
  // With workers the primary watches the file and reloads every worker.
  const watcher =
    worker === undefined && gateway.runtime.current().config.server.watchConfig
      ? watchConfigFile({ path: configPath, reload: () => gateway.runtime.reload(), logger })
      : undefined;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      // Wrappers (npm, sh, container runtimes) often forward the same signal again; the drain
      // already under way must not be cut short by the default handler.
      if (stopping) return;
      stopping = true;
      watcher?.close();
      logger.info({ signal }, "shutting down");
      gateway.stop().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error({ err }, "shutdown failed");
          resolve(1);
        },
      );
    };
    process.on("SIGTERM", () => shutdown("SIGTERM"));
    process.on("SIGINT", () => shutdown("SIGINT"));
  });
}

main(process.argv.slice(2)).then(
  async (code) => {
    process.exitCode = code;
    if (processLogger !== undefined) await flushLogger(processLogger, LOG_FLUSH_TIMEOUT_MS);
    // Exit explicitly: backends may hold handles (sockets, thread pools) that keep the loop alive.
    setImmediate(() => process.exit(code));
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
