/**
 * `infergate batch`: runs one batch in this process, no server needed (docs/batch.md "The CLI").
 * Paths are the operator's own (absolute or relative to the working directory) and Postgres is
 * not restricted to `jobs.postgres.allowedHosts`: whoever runs the CLI already has the config.
 * Ctrl-C stops at the last flushed chunk; `--resume` continues from there.
 */
import { randomUUID } from "node:crypto";
import { basename, dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { ConfigInvalidError, Runtime } from "../../gateway/runtime.js";
import { createMetrics } from "../../metrics/registry.js";
import { SERVER_INFO } from "../../server.js";
import { errorsPath } from "../io/jsonl-sink.js";
import { type BatchLocation, parseFormat } from "../io/open.js";
import { readCheckpoint, removeCheckpoint, writeCheckpoint } from "./checkpoint-file.js";
import { createProgress } from "./progress.js";
import { runBatch } from "./run.js";
import { TargetSlots } from "./slots.js";
import type { BatchSpec } from "./types.js";

export const BATCH_USAGE = `usage: infergate batch --config F --model M --input IN --output OUT
         [--format jsonl|csv|parquet] [--output-format F] [--version V] [--id-field F]
         [--max-errors N] [--resume]
       IN may be postgres://... with --query SQL; OUT may be postgres://... with --table T`;

interface Places {
  location: BatchLocation;
  dir: string;
}

function place(arg: string, role: "input" | "output", extra: string | undefined): Places {
  if (/^postgres(ql)?:\/\//.test(arg)) {
    const postgres =
      role === "input" ? { url: arg, query: extra ?? "" } : { url: arg, table: extra ?? "" };
    return { location: { postgres }, dir: process.cwd() };
  }
  const full = resolve(arg);
  return { location: { path: basename(full) }, dir: dirname(full) };
}

/** Runs the batch command; resolves to the exit code. */
export async function batchCommand(argv: string[], defaultConfig: string): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: "string", short: "c" },
      model: { type: "string", short: "m" },
      version: { type: "string" },
      input: { type: "string", short: "i" },
      output: { type: "string", short: "o" },
      format: { type: "string" },
      "output-format": { type: "string" },
      query: { type: "string" },
      table: { type: "string" },
      "id-field": { type: "string" },
      "max-errors": { type: "string" },
      resume: { type: "boolean" },
    },
  });
  if (values.model === undefined || values.input === undefined || values.output === undefined) {
    process.stderr.write(`batch needs --model, --input and --output\n${BATCH_USAGE}\n`);
    return 2;
  }
  const maxErrors = values["max-errors"] === undefined ? undefined : Number(values["max-errors"]);
  if (maxErrors !== undefined && !(Number.isSafeInteger(maxErrors) && maxErrors >= 0)) {
    process.stderr.write("--max-errors must be a whole number, 0 or more\n");
    return 2;
  }
  const format = parseFormat(values.format);
  const input = place(values.input, "input", values.query);
  const output = place(values.output, "output", values.table);
  if ("path" in output.location && values["output-format"] !== undefined) {
    output.location = {
      ...output.location,
      format: parseFormat(values["output-format"], "output-format"),
    };
  }
  const errorsFile =
    "path" in output.location
      ? errorsPath(output.location.path)
      : `${values.table ?? "batch"}.errors.jsonl`;
  const checkpointFile = resolve(
    output.dir,
    `${errorsFile.replace(/\.errors\.jsonl$/, "")}.checkpoint.json`,
  );

  const logger = pino({ level: process.env.LOG_LEVEL ?? "warn" }, pino.destination(2));
  let runtime: Runtime;
  try {
    const configPath = values.config ?? process.env.INFERGATE_CONFIG ?? defaultConfig;
    runtime = await Runtime.start({
      configPath,
      metrics: createMetrics(),
      logger,
      info: SERVER_INFO,
    });
  } catch (err) {
    if (!(err instanceof ConfigInvalidError)) throw err;
    process.stderr.write(`${err.errors.join("\n")}\n`);
    return 1;
  }
  const config = runtime.current().config;
  const stored = values.resume ? await readCheckpoint(checkpointFile) : undefined;
  if (values.resume && stored === undefined)
    process.stderr.write("no checkpoint found; starting from the beginning\n");
  const spec: BatchSpec = {
    model: values.model,
    input: input.location,
    output: output.location,
    format,
    ...(values.version === undefined ? {} : { version: values.version }),
    ...(values["id-field"] === undefined ? {} : { idField: values["id-field"] }),
    ...(maxErrors === undefined ? {} : { maxErrors }),
  };
  const id = stored?.id ?? `cli_${randomUUID().replaceAll("-", "")}`;
  const abort = new AbortController();
  const onSignal = () => abort.abort("stop");
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const progress = createProgress(process.stderr, values.model);
  const started = Date.now();
  const startDone = stored?.counts.done ?? 0;
  try {
    const result = await runBatch({
      id,
      spec,
      service: runtime.current(),
      inputDir: input.dir,
      outputDir: output.dir,
      errorsPath: errorsFile,
      settings: config.jobs.batch,
      slots: new TargetSlots(config.jobs.batch.inFlightPerTarget),
      limits: config.server.limits,
      signal: abort.signal,
      ...(stored ? { checkpoints: stored.checkpoints } : {}),
      onCheckpoint: async ({ counts, checkpoints }) => {
        await writeCheckpoint(checkpointFile, { id, checkpoints, counts });
        const seconds = (Date.now() - started) / 1000;
        progress.update(counts, seconds > 0 ? (counts.done - startDone) / seconds : 0);
      },
      onPause: (paused, error) =>
        process.stderr.write(
          paused ? `\npaused: ${error.code} ${error.message}; retrying\n` : "\nresumed\n",
        ),
    });
    progress.stop();
    const { counts } = result;
    switch (result.kind) {
      case "succeeded":
        await removeCheckpoint(checkpointFile);
        process.stderr.write(`done: ${counts.done} records, ${counts.failed} failed\n`);
        return 0;
      case "stopped":
        process.stderr.write(
          `stopped after ${counts.done} records; run again with --resume to continue\n`,
        );
        return 130;
      case "cancelled":
        return 130;
      case "failed":
        process.stderr.write(`failed: ${result.error.code}: ${result.error.message}\n`);
        return 1;
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await runtime.close(0);
  }
}
