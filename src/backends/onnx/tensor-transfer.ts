/**
 * Canonical tensors crossing between the main thread and a worker thread. They travel as
 * structured clones of NamedTensor (typed arrays and BYTES' Uint8Arrays survive a clone bit for
 * bit, including FP16's Uint16Array half bits and INT64's BigInt64Array); this file decides which
 * buffers may be transferred instead of copied, and checks what arrives from the other side.
 */
import { elementCount, emptyData, isDatatype } from "../../tensor/datatype.js";
import type { Datatype, NamedTensor, TensorData } from "../../tensor/types.js";

/** Tensors ready to post, and the buffers the post may move rather than copy. */
export interface Outgoing {
  tensors: NamedTensor[];
  transfer: ArrayBuffer[];
}

/**
 * Compact private copies of a caller's tensors, whose buffers can then be transferred. A clone of
 * a view clones its whole ArrayBuffer, and request tensors are often views into a larger body
 * (raw BYTES elements are subarrays of the request); copying exactly the elements sends only
 * those, once, and leaves the caller's arrays untouched (the batcher and the cache still use them).
 */
export function compactCopies(tensors: readonly NamedTensor[]): Outgoing {
  const transfer: ArrayBuffer[] = [];
  const copies = tensors.map((t): NamedTensor => {
    const data = copyData(t.data);
    for (const view of views(data)) {
      if (view.buffer instanceof ArrayBuffer) transfer.push(view.buffer);
    }
    return { name: t.name, datatype: t.datatype, shape: [...t.shape], data };
  });
  return { tensors: copies, transfer };
}

function copyData(data: TensorData): TensorData {
  if (Array.isArray(data)) return data.map((bytes) => bytes.slice());
  return data.slice();
}

function views(data: TensorData): ArrayBufferView[] {
  return Array.isArray(data) ? data : [data];
}

/**
 * The buffers of tensors that may be moved to the other thread: those owned by exactly one view
 * spanning all of them (fresh outputs of onnxruntime or TextEncoder). A view into a larger or
 * shared buffer (e.g. Node's Buffer pool) is copied instead, so nothing else loses its memory.
 */
export function transferables(tensors: readonly NamedTensor[]): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  const refused = new Set<ArrayBuffer>();
  for (const tensor of tensors) {
    for (const view of views(tensor.data)) {
      const buffer = view.buffer;
      if (!(buffer instanceof ArrayBuffer)) continue;
      const whole = view.byteOffset === 0 && view.byteLength === buffer.byteLength;
      if (!whole || seen.has(buffer)) refused.add(buffer);
      seen.add(buffer);
    }
  }
  return [...seen].filter((buffer) => !refused.has(buffer) && buffer.byteLength > 0);
}

/** True when `data` is the typed array class the canonical contract gives `datatype`. */
function hasArrayClass(datatype: Exclude<Datatype, "BYTES">, data: unknown): boolean {
  // emptyData allocates each datatype's class (src/tensor/types.ts), so it is the one table.
  return (
    ArrayBuffer.isView(data) &&
    Object.getPrototypeOf(data) === Object.getPrototypeOf(emptyData(datatype, 0))
  );
}

function isShape(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((d) => Number.isSafeInteger(d) && d >= 0);
}

/** True when a value that crossed threads is a well-formed canonical NamedTensor. */
export function isNamedTensor(value: unknown): value is NamedTensor {
  if (typeof value !== "object" || value === null) return false;
  if (!("name" in value && "datatype" in value && "shape" in value && "data" in value)) {
    return false;
  }
  const { name, datatype, shape, data } = value;
  if (typeof name !== "string" || !isDatatype(datatype) || !isShape(shape)) return false;
  const typed =
    datatype === "BYTES"
      ? Array.isArray(data) && data.every((b) => b instanceof Uint8Array)
      : hasArrayClass(datatype, data);
  return typed && (data as TensorData).length === elementCount(shape);
}

/** The value as an array of NamedTensors, or undefined when any element is not one. */
export function asNamedTensors(value: unknown): NamedTensor[] | undefined {
  return Array.isArray(value) && value.every(isNamedTensor) ? value : undefined;
}
