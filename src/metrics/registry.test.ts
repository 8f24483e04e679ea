import { describe, expect, it } from "vitest";
import { createMetrics } from "./registry.js";

/** Metric names (the `# TYPE name kind` lines) of a registry's exposition text. */
async function metricNames(): Promise<string[]> {
  const text = await createMetrics().registry.metrics();
  return text
    .split("\n")
    .filter((line) => line.startsWith("# TYPE "))
    .map((line) => line.split(" ")[2] ?? "");
}

describe("createMetrics", () => {
  it("prefixes every metric infergate_ once, process metrics included", async () => {
    const names = await metricNames();
    expect(names).toContain("infergate_process_cpu_seconds_total");
    expect(names).toContain("infergate_process_resident_memory_bytes");
    expect(names).toContain("infergate_nodejs_eventloop_lag_seconds");
    expect(names).toContain("infergate_requests_total");
    expect(names.filter((n) => !n.startsWith("infergate_"))).toEqual([]);
    expect(
      names.filter(
        (n) => n.includes("process_process") || n.startsWith("infergate_process_nodejs"),
      ),
    ).toEqual([]);
  });
});
