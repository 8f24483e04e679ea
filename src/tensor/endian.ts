/**
 * Host-independent little-endian encoding of typed storage, element by element through a
 * DataView. The raw codec only needs it on a big-endian host (elsewhere the bytes already are
 * little-endian and are copied wholesale); tests pin it against that fast path.
 */
import { byteView, type FixedData } from "./datatype.js";

/** True when typed arrays on this host store their elements little-endian. */
export const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Little-endian bytes of typed storage, in a fresh buffer. */
export function encodeLittleEndian(data: FixedData): Uint8Array {
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  const n = data.length;
  if (data instanceof Uint8Array || data instanceof Int8Array) {
    out.set(byteView(data));
  } else if (data instanceof Uint16Array) {
    for (let i = 0; i < n; i++) view.setUint16(i * 2, data[i] ?? 0, true);
  } else if (data instanceof Int16Array) {
    for (let i = 0; i < n; i++) view.setInt16(i * 2, data[i] ?? 0, true);
  } else if (data instanceof Uint32Array) {
    for (let i = 0; i < n; i++) view.setUint32(i * 4, data[i] ?? 0, true);
  } else if (data instanceof Int32Array) {
    for (let i = 0; i < n; i++) view.setInt32(i * 4, data[i] ?? 0, true);
  } else if (data instanceof Float32Array) {
    for (let i = 0; i < n; i++) view.setFloat32(i * 4, data[i] ?? 0, true);
  } else if (data instanceof Float64Array) {
    for (let i = 0; i < n; i++) view.setFloat64(i * 8, data[i] ?? 0, true);
  } else if (data instanceof BigInt64Array) {
    for (let i = 0; i < n; i++) view.setBigInt64(i * 8, data[i] ?? 0n, true);
  } else {
    for (let i = 0; i < n; i++) view.setBigUint64(i * 8, data[i] ?? 0n, true);
  }
  return out;
}

/** Fills typed storage from little-endian bytes; `bytes.byteLength` must equal its byteLength. */
export function decodeLittleEndian(bytes: Uint8Array, into: FixedData): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = into.length;
  if (into instanceof Uint8Array || into instanceof Int8Array) {
    byteView(into).set(bytes);
  } else if (into instanceof Uint16Array) {
    for (let i = 0; i < n; i++) into[i] = view.getUint16(i * 2, true);
  } else if (into instanceof Int16Array) {
    for (let i = 0; i < n; i++) into[i] = view.getInt16(i * 2, true);
  } else if (into instanceof Uint32Array) {
    for (let i = 0; i < n; i++) into[i] = view.getUint32(i * 4, true);
  } else if (into instanceof Int32Array) {
    for (let i = 0; i < n; i++) into[i] = view.getInt32(i * 4, true);
  } else if (into instanceof Float32Array) {
    for (let i = 0; i < n; i++) into[i] = view.getFloat32(i * 4, true);
  } else if (into instanceof Float64Array) {
    for (let i = 0; i < n; i++) into[i] = view.getFloat64(i * 8, true);
  } else if (into instanceof BigInt64Array) {
    for (let i = 0; i < n; i++) into[i] = view.getBigInt64(i * 8, true);
  } else {
    for (let i = 0; i < n; i++) into[i] = view.getBigUint64(i * 8, true);
  }
}
