/**
 * JSON text of large tensors without holding the event loop: a tensor of more than
 * CHUNK_ELEMENTS elements is converted in slices along its first dimension (flat data in slices
 * of elements), with a turn of the event loop between slices, so other requests are served while
 * a 40 MB answer is written. Small tensors (almost all) take one synchronous pass.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import { needsExactJson, tensorToFlatJson } from "./json-out.js";
import { nestedJsonText, stringifyExact } from "./json-text.js";
import type { Tensor, TensorData } from "./types.js";

/** Elements converted per turn of the event loop (a few milliseconds of work). */
export const CHUNK_ELEMENTS = 1 << 16;

/** A tensor's data as flat JSON array text (KServe v2 `data`), exact as stringifyExact writes. */
export function flatJsonText(tensor: Tensor): string {
  const flat = tensorToFlatJson(tensor);
  return needsExactJson(tensor) ? stringifyExact(flat) : JSON.stringify(flat);
}

function slice(data: TensorData, start: number, end: number): TensorData {
  // Typed arrays give views (no copy); BYTES is a plain array of views.
  return Array.isArray(data) ? data.slice(start, end) : data.subarray(start, end);
}

/**
 * The JSON text of a tensor: nested arrays of its shape (`nested`, the unified API) or its flat
 * data (KServe v2). Equal to nestedJsonText / flatJsonText, but yields between slices of
 * CHUNK_ELEMENTS elements.
 */
export async function tensorJsonText(tensor: Tensor, nested: boolean): Promise<string> {
  const { data, shape, datatype } = tensor;
  const whole = nested ? nestedJsonText : flatJsonText;
  const n = data.length;
  if (n <= CHUNK_ELEMENTS || (nested && shape.length === 0)) return whole(tensor);
  // Nested answers are sliced by rows of the first dimension, flat ones by elements.
  const rows = nested ? (shape[0] ?? 1) : n;
  const rowSize = n / rows;
  const step = Math.max(1, Math.floor(CHUNK_ELEMENTS / rowSize));
  const rest = nested ? shape.slice(1) : [];
  const parts: string[] = [];
  for (let r = 0; r < rows; r += step) {
    const end = Math.min(rows, r + step);
    const part: Tensor = {
      datatype,
      shape: [end - r, ...rest],
      data: slice(data, r * rowSize, end * rowSize),
    };
    // Each slice's text is an array; its inside joins the others'.
    parts.push(whole(part).slice(1, -1));
    await nextTurn();
  }
  return `[${parts.join(",")}]`;
}
