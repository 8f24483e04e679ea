/**
 * Hostile backends at full size: what a broken or malicious backend costs the gateway. One Triton
 * emulator in its own process (REST and gRPC) gives the hostile answers of
 * test/emulators/hostile.ts; the gateway runs in its own process with the default limits
 * (bodyLimitBytes 8 MiB, so a backend's maxResponseBytes is 32 MiB; maxOutputBytes 64 MiB) and a
 * 1 s deadline. Each case sends `parallel` requests at once and records the statuses, the slowest
 * answer's time and the gateway's RSS growth (peak of 20 ms samples over the idle RSS before it).
 * The test/abuse suite checks the same cases small; this measures them as reported.
 *
 * Env: BENCH_ABUSE_HUGE_MB (default 500), BENCH_ABUSE_OUTPUTS (default 1000000).
 */
import { it } from "vitest";
import type { HostileAnswer } from "../test/emulators/hostile.js";
import { deferCleanup } from "./cleanup.js";
import { startEmulatorProcess } from "./emulators-process.js";
import { type GatewayProcess, startGateway } from "./gateway.js";
import { envNumber, num, table, writeResult } from "./report.js";

const MiB = 1024 * 1024;
const HUGE_MB = envNumber("BENCH_ABUSE_HUGE_MB", 500);
const OUTPUTS = envNumber("BENCH_ABUSE_OUTPUTS", 1_000_000);
const BODY = JSON.stringify({ inputs: [[5.1, 3.5, 1.4, 0.2]] });

interface Case {
  name: string;
  /** Model version: "1" Triton REST, "2" Triton gRPC. */
  version: "1" | "2";
  hostile: HostileAnswer;
  parallel: number;
}

const CASES: Case[] = [
  { name: `${HUGE_MB} MB JSON, chunked`, version: "1", hostile: huge(false), parallel: 1 },
  {
    name: `${HUGE_MB} MB JSON, chunked, 4 at once`,
    version: "1",
    hostile: huge(false),
    parallel: 4,
  },
  { name: `${HUGE_MB} MB JSON, length announced`, version: "1", hostile: huge(true), parallel: 1 },
  { name: "64 MB message", version: "2", hostile: hugeGrpc(), parallel: 1 },
  { name: `${OUTPUTS} outputs`, version: "1", hostile: many(OUTPUTS), parallel: 1 },
  { name: `${OUTPUTS} outputs, 4 at once`, version: "1", hostile: many(OUTPUTS), parallel: 4 },
  {
    name: `${OUTPUTS} outputs (23 MB at 1 M: within the cap)`,
    version: "2",
    hostile: many(OUTPUTS),
    parallel: 1,
  },
  { name: "500 k outputs (within the cap)", version: "1", hostile: many(500_000), parallel: 1 },
  {
    name: "2 outputs, same name",
    version: "1",
    hostile: { kind: "manyOutputs", count: 2, duplicateNames: true },
    parallel: 1,
  },
  {
    name: "1 byte / 50 ms",
    version: "1",
    hostile: { kind: "slowDrip", intervalMs: 50 },
    parallel: 1,
  },
  { name: "HTML error page", version: "1", hostile: { kind: "htmlError" }, parallel: 1 },
];

function huge(announceLength: boolean): HostileAnswer {
  return { kind: "hugeBody", bytes: HUGE_MB * MiB, announceLength };
}

/**
 * gRPC messages are framed with their length: grpc-js refuses one past the cap unread. 64 MB, as
 * the emulator needs over a second to encode and send a 500 MB message (the call would end at the
 * deadline before the gateway saw a byte).
 */
function hugeGrpc(): HostileAnswer {
  return { kind: "hugeBody", bytes: 64 * MiB };
}

function many(count: number): HostileAnswer {
  return { kind: "manyOutputs", count };
}

interface Outcome {
  statuses: string;
  slowestMs: number;
  rssGrowthMb: number;
  message: string;
}

async function run(gateway: GatewayProcess, version: string, parallel: number): Promise<Outcome> {
  const idle = gateway.rssMb();
  let peak = idle;
  const sampler = setInterval(() => {
    peak = Math.max(peak, gateway.rssMb());
  }, 20);
  const started = performance.now();
  try {
    const answers = await Promise.all(
      Array.from({ length: parallel }, async () => {
        const res = await fetch(`${gateway.url}/v1/models/iris/versions/${version}/predict`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: BODY,
        });
        const text = await res.text();
        return { status: res.status, text, ms: performance.now() - started };
      }),
    );
    peak = Math.max(peak, gateway.rssMb());
    const counts = new Map<number, number>();
    for (const a of answers) counts.set(a.status, (counts.get(a.status) ?? 0) + 1);
    return {
      statuses: [...counts].map(([s, n]) => (n > 1 ? `${n} × ${s}` : String(s))).join(", "),
      slowestMs: Math.max(...answers.map((a) => a.ms)),
      rssGrowthMb: peak - idle,
      message: messageOf(answers[0]?.text ?? ""),
    };
  } finally {
    clearInterval(sampler);
  }
}

function messageOf(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: string } };
    return (body.error?.message ?? "").replaceAll("|", "/").slice(0, 90);
  } catch {
    return text.slice(0, 90);
  }
}

it("hostile backends at full size", async () => {
  const triton = await startEmulatorProcess({ kind: "triton" });
  deferCleanup(() => triton.stop());
  const gateway = await startGateway(`server: { host: 127.0.0.1, port: 0 }
backends:
  triton_rest: { type: triton, url: "${triton.restUrl}", protocol: rest }
  triton_grpc: { type: triton, grpc: "${triton.grpcAddress}" }
models:
  iris:
    timeoutMs: 1000
    retry: { attempts: 0 }
    versions:
      "1": { backend: triton_rest }
      "2": { backend: triton_grpc }
`);
  deferCleanup(() => gateway.stop());
  // Warm both paths, so the first case does not pay for connections and metadata.
  for (const version of ["1", "2"]) await run(gateway, version, 1);
  const rows: string[][] = [];
  for (const c of CASES) {
    await triton.setMode({ kind: "ok", hostile: c.hostile });
    const got = await run(gateway, c.version, c.parallel);
    await triton.setMode({ kind: "ok" });
    // Let the gateway return what it freed before the next case's idle sample.
    await new Promise((resolve) => setTimeout(resolve, 500));
    rows.push([
      c.name,
      c.version === "1" ? "REST" : "gRPC",
      got.statuses,
      num(got.slowestMs, 0),
      num(got.rssGrowthMb, 1),
      got.message,
    ]);
    console.log(rows.at(-1)?.join(" | "));
  }
  const after = await run(gateway, "1", 1);
  writeResult("abuse-backend", [
    "Hostile backends against a gateway process with default limits (maxResponseBytes 32 MiB,",
    "maxOutputBytes 64 MiB) and a 1 s deadline; one Triton emulator process. Time: slowest answer",
    "of the case; RSS: the gateway's peak growth over its idle RSS before the case.",
    "",
    ...table(["answer", "protocol", "status", "time ms", "RSS growth MiB", "message"], rows),
    "",
    `A normal request afterwards: ${after.statuses} in ${num(after.slowestMs, 0)} ms.`,
  ]);
});
