/**
 * Inputs and reference answers for the batch tests: MLP records (input [-1,256] FP32) written as
 * JSONL with a few bad lines at known places, and the logits onnxruntime-node computes for them
 * directly, without the gateway.
 */
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { resolve } from "node:path";
import * as ort from "onnxruntime-node";

export const MLP_PATH = resolve(import.meta.dirname, "../../models/mlp/1/model.onnx");
const WIDTH = 256;

/** Deterministic features of record i (exact in FP32: multiples of 1/1024). */
export function features(i: number): number[] {
  return Array.from({ length: WIDTH }, (_, k) => (((i * 31 + k * 7) % 2048) - 1024) / 1024);
}

/** Bad lines by 1-based line number: malformed JSON, a wrong shape, an unknown input. */
export const BAD_LINES: ReadonlyMap<number, string> = new Map([
  [7, "{not json"],
  [1500, `{"id":"bad-shape","inputs":[[1,2,3]]}`],
  [2999, `{"id":"bad-name","inputs":{"nope":[[1]]}}`],
]);

/** Writes `count` lines (records "r<line>", bad lines at BAD_LINES) to `path`. */
export async function writeMlpJsonl(path: string, count: number, inputName: string): Promise<void> {
  const out = createWriteStream(path);
  let buffer = "";
  for (let line = 1; line <= count; line++) {
    const bad = BAD_LINES.get(line);
    buffer += bad ?? JSON.stringify({ id: `r${line}`, inputs: { [inputName]: [features(line)] } });
    buffer += "\n";
    if (buffer.length > 1 << 20 || line === count) {
      if (!out.write(buffer)) await once(out, "drain");
      buffer = "";
    }
  }
  out.end();
  await once(out, "finish");
}

/** The MLP's input name and direct logits of the given lines' features. */
export async function referenceLogits(
  lines: readonly number[],
): Promise<{ input: string; logits: Float32Array[] }> {
  const session = await ort.InferenceSession.create(MLP_PATH);
  const input = session.inputNames[0] as string;
  const output = session.outputNames[0] as string;
  const data = new Float32Array(lines.length * WIDTH);
  lines.forEach((line, r) => {
    data.set(features(line), r * WIDTH);
  });
  const result = await session.run({
    [input]: new ort.Tensor("float32", data, [lines.length, WIDTH]),
  });
  const flat = result[output]?.data as Float32Array;
  const width = flat.length / lines.length;
  await session.release();
  return { input, logits: lines.map((_, r) => flat.slice(r * width, (r + 1) * width)) };
}
