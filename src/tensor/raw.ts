/**
 * Canonical tensor <-> raw bytes (KServe v2 binary tensor data, gRPC `raw_input_contents` /
 * `raw_output_contents`): little-endian row-major whatever the host; BYTES elements are a uint32
 * little-endian length followed by the bytes.
 */
import { InvalidRequestError } from "../errors.js";
import {
  byteView,
  checkDatatype,
  checkShape,
  elementSize,
  emptyData,
  formatShape,
} from "./datatype.js";
import { decodeLittleEndian, encodeLittleEndian, LITTLE_ENDIAN_HOST } from "./endian.js";
import type { DecodeBudget } from "./limits.js";
import type { Datatype, Tensor } from "./types.js";

/**
 * Little-endian row-major bytes of a tensor; BYTES elements as a uint32 LE length followed by the
 * bytes. For fixed-size datatypes on a little-endian host the result is a view of `tensor.data`
 * (no copy): treat it as read-only.
 */
export function tensorToRaw(tensor: Tensor): Uint8Array {
  const { data } = tensor;
  if (Array.isArray(data)) return encodeByteStrings(data);
  return LITTLE_ENDIAN_HOST ? byteView(data) : encodeLittleEndian(data);
}

/**
 * The KServe v2 binary-extension body: the JSON header followed by the binary blobs, in order
 * (`Inference-Header-Content-Length` is the header's byte length).
 */
export function binaryBody(
  json: Uint8Array,
  blobs: readonly Uint8Array[],
): Uint8Array<ArrayBuffer> {
  let total = json.byteLength;
  for (const blob of blobs) total += blob.byteLength;
  const body = new Uint8Array(total);
  body.set(json, 0);
  let offset = json.byteLength;
  for (const blob of blobs) {
    body.set(blob, offset);
    offset += blob.byteLength;
  }
  return body;
}

function encodeByteStrings(elements: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const element of elements) total += 4 + element.byteLength;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const element of elements) {
    view.setUint32(offset, element.byteLength, true);
    out.set(element, offset + 4);
    offset += 4 + element.byteLength;
  }
  return out;
}

/**
 * Raw little-endian bytes as a tensor. The byte length must be exactly shape × element size; for
 * BYTES the contents must hold exactly the shape's number of length-prefixed elements. The result
 * never aliases `bytes` (which may be a pooled or reused Buffer at an unaligned offset). The
 * declared shape is charged to `budget` (when given) before anything is allocated.
 */
export function tensorFromRaw(
  datatype: Datatype,
  shape: readonly number[],
  bytes: Uint8Array,
  budget?: DecodeBudget,
): Tensor {
  const dt = checkDatatype(datatype);
  const count = checkShape(shape);
  budget?.claim(dt, shape, bytes.byteLength);
  const outShape = Array.from(shape);
  if (dt === "BYTES")
    return { datatype: dt, shape: outShape, data: decodeByteStrings(bytes, count, shape) };
  const size = elementSize(dt);
  const expected = count * size;
  if (bytes.byteLength !== expected) {
    throw new InvalidRequestError(
      `raw ${dt} contents for shape ${formatShape(shape)} must be ${expected} bytes ` +
        `(${count} elements × ${size}), got ${bytes.byteLength}`,
    );
  }
  const data = emptyData(dt, count);
  if (LITTLE_ENDIAN_HOST) byteView(data).set(bytes);
  else decodeLittleEndian(bytes, data);
  return { datatype: dt, shape: outShape, data };
}

function decodeByteStrings(
  bytes: Uint8Array,
  count: number,
  shape: readonly number[],
): Uint8Array[] {
  const total = bytes.byteLength;
  // Each element needs at least its 4-byte prefix; checking first bounds the allocation below.
  if (count * 4 > total) {
    throw new InvalidRequestError(
      `raw BYTES contents of ${total} bytes are too short for the ${count} elements of shape ` +
        `${formatShape(shape)} (each needs a 4-byte length prefix)`,
    );
  }
  // One private copy that the elements view, instead of one allocation per element.
  const own = new Uint8Array(total);
  own.set(bytes);
  const view = new DataView(own.buffer);
  const out = new Array<Uint8Array>(count);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const left = total - offset;
    if (left === 0) {
      throw new InvalidRequestError(
        `raw BYTES contents end after ${i} elements; shape ${formatShape(shape)} needs ${count}`,
      );
    }
    if (left < 4) {
      throw new InvalidRequestError(
        `raw BYTES element ${i}: truncated length prefix (${left} bytes left at offset ${offset}, need 4)`,
      );
    }
    const length = view.getUint32(offset, true);
    offset += 4;
    if (length > total - offset) {
      throw new InvalidRequestError(
        `raw BYTES element ${i}: length ${length} runs past the end of the contents ` +
          `(${total - offset} bytes left at offset ${offset})`,
      );
    }
    out[i] = own.subarray(offset, offset + length);
    offset += length;
  }
  if (offset !== total) {
    throw new InvalidRequestError(
      `raw BYTES contents have ${total - offset} bytes after the ${count} elements of shape ` +
        `${formatShape(shape)} (too many elements or trailing bytes)`,
    );
  }
  return out;
}
