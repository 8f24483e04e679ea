/**
 * Scenario (d), gateway memory: the scenarios that load a gateway process record its RSS idle,
 * at the peak during load and after it, into one table, bench/results/memory.md. Each scenario
 * replaces only its own rows, so running one scenario alone keeps the others' last numbers.
 */
import { num, readResult, table, writeResult } from "./report.js";

/** One measured phase of a gateway process. */
export interface MemoryRow {
  /** What the gateway was doing, e.g. "idle, after start" or "peak during 1000 rps". */
  phase: string;
  rssMb: number;
}

const HEADER = ["scenario", "gateway config", "phase", "RSS MiB"] as const;

/** Replaces `scenario`'s rows of bench/results/memory.md with `rows`. */
export function recordMemory(scenario: string, gateway: string, rows: readonly MemoryRow[]): void {
  const kept = existingRows().filter((cells) => cells[0] !== scenario);
  const mine = rows.map((r) => [scenario, gateway, r.phase, num(r.rssMb, 1)]);
  writeResult("memory", [
    "Resident set size of the gateway process (`/proc/<pid>/status` VmRSS, sampled every 100 ms;",
    "peak = highest sample during the load). Each scenario starts its own gateway process.",
    "",
    ...table(HEADER, [...kept, ...mine]),
  ]);
}

function existingRows(): string[][] {
  const text = readResult("memory");
  if (text === undefined) return [];
  return text
    .split("\n")
    .filter((line) => line.startsWith("| ") && !line.startsWith("| ---"))
    .map((line) =>
      line
        .slice(2, -2)
        .split(" | ")
        .map((c) => c.trim()),
    )
    .filter((cells) => cells.length === HEADER.length && cells[0] !== HEADER[0]);
}
