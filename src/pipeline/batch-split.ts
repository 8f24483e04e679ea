/**
 * The batcher's data movement: members' inputs concatenated along dimension 0 into one call, and
 * the backend's answer split back into one answer per member by each member's rows.
 */
import type { BackendResult } from "../backends/types.js";
import { BackendError, InternalError } from "../errors.js";
import { concatDim0, formatShape, splitDim0 } from "../tensor/index.js";
import type { NamedTensor } from "../tensor/types.js";

/**
 * Concatenates the members' inputs, given per member in one shared name order (same signature),
 * into the batch's inputs, member order kept.
 */
export function concatInputs(memberInputs: readonly (readonly NamedTensor[])[]): NamedTensor[] {
  const first = memberInputs[0];
  if (first === undefined) return [];
  return first.map((input, i) => {
    const parts = memberInputs.map((inputs) => {
      const part = inputs[i];
      // Members share a signature, so this is a batcher bug, never client input.
      if (part === undefined) throw new InternalError(new Error("batch members' inputs differ"));
      return part;
    });
    return { name: input.name, ...concatDim0(parts) };
  });
}

/**
 * Splits a batch answer into one answer per member, `rows[m]` rows for member m. Throws
 * BackendError when an output does not have dimension 0 equal to the batch's total rows: then the
 * rows cannot be attributed to their owners, and guessing would hand one client another's answer.
 */
export function splitResult(
  backend: string,
  result: BackendResult,
  rows: readonly number[],
): BackendResult[] {
  let total = 0;
  for (const r of rows) total += r;
  for (const output of result.outputs) {
    if (output.shape.length === 0 || output.shape[0] !== total) {
      throw new BackendError(
        `backend "${backend}" answered a batch of ${total} rows with output "${output.name}" of ` +
          `shape ${formatShape(output.shape)}; its dimension 0 must be ${total} to split it back`,
      );
    }
  }
  const answers: BackendResult[] = rows.map(() => ({
    outputs: [],
    ...(result.modelVersion === undefined ? {} : { modelVersion: result.modelVersion }),
  }));
  for (const output of result.outputs) {
    const parts = splitDim0(output, rows);
    parts.forEach((part, m) => {
      answers[m]?.outputs.push({ name: output.name, ...part });
    });
  }
  return answers;
}
