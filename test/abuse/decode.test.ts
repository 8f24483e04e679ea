/**
 * Decoding cost is bounded before the work, against a real gateway (default `server.limits`):
 * small compressed bodies that inflate to millions of brackets or strings get their 4xx at once,
 * without the memory a full parse would take, and a normal request sent alongside is answered
 * about as fast as on an idle gateway. Bounds have generous margins for a loaded CI box; the
 * figures are printed (full-size numbers: bench/abuse-decode.bench.ts).
 */
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localConfig, startTestGateway, type TestGateway } from "../e2e/harness.js";
import { IRIS_ROW, manyStrings, nestedBrackets, postTimed, type Timed } from "./bodies.js";

const MB = 1024 * 1024;
const IRIS = IRIS_ROW;
const post = postTimed;

describe("abuse: decoding is bounded before the work", () => {
  let gw: TestGateway;
  let idleMs = 0;
  beforeAll(async () => {
    gw = await startTestGateway(
      localConfig(`  echo_bytes:
    versions:
      "1": { backend: local, model: echo_bytes }
`),
    );
    // Warm up, then take the idle latency of a normal request as the median of a few.
    const times: number[] = [];
    for (let i = 0; i < 7; i++)
      times.push((await post(`${gw.url}/v1/models/iris/predict`, IRIS)).ms);
    idleMs = times.sort((a, b) => a - b)[3] ?? 0;
  });
  afterAll(async () => {
    await gw?.stop();
  });

  /** Sends `body` and, while it is decoded, a normal request; both timed. */
  async function withNeighbour(
    url: string,
    body: Buffer,
  ): Promise<{ abuse: Timed; normal: Timed }> {
    const compressed = gzipSync(body);
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const [abuse, normal] = await Promise.all([
      post(url, compressed, true),
      new Promise<Timed>((resolve, reject) => {
        setTimeout(() => post(`${gw.url}/v1/models/iris/predict`, IRIS).then(resolve, reject), 1);
      }),
    ]);
    const growthMb = (process.memoryUsage().rss - rssBefore) / MB;
    console.log(
      `${url.replace(gw.url, "")}: ${compressed.byteLength} B gzipped (${body.byteLength} B) -> ` +
        `${abuse.status} in ${abuse.ms.toFixed(1)} ms; RSS +${growthMb.toFixed(1)} MB; ` +
        `neighbour ${normal.ms.toFixed(1)} ms (idle ${idleMs.toFixed(1)} ms)`,
    );
    expect(growthMb).toBeLessThan(50);
    expect(normal.status).toBe(200);
    // A small multiple of idle, with a floor so a 1 ms idle figure does not make it flaky.
    expect(normal.ms).toBeLessThan(Math.max(10 * idleMs, 250));
    return { abuse, normal };
  }

  it("8 MiB of nested brackets (8 KB gzipped) on /v1 is a 400 at once", async () => {
    const { abuse } = await withNeighbour(
      `${gw.url}/v1/models/iris/predict`,
      nestedBrackets(8 * MB),
    );
    expect(abuse.status).toBe(400);
    expect(abuse.text).toMatch(/nested deeper than 64/);
    expect(abuse.ms).toBeLessThan(500);
  });

  it("the same brackets on the KServe v2 front are a 400 at once", async () => {
    const { abuse } = await withNeighbour(`${gw.url}/v2/models/iris/infer`, nestedBrackets(8 * MB));
    expect(abuse.status).toBe(400);
    expect(abuse.ms).toBeLessThan(500);
  });

  it("1 M one-character BYTES strings (4 KB gzipped) are a 413 at once", async () => {
    const { abuse } = await withNeighbour(
      `${gw.url}/v1/models/echo_bytes/predict`,
      manyStrings(1 << 20),
    );
    expect(abuse.status).toBe(413);
    expect(abuse.text).toMatch(/PAYLOAD_TOO_LARGE.*maxBytesElements/);
    expect(abuse.ms).toBeLessThan(500);
  });

  it("a declared shape over the element limit is refused before any array is built", async () => {
    const v1 = await post(
      `${gw.url}/v1/models/iris/predict`,
      '{"inputs":{"datatype":"FP32","shape":[100000000,4],"data":[]}}',
    );
    expect(v1.status).toBe(413);
    expect(v1.text).toMatch(/maxElements/);
    const v2 = await post(
      `${gw.url}/v2/models/iris/infer`,
      '{"inputs":[{"name":"input","datatype":"FP32","shape":[100000000,4],"data":[]}]}',
    );
    expect(v2.status).toBe(413);
    expect(v2.text).toMatch(/maxElements/);
  });

  it("an 87-byte body claiming a million empty rows is a 400, not a 3 MB answer", async () => {
    const res = await post(
      `${gw.url}/v2/models/iris/infer`,
      '{"inputs":[{"name":"input","datatype":"FP32","shape":[1048576,0],"data":[]}]}',
    );
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/empty rows/);
    expect(res.text.length).toBeLessThan(1000);
  });

  it("a valid request under the limits still works", async () => {
    const res = await post(`${gw.url}/v1/models/iris/predict`, IRIS);
    expect(res.status).toBe(200);
  });
});
