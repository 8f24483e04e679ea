/**
 * CPU profiles of the gateway process (`BENCH_CPU_PROF=1`): the scenario runs the gateway under
 * `node --cpu-prof` and this module sums the V8 profile's samples into self time per function and
 * per package, the evidence for where a missed target's time goes.
 */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { num, table } from "./report.js";

/** A directory for `--cpu-prof-dir` when `BENCH_CPU_PROF` is set, else undefined. */
export function cpuProfDir(): string | undefined {
  const flag = process.env.BENCH_CPU_PROF;
  if (flag === undefined || flag === "" || flag === "0") return undefined;
  return mkdtempSync(join(tmpdir(), "infergate-cpuprof-"));
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time per key, in ms. */
type Totals = Map<string, number>;

/**
 * Markdown: the top `limit` functions by self time and the split by package, from every
 * .cpuprofile in `dir` (one per gateway process).
 */
export function summarizeProfiles(dir: string, limit = 25): string[] {
  const byFunction: Totals = new Map();
  const byPackage: Totals = new Map();
  let total = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"))) {
    const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile;
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    for (let i = 0; i < profile.samples.length; i++) {
      const node = nodes.get(profile.samples[i] ?? -1);
      const ms = (profile.timeDeltas[i] ?? 0) / 1000;
      if (node === undefined) continue;
      total += ms;
      const { functionName, url, lineNumber } = node.callFrame;
      const name = `${functionName || "(anonymous)"} ${shortUrl(url)}${url ? `:${lineNumber + 1}` : ""}`;
      add(byFunction, name, ms);
      add(byPackage, packageOf(url, functionName), ms);
    }
  }
  if (total === 0) return ["(no .cpuprofile found)"];
  const rows = (totals: Totals, n: number) =>
    [...totals]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([key, ms]) => [`\`${key}\``, num(ms, 0), num((100 * ms) / total, 1)]);
  return [
    `Gateway CPU profile (\`node --cpu-prof\`), ${num(total / 1000, 1)} s of samples, idle included.`,
    "",
    "Self time by package:",
    "",
    ...table(["package", "self ms", "%"], rows(byPackage, 15)),
    "",
    `Top ${limit} functions by self time:`,
    "",
    ...table(["function", "self ms", "%"], rows(byFunction, limit)),
  ];
}

function add(totals: Totals, key: string, ms: number): void {
  totals.set(key, (totals.get(key) ?? 0) + ms);
}

/** `node_modules/<pkg>` (scoped too), `node:*` internals, the gateway's dist/, or V8's buckets. */
function packageOf(url: string, functionName: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules?.[1] !== undefined) return modules[1];
  if (url.startsWith("node:")) return "node (internals)";
  if (url.includes("/dist/")) return "infergate (dist/)";
  return shortUrl(url);
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf("node_modules/");
  if (modules >= 0) return url.slice(modules + "node_modules/".length);
  const dist = url.indexOf("/dist/");
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, "");
}
