/**
 * Concatenation and splitting along dimension 0: the dynamic batcher's core. Fixed-size data moves
 * as whole byte ranges (one TypedArray.set per part); BYTES elements are shared, not copied.
 */
import { InternalError, InvalidRequestError } from "../errors.js";
import { byteView, elementCount, elementSize, emptyData, formatShape } from "./datatype.js";
import type { Tensor, TensorData } from "./types.js";

/** A tensor's storage not matching its shape is a bug in whoever built it, not client input. */
function checkStorage(tensor: Tensor, which: string): void {
  const { datatype, data } = tensor;
  const kindFits = Array.isArray(data)
    ? datatype === "BYTES"
    : datatype !== "BYTES" && data.BYTES_PER_ELEMENT === elementSize(datatype);
  if (!kindFits || data.length !== elementCount(tensor.shape)) {
    throw new InternalError(
      new Error(
        `${which}: ${tensor.datatype} storage of ${tensor.data.length} elements does not fit ` +
          `shape ${formatShape(tensor.shape)}`,
      ),
    );
  }
}

/**
 * Concatenates tensors of one datatype and equal dimensions after the first along dimension 0,
 * e.g. [2,3] + [1,3] -> [3,3]. The result is new storage (the parts are not aliased), except that
 * a single tensor is returned as is. Rank-0 tensors cannot be concatenated.
 */
export function concatDim0(tensors: readonly Tensor[]): Tensor {
  const first = tensors[0];
  if (first === undefined) throw new InvalidRequestError("cannot concatenate zero tensors");
  const { datatype, shape } = first;
  if (shape.length === 0) {
    throw new InvalidRequestError("cannot concatenate rank-0 (scalar) tensors along dimension 0");
  }
  let rows = 0;
  tensors.forEach((tensor, t) => {
    if (tensor.datatype !== datatype) {
      throw new InvalidRequestError(
        `cannot concatenate: tensor ${t} is ${tensor.datatype}, tensor 0 is ${datatype}`,
      );
    }
    if (!sameTrailingDims(tensor.shape, shape)) {
      throw new InvalidRequestError(
        `cannot concatenate: tensor ${t} has shape ${formatShape(tensor.shape)}, tensor 0 has ` +
          `${formatShape(shape)} (dimensions after the first must match)`,
      );
    }
    checkStorage(tensor, `concatDim0 tensor ${t}`);
    rows += tensor.shape[0] ?? 0;
  });
  if (tensors.length === 1) return first;
  const outShape = [rows, ...shape.slice(1)];
  const total = elementCount(outShape);
  if (datatype === "BYTES") {
    const out = new Array<Uint8Array>(total);
    let k = 0;
    for (const { data } of tensors) {
      if (Array.isArray(data)) for (const element of data) out[k++] = element;
    }
    return { datatype, shape: outShape, data: out };
  }
  const out = emptyData(datatype, total);
  const dst = byteView(out);
  let offset = 0;
  for (const { data } of tensors) {
    if (Array.isArray(data)) continue; // ruled out by checkStorage
    dst.set(byteView(data), offset);
    offset += data.byteLength;
  }
  return { datatype, shape: outShape, data: out };
}

function sameTrailingDims(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let d = 1; d < a.length; d++) if (a[d] !== b[d]) return false;
  return true;
}

/**
 * Splits a tensor along dimension 0 into parts of the given first-dimension sizes, which must be
 * non-negative integers summing to dimension 0. Each part gets its own copy of its rows (a part
 * never pins the whole batch's buffer); BYTES elements are shared.
 */
export function splitDim0(tensor: Tensor, sizes: readonly number[]): Tensor[] {
  const { datatype, shape } = tensor;
  const dim0 = shape[0];
  if (dim0 === undefined) {
    throw new InvalidRequestError("cannot split a rank-0 (scalar) tensor along dimension 0");
  }
  let sum = 0;
  sizes.forEach((size, i) => {
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new InvalidRequestError(`split size ${i} must be a non-negative integer, got ${size}`);
    }
    sum += size;
  });
  if (sum !== dim0) {
    throw new InvalidRequestError(
      `split sizes sum to ${sum} but dimension 0 of shape ${formatShape(shape)} is ${dim0}`,
    );
  }
  checkStorage(tensor, "splitDim0");
  const rest = shape.slice(1);
  const rowElements = elementCount(rest);
  const parts: Tensor[] = [];
  let start = 0;
  for (const size of sizes) {
    const end = start + size * rowElements;
    parts.push({ datatype, shape: [size, ...rest], data: copyRange(tensor, start, end) });
    start = end;
  }
  return parts;
}

function copyRange(tensor: Tensor, start: number, end: number): TensorData {
  const { datatype, data } = tensor;
  if (Array.isArray(data)) return data.slice(start, end);
  if (datatype === "BYTES") return []; // ruled out by checkStorage
  const size = elementSize(datatype);
  const out = emptyData(datatype, end - start);
  byteView(out).set(byteView(data).subarray(start * size, end * size));
  return out;
}
