/**
 * The emulated handler's JSON: parsing that keeps integers beyond 2^53 exact (as a Python handler's
 * `json.loads` does), answer text with int64 digits written exactly, and float16 conversions.
 * Written independently of src/ so the emulator checks the gateway rather than mirroring it.
 */

/** Marks a big integer literal rewritten into a string before JSON.parse. */
const BIG_MARK = "\u0000";

/** Strings (skipped) or integer literals of 16+ digits that are not part of a float. */
const TOKENS = /"(?:[^"\\]|\\.)*"|(?<![\w.+-])-?\d{16,}(?![\w.])/g;
const LONG_INTEGER = /(?<![\w.+-])-?\d{16,}(?![\w.])/;

/** A big integer literal of the request, when `value` is one. */
export function bigLiteral(value: unknown): bigint | undefined {
  if (typeof value !== "string" || !value.startsWith(BIG_MARK)) return undefined;
  return BigInt(value.slice(1));
}

/**
 * Parses request JSON. Integer literals beyond 2^53 come back as marked strings (see bigLiteral)
 * instead of rounded numbers. Throws SyntaxError for invalid JSON.
 */
export function parseRequestJson(text: string): unknown {
  if (!LONG_INTEGER.test(text)) return JSON.parse(text);
  const rewritten = text.replace(TOKENS, (token) => {
    if (token.startsWith('"') || Number.isSafeInteger(Number(token))) return token;
    return `"\\u0000${token}"`;
  });
  return JSON.parse(rewritten);
}

/** Flat values as nested JSON text of `dims` (each value already JSON text). */
export function nestText(flat: string[], dims: readonly number[]): string {
  if (dims.length === 0) return flat[0] ?? "null";
  let level = flat;
  for (let d = dims.length - 1; d >= 0; d--) {
    const size = dims[d] ?? 0;
    const rows = dims.slice(0, d).reduce((a, b) => a * b, 1);
    const next = new Array<string>(rows);
    for (let r = 0; r < rows; r++) next[r] = `[${level.slice(r * size, (r + 1) * size).join(",")}]`;
    level = next;
  }
  return level[0] ?? "[]";
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half bits -> number. */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** number -> IEEE half bits, rounding to nearest even (via float32, exact for half values). */
export function numberToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0] ?? 0;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant === 0 ? 0 : 0x200);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (rest > mid || (rest === mid && (half & 1) === 1) ? half + 1 : half);
  }
  const half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  return sign | (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1) ? half + 1 : half);
}
