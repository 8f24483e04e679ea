/**
 * IEEE 754 half precision (FP16) and bfloat16 (BF16) <-> JS number. Encoding rounds the exact
 * double straight to the 16-bit format (round to nearest, ties to even), so there is no double
 * rounding through float32; overflow becomes ±Infinity and tiny values become subnormals or ±0,
 * like an IEEE cast. NaN encodes as the canonical quiet NaN (0x7E00 / 0x7FC0).
 */

/** Bit layout of a binary floating-point format narrower than float64. */
interface FloatFormat {
  readonly mantissaBits: number;
  readonly bias: number;
  /** Biased exponent of Infinity/NaN (all exponent bits set). */
  readonly maxBiased: number;
  readonly quietNaN: number;
  /** 2^(1 - bias): the smallest normal value. */
  readonly minNormal: number;
  /** pow2[k + offset] = 2^k for every scale factor the encoder needs, exact. */
  readonly pow2: Float64Array;
  readonly pow2Offset: number;
}

function format(exponentBits: number, mantissaBits: number): FloatFormat {
  const bias = (1 << (exponentBits - 1)) - 1;
  const maxBiased = (1 << exponentBits) - 1;
  // Every power of two the encoder and decoder scale by lies in [2^lo, 2^hi]; exact doubling.
  const lo = 1 - bias - mantissaBits;
  const hi = mantissaBits + bias - 1;
  const pow2 = new Float64Array(hi - lo + 1);
  let p = 1;
  for (let k = 0; k > lo; k--) p /= 2;
  for (let k = lo; k <= hi; k++) {
    pow2[k - lo] = p;
    p *= 2;
  }
  const minNormal = pow2[1 - bias - lo] ?? 0;
  return {
    mantissaBits,
    bias,
    maxBiased,
    quietNaN: (maxBiased << mantissaBits) | (1 << (mantissaBits - 1)),
    minNormal,
    pow2,
    pow2Offset: -lo,
  };
}

const FP16 = format(5, 10);
const BF16 = format(8, 7);

// Big-endian DataView reads give the float64's high word on any host.
const scratch = new DataView(new ArrayBuffer(8));

function pow2(f: FloatFormat, k: number): number {
  return f.pow2[k + f.pow2Offset] ?? Number.NaN;
}

/** Rounds a non-negative value below 2^31 to an integer, ties to even. */
function roundHalfEven(m: number): number {
  const r = Math.floor(m);
  const d = m - r;
  return d > 0.5 || (d === 0.5 && (r & 1) === 1) ? r + 1 : r;
}

function encode(f: FloatFormat, value: number): number {
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  return sign | encodeMagnitude(f, Math.abs(value));
}

function encodeMagnitude(f: FloatFormat, abs: number): number {
  if (Number.isNaN(abs)) return f.quietNaN;
  const inf = f.maxBiased << f.mantissaBits;
  if (abs === Number.POSITIVE_INFINITY) return inf;
  if (abs < f.minNormal) {
    // Subnormal: units of 2^(1 - bias - mantissaBits); rounding up to 2^mantissaBits lands exactly
    // on the smallest normal's encoding.
    return roundHalfEven(abs * pow2(f, f.mantissaBits - (1 - f.bias)));
  }
  scratch.setFloat64(0, abs);
  let e = ((scratch.getUint32(0) >>> 20) & 0x7ff) - 1023;
  if (e > f.bias) return inf;
  let m = roundHalfEven(abs * pow2(f, f.mantissaBits - e));
  if (m === 2 << f.mantissaBits) {
    e += 1;
    m >>>= 1;
  }
  const biased = e + f.bias;
  if (biased >= f.maxBiased) return inf;
  return (biased << f.mantissaBits) | (m - (1 << f.mantissaBits));
}

function decode(f: FloatFormat, bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const biased = (bits >>> f.mantissaBits) & f.maxBiased;
  const mantissa = bits & ((1 << f.mantissaBits) - 1);
  if (biased === f.maxBiased) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  if (biased === 0) return sign * mantissa * pow2(f, 1 - f.bias - f.mantissaBits);
  return sign * (mantissa + (1 << f.mantissaBits)) * pow2(f, biased - f.bias - f.mantissaBits);
}

/** The value of IEEE 754 half-precision bits (only the low 16 bits are read). */
export function fp16ToNumber(bits: number): number {
  return decode(FP16, bits & 0xffff);
}

/** A number as IEEE 754 half-precision bits, rounded to nearest even; overflow is ±Infinity. */
export function numberToFp16(value: number): number {
  return encode(FP16, value);
}

/** The value of bfloat16 bits (only the low 16 bits are read). */
export function bf16ToNumber(bits: number): number {
  return decode(BF16, bits & 0xffff);
}

/** A number as bfloat16 bits, rounded to nearest even; overflow is ±Infinity. */
export function numberToBf16(value: number): number {
  return encode(BF16, value);
}
