/**
 * Where benchmark tables go and how their numbers are written: one file per scenario under
 * bench/results/, each starting with the machine it ran on, since numbers from another machine
 * (or another run) are not comparable — only ratios within one run are.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import type { LoadResult } from "./load.js";

/** The repository root. */
export const ROOT = resolve(import.meta.dirname, "..");
const RESULTS = join(ROOT, "bench/results");

/**
 * "Machine: 2 cores, AMD EPYC, Node v20.20.2; run 2025-01-01, load average 1.2 / 0.9." The load
 * averages (1 and 5 min, as the table is written) show when other work shared the cores.
 */
export function machineLine(): string {
  const model = cpus()[0]?.model.trim() ?? "unknown CPU";
  const day = new Date().toISOString().slice(0, 10);
  const [one = 0, five = 0] = loadavg();
  return `Machine: ${cpus().length} cores, ${model}, Node ${process.version}; run ${day}, load average ${one.toFixed(2)} (1 min) / ${five.toFixed(2)} (5 min) when written.`;
}

/** Writes `bench/results/<scenario>.md` (machine line, then `lines`) and prints it. */
export function writeResult(scenario: string, lines: readonly string[]): void {
  const text = [machineLine(), "", ...lines].join("\n");
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, `${scenario}.md`), `${text}\n`);
  process.stdout.write(`\n${text}\n`);
}

/** The current text of a results file, or undefined. */
export function readResult(scenario: string): string | undefined {
  try {
    return readFileSync(join(RESULTS, `${scenario}.md`), "utf8");
  } catch {
    return undefined;
  }
}

/** A markdown table. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const align = header.map((_, i) => (i === 0 ? "---" : "---:"));
  return [header, align, ...rows].map((cells) => `| ${cells.join(" | ")} |`);
}

/** A number with `digits` decimals ("—" for NaN). */
export function num(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "—";
}

/** A signed difference, "+0.31". */
export function delta(n: number, digits = 2): string {
  return Number.isFinite(n) ? `${n >= 0 ? "+" : ""}${n.toFixed(digits)}` : "—";
}

/** Requests per second, with the error count when there were errors. */
export function rate(r: LoadResult): string {
  return `${r.perSecond.toFixed(0)}${r.errors > 0 ? ` (${r.errors} errors: ${r.firstError ?? "?"})` : ""}`;
}

/** Seconds from an env var, else `fallback`. */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number`);
  return n;
}

/** A comma-separated list of positive numbers from an env var, else `fallback`. */
export function envNumbers(name: string, fallback: readonly number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return [...fallback];
  const list = raw.split(",").map(Number);
  if (list.some((n) => !Number.isFinite(n) || n <= 0)) {
    throw new Error(`${name} must be comma-separated positive numbers`);
  }
  return list;
}
