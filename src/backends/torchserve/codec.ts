/**
 * The JSON convention for TorchServe handlers (docs/backends.md): the request body is the input
 * tensor as a nested array when the model has one input, else an object of input name -> nested
 * array; the answer is a nested array (the single output) or an object of output name -> nested
 * array.
 * TorchServe publishes no metadata, so datatypes and shapes come from the target's declared
 * tensors; a handler answer that does not fit them is the backend's fault (BACKEND_ERROR).
 */
import { BackendError, GatewayError, InvalidRequestError } from "../../errors.js";
import { formatShape, tensorFromNested } from "../../tensor/index.js";
import { JsonSyntaxError, nestedJsonText, parseJsonExact } from "../../tensor/json-text.js";
import type { NamedTensor, Tensor, TensorSpec } from "../../tensor/types.js";

/** Name of a bare-array answer when the target does not declare exactly one output. */
export const DEFAULT_OUTPUT_NAME = "output";

/**
 * The request body for `inputs`. With declared inputs, every declared input must be given and
 * nothing else; one declared input (or, undeclared, one given input) travels as a bare array.
 */
export function encodeInputs(
  inputs: readonly NamedTensor[],
  declared: readonly TensorSpec[] | undefined,
): string {
  let ordered: readonly NamedTensor[] = inputs;
  if (declared !== undefined) {
    const byName = new Map(inputs.map((t) => [t.name, t]));
    for (const t of inputs) {
      if (!declared.some((d) => d.name === t.name)) {
        throw new InvalidRequestError(`unknown input "${t.name}"`);
      }
    }
    ordered = declared.map((d) => {
      const t = byName.get(d.name);
      if (t === undefined) throw new InvalidRequestError(`missing input "${d.name}"`);
      return t;
    });
  }
  if (ordered.length === 0) throw new InvalidRequestError("no inputs given");
  const [only] = ordered;
  if (ordered.length === 1 && only !== undefined) return nestedJsonText(only);
  return `{${ordered.map((t) => `${JSON.stringify(t.name)}:${nestedJsonText(t)}`).join(",")}}`;
}

/**
 * The handler's answer as named tensors: converted to the declared datatypes and checked against
 * the declared shapes (-1 matches any size), limited to `requested` (in that order) when given.
 */
export function decodeOutputs(
  backend: string,
  text: string,
  declared: readonly TensorSpec[] | undefined,
  requested: readonly string[] | undefined,
): NamedTensor[] {
  let parsed: ReturnType<typeof parseJsonExact>;
  try {
    parsed = parseJsonExact(text);
  } catch (err) {
    if (err instanceof JsonSyntaxError) {
      throw new BackendError(`backend "${backend}" answered invalid JSON: ${err.message}`);
    }
    throw err;
  }
  const answer = answerEntries(backend, parsed.value, declared);
  const wanted = requested ?? declared?.map((d) => d.name) ?? [...answer.keys()];
  return wanted.map((name) => {
    const value = answer.get(name);
    const spec = declared?.find((d) => d.name === name);
    if (value === undefined) {
      if (declared !== undefined && spec === undefined) {
        throw new InvalidRequestError(`unknown output "${name}"`);
      }
      throw new BackendError(`backend "${backend}" answered without output "${name}"`);
    }
    const normalised = parsed.hasBigInt ? exactIntegers(value, spec) : value;
    return { name, ...toTensor(backend, name, normalised, spec) };
  });
}

/** The answer as output name -> JSON value. */
function answerEntries(
  backend: string,
  value: unknown,
  declared: readonly TensorSpec[] | undefined,
): Map<string, unknown> {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    return new Map(Object.entries(value));
  }
  if (value === null) throw new BackendError(`backend "${backend}" answered null`);
  if (declared !== undefined && declared.length > 1) {
    throw new BackendError(
      `backend "${backend}" answered a single tensor, but the target declares ${declared.length} outputs`,
    );
  }
  return new Map([[declared?.[0]?.name ?? DEFAULT_OUTPUT_NAME, value]]);
}

function toTensor(
  backend: string,
  name: string,
  value: unknown,
  spec: TensorSpec | undefined,
): Tensor {
  let tensor: Tensor;
  try {
    tensor = tensorFromNested(value, spec?.datatype);
  } catch (err) {
    // The tensor module blames the client for bad JSON values; here the values are the backend's.
    if (err instanceof GatewayError) {
      throw new BackendError(`backend "${backend}" answered an invalid "${name}": ${err.message}`);
    }
    throw err;
  }
  if (spec !== undefined && !shapeFits(tensor.shape, spec.shape)) {
    throw new BackendError(
      `backend "${backend}" answered "${name}" with shape ${formatShape(tensor.shape)}, ` +
        `but the target declares ${formatShape(spec.shape)}`,
    );
  }
  return tensor;
}

function shapeFits(shape: readonly number[], declared: readonly number[]): boolean {
  return shape.length === declared.length && declared.every((d, i) => d === -1 || d === shape[i]);
}

/**
 * Bigints from the exact parser as what the tensor module reads: decimal strings for the 64-bit
 * integer types (exact), numbers otherwise. Nested arrays (fresh from the parser) are rewritten
 * in place.
 */
function exactIntegers(value: unknown, spec: TensorSpec | undefined): unknown {
  const exact = spec?.datatype === "INT64" || spec?.datatype === "UINT64";
  const convert = (v: bigint): string | number => (exact ? v.toString() : Number(v));
  if (typeof value === "bigint") return convert(value);
  if (!Array.isArray(value)) return value;
  // The parsed document is a finite tree, so each array is visited exactly once.
  const stack: unknown[][] = [value];
  while (stack.length > 0) {
    const row = stack.pop() ?? [];
    for (let i = 0; i < row.length; i++) {
      const v = row[i];
      if (typeof v === "bigint") row[i] = convert(v);
      else if (Array.isArray(v)) stack.push(v);
    }
  }
  return value;
}
