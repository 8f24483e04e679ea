/**
 * Checks a call's tensors against a model version's inputs and outputs and turns them into
 * onnxruntime feeds and fetches. The adapter runs these checks on the main thread before a call is
 * run or sent to a worker, so a bad request is always the same InvalidRequestError.
 */
import type * as ort from "onnxruntime-node";
import { InvalidRequestError } from "../../errors.js";
import type { NamedTensor, TensorSpec } from "../../tensor/types.js";
import { checkOrtInput, toOrtTensor } from "./codec.js";

/**
 * The call's inputs as ORT feeds, checked against the model: onnxruntime silently ignores feeds it
 * does not know, and its datatype and shape errors are clearer when named here.
 */
export function buildFeeds(
  specs: readonly TensorSpec[],
  inputs: readonly NamedTensor[],
  where: string,
): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  forEachInput(specs, inputs, where, (input, what) => {
    feeds[input.name] = toOrtTensor(input, what);
  });
  return feeds;
}

/**
 * The same checks as buildFeeds, with the same errors, without building the feeds: for a call a
 * worker thread will convert itself.
 */
export function checkFeeds(
  specs: readonly TensorSpec[],
  inputs: readonly NamedTensor[],
  where: string,
): void {
  forEachInput(specs, inputs, where, checkOrtInput);
}

/** Checks each input against the model's specs and hands it on; then that none is missing. */
function forEachInput(
  specs: readonly TensorSpec[],
  inputs: readonly NamedTensor[],
  where: string,
  use: (input: NamedTensor, what: string) => void,
): void {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const seen = new Set<string>();
  for (const input of inputs) {
    const spec = byName.get(input.name);
    if (spec === undefined) {
      const expected = specs.map((s) => `"${s.name}"`).join(", ");
      throw new InvalidRequestError(`${where} has no input "${input.name}" (inputs: ${expected})`);
    }
    if (seen.has(input.name)) {
      throw new InvalidRequestError(`${where}: input "${input.name}" given more than once`);
    }
    seen.add(input.name);
    checkAgainstSpec(input, spec, where);
    use(input, `${where} input "${input.name}"`);
  }
  const missing = specs.filter((s) => !seen.has(s.name)).map((s) => `"${s.name}"`);
  if (missing.length > 0) {
    throw new InvalidRequestError(`${where}: missing input ${missing.join(", ")}`);
  }
}

function checkAgainstSpec(input: NamedTensor, spec: TensorSpec, where: string): void {
  const what = `${where} input "${input.name}"`;
  if (input.datatype !== spec.datatype) {
    throw new InvalidRequestError(
      `${what}: datatype ${input.datatype}, the model expects ${spec.datatype}`,
    );
  }
  // An empty reported shape may mean "unknown"; onnxruntime then checks the rank itself.
  if (spec.shape.length === 0) return;
  const fits =
    input.shape.length === spec.shape.length &&
    spec.shape.every((dim, i) => dim === -1 || dim === input.shape[i]);
  if (!fits) {
    throw new InvalidRequestError(
      `${what}: shape [${input.shape}] does not match the model's [${spec.shape}] (-1 = any size)`,
    );
  }
}

/** The outputs to fetch: the requested ones (deduplicated, checked), or all when none are named. */
export function outputNames(
  specs: readonly TensorSpec[],
  requested: readonly string[] | undefined,
  where: string,
): string[] {
  const all = specs.map((s) => s.name);
  if (requested === undefined || requested.length === 0) return all;
  const unknown = requested.filter((name) => !all.includes(name));
  if (unknown.length > 0) {
    const list = all.map((n) => `"${n}"`).join(", ");
    throw new InvalidRequestError(`${where} has no output "${unknown[0]}" (outputs: ${list})`);
  }
  return [...new Set(requested)];
}
