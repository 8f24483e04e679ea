/**
 * `infergate batch` as an operator runs it (dist/cli.js in a child process, no server): plain
 * progress lines when stderr is not a terminal, Ctrl-C (SIGINT) stopping at the last flushed
 * chunk with exit 130, `--resume` finishing with every record once and in order, and exit 1 when
 * more than --max-errors records fail.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { writeMlpJsonl } from "../jobs/batch-data.js";
import { expectExactlyOnce } from "../jobs/batch-helpers.js";
import { MODELS_DIR } from "./harness.js";

const CLI = resolve(import.meta.dirname, "../../dist/cli.js");
const RECORDS = 30_000;
let dir: string;

interface Run {
  code: number | null;
  stderr: string;
}

/** Runs the CLI; `interruptWhen` sends SIGINT once it returns true (polled every 20 ms). */
function cli(args: string[], interruptWhen?: () => boolean): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, "batch", "--config", "gw.yaml", ...args], {
      cwd: dir,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const poll =
      interruptWhen &&
      setInterval(() => {
        if (interruptWhen()) {
          clearInterval(poll);
          child.kill("SIGINT");
        }
      }, 20);
    child.on("exit", (code) => {
      if (poll) clearInterval(poll);
      done({ code, stderr });
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "infergate-batch-cli-"));
  writeFileSync(
    join(dir, "gw.yaml"),
    `backends:
  local: { type: onnx, modelDir: ${MODELS_DIR} }
models:
  mlp:
    versions: { "1": { backend: local, model: mlp, version: "1" } }
jobs:
  batch: { chunkRecords: 512, rowsPerCall: 128, inFlightPerTarget: 1 }
`,
  );
  await writeMlpJsonl(join(dir, "in.jsonl"), RECORDS, "input");
}, 30_000);

describe("infergate batch", () => {
  it("stops on Ctrl-C at a checkpoint and --resume finishes every record once, in order", async () => {
    const checkpoint = join(dir, "out.jsonl.checkpoint.json");
    const doneAt = () => {
      if (!existsSync(checkpoint)) return 0;
      try {
        return (JSON.parse(readFileSync(checkpoint, "utf8")) as { counts: { done: number } }).counts
          .done;
      } catch {
        return 0;
      }
    };
    const first = await cli(
      ["--model", "mlp", "--input", "in.jsonl", "--output", "out.jsonl"],
      () => doneAt() >= RECORDS / 3,
    );
    expect(first.code).toBe(130);
    expect(first.stderr).toContain("run again with --resume");
    expect(first.stderr).toMatch(/mlp: \d+\/30000 records, \d+ rec\/s, ETA \S+, failed \d/);
    expect(existsSync(join(dir, "out.jsonl"))).toBe(false);
    const stoppedAt = doneAt();
    expect(stoppedAt).toBeGreaterThan(0);
    expect(stoppedAt).toBeLessThan(RECORDS);

    const second = await cli([
      "--model",
      "mlp",
      "--input",
      "in.jsonl",
      "--output",
      "out.jsonl",
      "--resume",
    ]);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain(`done: ${RECORDS} records, 3 failed`);
    expect(existsSync(checkpoint)).toBe(false);
    expectExactlyOnce(dir, "out.jsonl", RECORDS);
  }, 60_000);

  it("exits 1 when more than --max-errors records fail", async () => {
    const run = await cli([
      "--model",
      "mlp",
      "--input",
      "in.jsonl",
      "--output",
      "strict.jsonl",
      "--max-errors",
      "0",
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("more than maxErrors (0)");
  }, 60_000);

  it("exits 2 with usage when an argument is missing", async () => {
    const run = await cli(["--model", "mlp"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("usage: infergate batch");
  });
});
