/**
 * Scenario, decoding abuse: the bodies that used to stall the gateway, at full size against a
 * gateway process with the default `server.limits` and `bodyLimitBytes` (8 MiB): 8 MiB of nested
 * brackets and 1 M one-character BYTES strings (both gzipped, 8 KB / 4 KB on the wire), 838 k
 * valid iris rows (8 MiB, a 59 MB answer), an 87-byte body claiming [1048576, 0], and a declared
 * shape of 400 M elements. For each: the answer's status, time and size, the gateway's RSS growth
 * (peak sample during the request minus before), and the worst latency of a normal one-row iris
 * request sent every 5 ms while the body is decoded (against its idle median).
 *
 * Env: BENCH_ABUSE_ROUNDS (default 3; the table shows the median round).
 */
import { gzipSync } from "node:zlib";
import { it } from "vitest";
import { IRIS_ROW, manyStrings, nestedBrackets, postTimed } from "../test/abuse/bodies.js";
import { MODELS_DIR } from "../test/emulators/runner.js";
import { deferCleanup } from "./cleanup.js";
import { RssSampler, startGateway } from "./gateway.js";
import { envNumber, num, table, writeResult } from "./report.js";

const ROUNDS = envNumber("BENCH_ABUSE_ROUNDS", 3);
const MIB = 1024 * 1024;
const IRIS = IRIS_ROW;

interface Case {
  name: string;
  path: string;
  body: Buffer;
  gzip: boolean;
}

function cases(): Case[] {
  const brackets = nestedBrackets(8 * MIB);
  const strings = manyStrings(1 << 20);
  const rows = Math.floor((8 * MIB - 64) / 10);
  const iris = Buffer.from(`{"inputs":[${"[1,2,3,4],".repeat(rows - 1)}[1,2,3,4]]}`);
  return [
    {
      name: "8 MiB nested brackets, gzip",
      path: "/v1/models/iris/predict",
      body: brackets,
      gzip: true,
    },
    {
      name: "1 M one-char BYTES, gzip",
      path: "/v1/models/echo_bytes/predict",
      body: strings,
      gzip: true,
    },
    { name: `${rows} iris rows (valid)`, path: "/v1/models/iris/predict", body: iris, gzip: false },
    {
      name: "shape [1048576, 0], 87 B",
      path: "/v2/models/iris/infer",
      body: Buffer.from(
        '{"inputs":[{"name":"input","datatype":"FP32","shape":[1048576,0],"data":[]}]}',
      ),
      gzip: false,
    },
    {
      name: "declared shape [1e8, 4]",
      path: "/v2/models/iris/infer",
      body: Buffer.from(
        '{"inputs":[{"name":"input","datatype":"FP32","shape":[100000000,4],"data":[]}]}',
      ),
      gzip: false,
    },
  ];
}

async function timedPost(
  url: string,
  body: Uint8Array | string,
  gzip: boolean,
): Promise<{ status: number; ms: number; bytes: number }> {
  const answer = await postTimed(url, body, gzip);
  return { status: answer.status, ms: answer.ms, bytes: Buffer.byteLength(answer.text) };
}

interface Reading {
  status: number;
  ms: number;
  answerBytes: number;
  rssGrowthMb: number;
  neighbourWorstMs: number;
}

function median<T>(values: readonly T[], key: (v: T) => number): T {
  const sorted = [...values].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor(sorted.length / 2)] as T;
}

it("abuse-decode: bodies that used to stall the gateway, at full size", {
  timeout: 10 * 60_000,
}, async () => {
  const gw = await startGateway(`server:
  host: 127.0.0.1
  port: 0
backends:
  local: { type: onnx, modelDir: ${MODELS_DIR} }
models:
  iris: { versions: { "1": { backend: local, model: iris } } }
  echo_bytes: { versions: { "1": { backend: local, model: echo_bytes } } }
`);
  deferCleanup(() => gw.stop());
  const irisUrl = `${gw.url}/v1/models/iris/predict`;
  const idle: number[] = [];
  for (let i = 0; i < 50; i++) idle.push((await timedPost(irisUrl, IRIS, false)).ms);
  const idleMs = median(idle, (x) => x);

  const rows: string[][] = [];
  for (const c of cases()) {
    const wire = c.gzip ? gzipSync(c.body) : c.body;
    const readings: Reading[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await new Promise((r) => setTimeout(r, 300)); // let the previous round's garbage go
      const before = gw.rssMb();
      const sampler = new RssSampler(gw.pid, 10);
      let done = false;
      const neighbours: number[] = [];
      const probe = (async () => {
        while (!done) {
          neighbours.push((await timedPost(irisUrl, IRIS, false)).ms);
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      const answer = await timedPost(`${gw.url}${c.path}`, wire, c.gzip);
      done = true;
      await probe;
      const { peakMb } = sampler.stop();
      readings.push({
        status: answer.status,
        ms: answer.ms,
        answerBytes: answer.bytes,
        rssGrowthMb: peakMb - before,
        neighbourWorstMs: Math.max(...neighbours),
      });
    }
    const m = median(readings, (r) => r.ms);
    rows.push([
      c.name,
      String(wire.byteLength),
      String(m.status),
      num(m.ms, 1),
      String(m.answerBytes),
      num(m.rssGrowthMb, 1),
      num(m.neighbourWorstMs, 1),
    ]);
  }
  writeResult("abuse-decode", [
    `Default server.limits, bodyLimitBytes 8 MiB, onnx backend in the gateway process; median of ${ROUNDS} rounds.`,
    `Neighbour: a one-row iris /v1 request every 5 ms while the body is handled; idle median ${num(idleMs, 2)} ms.`,
    "RSS growth: highest 10 ms sample during the request minus RSS before it.",
    "",
    ...table(
      [
        "body",
        "wire bytes",
        "status",
        "answer ms",
        "answer bytes",
        "RSS growth MiB",
        "neighbour worst ms",
      ],
      rows,
    ),
  ]);
});
