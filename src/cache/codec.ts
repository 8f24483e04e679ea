/**
 * The binary form of a cached answer, the same in memory and in Redis: a magic and format
 * version, the optional model version, then each output's name, datatype, shape and raw
 * little-endian bytes (tensorToRaw). Strings are UTF-16 code units so every name round-trips
 * exactly, lone surrogates included.
 *
 * Layout (integers little-endian):
 *   "IGRC" u8:format u8:flags [str:modelVersion] u32:count
 *   count × { str:name u8:datatype u8:rank rank×f64:dim f64:byteLength bytes }
 *   str = u32:byteLength + UTF-16LE code units
 */
import {
  DATATYPES,
  MAX_RANK,
  type NamedTensor,
  tensorFromRaw,
  tensorToRaw,
} from "../tensor/index.js";

/** What the cache keeps of a backend's answer. */
export interface CachedAnswer {
  outputs: NamedTensor[];
  modelVersion?: string;
}

const MAGIC = Buffer.from("IGRC", "latin1");
/** Bumped on any layout change: an old gateway sharing Redis then reads new values as misses. */
const FORMAT = 1;
const HAS_MODEL_VERSION = 1;
/** Smallest possible output record: empty name, datatype, rank 0, byte length. */
const MIN_OUTPUT_BYTES = 4 + 1 + 1 + 8;

/** A stored value that is not a valid answer (corrupt, truncated or another format version). */
export class CacheCodecError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CacheCodecError";
  }
}

/** Serializes an answer; the result shares no memory with it. */
export function encodeAnswer(answer: CachedAnswer): Buffer {
  const version =
    answer.modelVersion === undefined ? undefined : Buffer.from(answer.modelVersion, "utf16le");
  const parts = answer.outputs.map((output) => {
    if (output.shape.length > MAX_RANK) {
      throw new CacheCodecError(`output "${output.name}" has rank ${output.shape.length}`);
    }
    return { output, name: Buffer.from(output.name, "utf16le"), raw: tensorToRaw(output) };
  });
  let total = MAGIC.length + 2 + (version === undefined ? 0 : 4 + version.length) + 4;
  for (const { output, name, raw } of parts) {
    total += 4 + name.length + 2 + 8 * output.shape.length + 8 + raw.byteLength;
  }
  const out = Buffer.allocUnsafe(total);
  let at = MAGIC.copy(out, 0);
  at = out.writeUInt8(FORMAT, at);
  at = out.writeUInt8(version === undefined ? 0 : HAS_MODEL_VERSION, at);
  if (version !== undefined) at = writeBytes(out, at, version);
  at = out.writeUInt32LE(parts.length, at);
  for (const { output, name, raw } of parts) {
    at = writeBytes(out, at, name);
    at = out.writeUInt8(DATATYPES.indexOf(output.datatype), at);
    at = out.writeUInt8(output.shape.length, at);
    for (const dim of output.shape) at = out.writeDoubleLE(dim, at);
    at = out.writeDoubleLE(raw.byteLength, at);
    out.set(raw, at);
    at += raw.byteLength;
  }
  return out;
}

function writeBytes(out: Buffer, at: number, bytes: Buffer): number {
  const next = out.writeUInt32LE(bytes.length, at);
  bytes.copy(out, next);
  return next + bytes.length;
}

/**
 * Reads an answer written by `encodeAnswer`. The tensors never alias `bytes`. Throws
 * CacheCodecError for anything else, so a damaged or foreign value is a miss, never an answer.
 */
export function decodeAnswer(bytes: Uint8Array): CachedAnswer {
  const reader = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  if (!reader.take(MAGIC.length).equals(MAGIC)) throw new CacheCodecError("not a cached answer");
  const format = reader.u8();
  if (format !== FORMAT) throw new CacheCodecError(`unknown cache format ${format}`);
  const flags = reader.u8();
  if ((flags & ~HAS_MODEL_VERSION) !== 0) throw new CacheCodecError(`unknown flags ${flags}`);
  const answer: CachedAnswer = { outputs: [] };
  if (flags & HAS_MODEL_VERSION) answer.modelVersion = reader.string();
  const count = reader.u32();
  // Checked before the loop so a corrupt count cannot make it run long.
  if (count * MIN_OUTPUT_BYTES > reader.left) {
    throw new CacheCodecError(`${count} outputs cannot fit in ${reader.left} bytes`);
  }
  for (let i = 0; i < count; i++) {
    const name = reader.string();
    const datatype = DATATYPES[reader.u8()];
    if (datatype === undefined) throw new CacheCodecError(`output "${name}": unknown datatype`);
    const rank = reader.u8();
    if (rank > MAX_RANK) throw new CacheCodecError(`output "${name}": rank ${rank}`);
    const shape: number[] = [];
    for (let d = 0; d < rank; d++) shape.push(reader.f64());
    const raw = reader.take(reader.f64());
    try {
      answer.outputs.push({ name, ...tensorFromRaw(datatype, shape, raw) });
    } catch (err) {
      throw new CacheCodecError(`output "${name}": invalid tensor`, { cause: err });
    }
  }
  if (reader.left !== 0) throw new CacheCodecError(`${reader.left} trailing bytes`);
  return answer;
}

/** Bounds-checked sequential reads. */
class Reader {
  private at = 0;

  constructor(private readonly bytes: Buffer) {}

  get left(): number {
    return this.bytes.length - this.at;
  }

  take(length: number): Buffer {
    if (!Number.isInteger(length) || length < 0 || length > this.left) {
      throw new CacheCodecError(`truncated value: need ${length} bytes at ${this.at}`);
    }
    const out = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    return out;
  }

  u8(): number {
    return this.take(1).readUInt8(0);
  }

  u32(): number {
    return this.take(4).readUInt32LE(0);
  }

  f64(): number {
    return this.take(8).readDoubleLE(0);
  }

  string(): string {
    const length = this.u32();
    if (length % 2 !== 0) throw new CacheCodecError("odd UTF-16 byte length");
    return this.take(length).toString("utf16le");
  }
}
