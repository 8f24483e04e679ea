/**
 * A bound on how many entries of a repeated field a backend's gRPC answer may carry, checked on
 * the raw bytes before protobuf decoding: decoding builds one object per entry, so a million
 * tiny outputs in a 16 MB message would cost hundreds of MB before any check could look at them.
 * Walking the top-level fields reads only tags and lengths (no allocation).
 */
import type * as grpc from "@grpc/grpc-js";
import { BackendError } from "../../errors.js";

/**
 * Entries of the top-level fields `fields` in protobuf message `bytes`, counting at most up to
 * `max + 1` (the caller only needs to know it is over). Throws on a malformed message (protobuf
 * decoding would refuse it too).
 */
export function countTopLevel(bytes: Uint8Array, fields: ReadonlySet<number>, max: number): number {
  let count = 0;
  let pos = 0;
  const end = bytes.length;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw new RangeError("truncated varint");
      const b = bytes[pos++] ?? 0;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    throw new RangeError("varint too long");
  };
  while (pos < end) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    if (fields.has(field) && ++count > max) return count;
    switch (tag % 8) {
      case 0:
        varint();
        break;
      case 1:
        pos += 8;
        break;
      case 2: {
        // Not `pos += varint()`: that would add to pos as it was before the length was read.
        const length = varint();
        pos += length;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        throw new RangeError(`unsupported wire type ${tag % 8}`);
    }
  }
  if (pos > end) throw new RangeError("field runs past the end");
  return count;
}

/**
 * `definition` with method `method`'s answer decoder refusing answers that carry more than `max`
 * entries of the top-level fields `fields`. grpc-js reports a decoder's throw as an INTERNAL
 * status with the message, which maps to BACKEND_ERROR.
 */
export function guardAnswerEntries(
  definition: grpc.ServiceDefinition,
  method: string,
  fields: readonly number[],
  max: number,
): grpc.ServiceDefinition {
  const original = definition[method];
  if (original === undefined) throw new Error(`service has no method ${method}`);
  const set = new Set(fields);
  const decode = original.responseDeserialize;
  return {
    ...definition,
    [method]: {
      ...original,
      responseDeserialize: (bytes: Buffer) => {
        const count = countTopLevel(bytes, set, max);
        if (count > max) {
          throw new BackendError(`answer carries more than ${max} outputs`);
        }
        return decode(bytes);
      },
    },
  };
}
