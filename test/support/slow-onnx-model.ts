/**
 * Test helper: a model repository with a deliberately slow model, written the way
 * scripts/make-models.mjs writes the shipped ones (ModelProto encoded with protobufjs from
 * scripts/onnx.proto). `slow` is x [-1, 256] FP32 -> y = x·W·W·…·W (256 MatMuls by the same
 * 256×256 W, all 1/256, so y = x's row means), about 33 MFLOP per row: thousands of rows keep a
 * worker busy for a long stretch without a large input. Lives in test/ because it needs protobufjs,
 * a devDependency.
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import protobuf from "protobufjs";

/** The slow model's width (its input is [-1, SLOW_WIDTH]). */
export const SLOW_WIDTH = 256;
const DEPTH = 256;
const FLOAT = 1;

const SCRIPTS = join(import.meta.dirname, "..", "..", "scripts");
const MODELS = join(import.meta.dirname, "..", "..", "models");

function slowModel(): Uint8Array {
  const ModelProto = protobuf.loadSync(join(SCRIPTS, "onnx.proto")).lookupType("onnx.ModelProto");
  const w = new Float32Array(SLOW_WIDTH * SLOW_WIDTH).fill(1 / SLOW_WIDTH);
  const nodes = Array.from({ length: DEPTH }, (_, i) => {
    const output = i === DEPTH - 1 ? "y" : `h${i}`;
    return {
      opType: "MatMul",
      input: [i === 0 ? "x" : `h${i - 1}`, "w"],
      output: [output],
      name: output,
    };
  });
  const shape = { dim: [{ dimParam: "batch" }, { dimValue: SLOW_WIDTH }] };
  const message = {
    irVersion: 8,
    opsetImport: [{ domain: "", version: 13 }],
    producerName: "infergate/test-slow-model",
    graph: {
      name: "slow",
      node: nodes,
      initializer: [
        {
          name: "w",
          dims: [SLOW_WIDTH, SLOW_WIDTH],
          dataType: FLOAT,
          rawData: new Uint8Array(w.buffer),
        },
      ],
      input: [{ name: "x", type: { tensorType: { elemType: FLOAT, shape } } }],
      output: [{ name: "y", type: { tensorType: { elemType: FLOAT, shape } } }],
    },
  };
  const problem = ModelProto.verify(message);
  if (problem) throw new Error(`ModelProto: ${problem}`);
  return ModelProto.encode(ModelProto.fromObject(message)).finish();
}

/** Writes `<dir>/slow/1/model.onnx` and a copy of the shipped iris as `<dir>/iris/1/model.onnx`. */
export function writeSlowRepository(dir: string): void {
  mkdirSync(join(dir, "slow", "1"), { recursive: true });
  writeFileSync(join(dir, "slow", "1", "model.onnx"), slowModel());
  mkdirSync(join(dir, "iris", "1"), { recursive: true });
  copyFileSync(join(MODELS, "iris", "1", "model.onnx"), join(dir, "iris", "1", "model.onnx"));
}
