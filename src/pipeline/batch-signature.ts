/**
 * Which requests the dynamic batcher may put in one backend call: those with the same SIGNATURE —
 * target, input names, datatypes and dimensions after the first, and requested output names — and
 * one dimension-0 size shared by all their inputs. Everything else passes through unbatched.
 */
import type { BackendCall, TargetRef } from "../backends/types.js";
import type { NamedTensor } from "../tensor/types.js";

/** A batchable request's facts: its batch key, its rows and its inputs in the batch's name order. */
export interface BatchShape {
  /** Equal keys = concatenable along dimension 0 into one call with the same requested outputs. */
  key: string;
  /** Dimension 0 of every input. */
  rows: number;
  /** The inputs sorted by name, so concatenation pairs tensors by name, not by position. */
  inputs: NamedTensor[];
}

const byName = (a: NamedTensor, b: NamedTensor): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/**
 * The batch shape of a call, or undefined when it cannot be batched: no inputs, a rank-0 input,
 * inputs disagreeing on dimension 0, zero rows (nothing to concatenate), or a repeated input name
 * (the backend, not the batcher, should say what is wrong with it).
 */
export function batchShape(target: TargetRef, call: BackendCall): BatchShape | undefined {
  // Parameters (e.g. a sequence's) belong to one request: they cannot be merged into a batch.
  if (call.parameters !== undefined || call.tensorParameters !== undefined) return undefined;
  const first = call.inputs[0];
  const rows = first?.shape[0];
  if (rows === undefined || rows < 1) return undefined;
  for (const input of call.inputs) {
    if (input.shape.length === 0 || input.shape[0] !== rows) return undefined;
  }
  const inputs = isSortedUnique(call.inputs) ? call.inputs : [...call.inputs].sort(byName);
  if (!isSortedUnique(inputs)) return undefined;
  // JSON keeps the key unambiguous whatever characters the names hold.
  const key = JSON.stringify([
    target.backend,
    target.model,
    target.version ?? null,
    target.signature ?? null,
    call.outputs ?? null,
    inputs.map((t) => [t.name, t.datatype, t.shape.slice(1)]),
  ]);
  return { key, rows, inputs };
}

function isSortedUnique(inputs: readonly NamedTensor[]): boolean {
  for (let i = 1; i < inputs.length; i++) {
    const prev = inputs[i - 1];
    const cur = inputs[i];
    if (prev === undefined || cur === undefined || byName(prev, cur) >= 0) return false;
  }
  return true;
}
