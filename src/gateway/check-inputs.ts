/**
 * Checks a request's tensors against the model's published schema before any backend sees them,
 * so every front and backend reports bad input the same way (INVALID_REQUEST naming the tensor).
 */
import type { ModelMetadata } from "../backends/types.js";
import { InvalidRequestError } from "../errors.js";
import type { NamedTensor, TensorSpec } from "../tensor/types.js";

/** A metadata object's input specs and output names by name, built once per metadata object. */
const lookups = new WeakMap<
  ModelMetadata,
  { inputs: Map<string, TensorSpec>; outputs: Set<string> }
>();

function lookupsOf(metadata: ModelMetadata): {
  inputs: Map<string, TensorSpec>;
  outputs: Set<string>;
} {
  // The service publishes one metadata object per version and snapshot: build its maps once.
  let found = lookups.get(metadata);
  if (found === undefined) {
    found = {
      inputs: new Map(metadata.inputs.map((s) => [s.name, s])),
      outputs: new Set(metadata.outputs.map((s) => s.name)),
    };
    lookups.set(metadata, found);
  }
  return found;
}

/** Throws InvalidRequestError unless inputs and requested outputs fit the metadata. */
export function checkRequest(
  metadata: ModelMetadata,
  inputs: readonly NamedTensor[],
  outputs: readonly string[] | undefined,
): void {
  const { inputs: specs, outputs: known } = lookupsOf(metadata);
  const seen = new Set<string>();
  for (const input of inputs) {
    const spec = specs.get(input.name);
    if (spec === undefined) {
      throw new InvalidRequestError(
        `unknown input "${input.name}" for model "${metadata.name}"; expected ${names(metadata.inputs)}`,
      );
    }
    if (seen.has(input.name)) throw new InvalidRequestError(`input "${input.name}" given twice`);
    seen.add(input.name);
    checkTensor(spec, input);
  }
  for (const spec of metadata.inputs) {
    if (!seen.has(spec.name)) throw new InvalidRequestError(`missing input "${spec.name}"`);
  }
  if (outputs !== undefined) {
    for (const name of outputs) {
      if (!known.has(name)) {
        throw new InvalidRequestError(
          `unknown output "${name}" for model "${metadata.name}"; expected ${names(metadata.outputs)}`,
        );
      }
    }
  }
}

function checkTensor(spec: TensorSpec, tensor: NamedTensor): void {
  if (tensor.datatype !== spec.datatype) {
    throw new InvalidRequestError(
      `input "${spec.name}": expected datatype ${spec.datatype}, got ${tensor.datatype}`,
    );
  }
  const fits =
    tensor.shape.length === spec.shape.length &&
    spec.shape.every((dim, i) => dim === -1 || dim === tensor.shape[i]);
  if (!fits) {
    throw new InvalidRequestError(
      `input "${spec.name}": expected shape [${spec.shape.join(",")}], got [${tensor.shape.join(",")}]`,
    );
  }
}

function names(specs: readonly TensorSpec[]): string {
  return specs.map((s) => `"${s.name}"`).join(", ");
}
