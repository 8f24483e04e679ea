/**
 * How a shadow version's answer is compared with the primary's: the largest absolute element
 * difference over all comparable outputs, and per-row argmax agreement for outputs with a class
 * axis. Pure functions; the ShadowRunner (shadow.ts) turns the result into metrics.
 */
import { bf16ToNumber, type Datatype, fp16ToNumber, type NamedTensor } from "../tensor/index.js";

/** What one primary/shadow pair of answers showed. */
export type ShadowComparison =
  | {
      ok: true;
      /** Largest |primary − shadow| over every compared element; undefined when nothing numeric was compared. */
      maxAbsDiff: number | undefined;
      /** Rows of class-axis outputs whose argmax agreed / disagreed. */
      agree: number;
      disagree: number;
    }
  | { ok: false; reason: string };

/**
 * BOOL and BYTES are not compared: a distance between byte strings or flags means nothing, and an
 * argmax over them even less. Both sides holding the same such datatype is fine (skipped).
 */
const NON_NUMERIC: ReadonlySet<Datatype> = new Set<Datatype>(["BOOL", "BYTES"]);

/** Compares the shadow's outputs with the primary's, output by output (matched by name). */
export function compareOutputs(
  primary: readonly NamedTensor[],
  shadow: readonly NamedTensor[],
): ShadowComparison {
  const byName = new Map(shadow.map((t) => [t.name, t]));
  // A shadow answering a different contract (missing or extra outputs, other shapes, text where
  // numbers were) cannot be compared, and skipping those outputs silently would report a broken
  // shadow as agreeing; so these count as shadow errors.
  if (byName.size !== primary.length) {
    return { ok: false, reason: "the shadow answered a different set of outputs" };
  }
  let maxAbsDiff: number | undefined;
  let agree = 0;
  let disagree = 0;
  for (const p of primary) {
    const s = byName.get(p.name);
    if (s === undefined) return { ok: false, reason: `the shadow did not answer output ${p.name}` };
    if (!sameShape(p.shape, s.shape)) {
      return { ok: false, reason: `output ${p.name} has shape [${s.shape}], not [${p.shape}]` };
    }
    const pNumeric = !NON_NUMERIC.has(p.datatype);
    if (pNumeric !== !NON_NUMERIC.has(s.datatype)) {
      return { ok: false, reason: `output ${p.name} is ${s.datatype}, not ${p.datatype}` };
    }
    if (!pNumeric) continue;
    const diff = maxAbsDifference(p, s);
    // NaN or an infinity against a finite value has no distance (and Prometheus histograms refuse
    // non-finite observations); it is the shadow computing wrongly, so it counts as an error.
    if (!Number.isFinite(diff)) {
      return { ok: false, reason: `output ${p.name} differs by a non-finite amount` };
    }
    maxAbsDiff = maxAbsDiff === undefined ? diff : Math.max(maxAbsDiff, diff);
    const rows = argmaxAgreement(p, s);
    agree += rows.agree;
    disagree += rows.disagree;
  }
  return { ok: true, maxAbsDiff, agree, disagree };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Largest |a[i] − b[i]|; equal values (both NaN, the same infinity) differ by 0. */
export function maxAbsDifference(a: NamedTensor, b: NamedTensor): number {
  const length = Math.min(a.data.length, b.data.length);
  let max = 0;
  if (isBigIntData(a.data) && isBigIntData(b.data)) {
    // Subtract as bigints: two INT64 values beyond 2^53 would look equal as numbers.
    for (let i = 0; i < length; i++) {
      const x = a.data[i] ?? 0n;
      const y = b.data[i] ?? 0n;
      const d = Number(x > y ? x - y : y - x);
      if (d > max) max = d;
    }
    return max;
  }
  const x = reader(a);
  const y = reader(b);
  for (let i = 0; i < length; i++) {
    const u = x(i);
    const v = y(i);
    if (u === v || (Number.isNaN(u) && Number.isNaN(v))) continue;
    const d = Math.abs(u - v);
    // NaN against a number: no distance, and NaN never compares greater, so report it at once.
    if (Number.isNaN(d)) return d;
    if (d > max) max = d;
  }
  return max;
}

/**
 * For outputs with a class axis (rank ≥ 2, last dimension > 1): per row (every index of the
 * leading dimensions) whether the argmax along the last axis is the same. Others: no rows.
 */
export function argmaxAgreement(
  a: NamedTensor,
  b: NamedTensor,
): { agree: number; disagree: number } {
  const classes = a.shape[a.shape.length - 1] ?? 0;
  if (a.shape.length < 2 || classes <= 1) return { agree: 0, disagree: 0 };
  const rows = Math.floor(Math.min(a.data.length, b.data.length) / classes);
  const x = reader(a);
  const y = reader(b);
  let agree = 0;
  for (let r = 0; r < rows; r++) {
    if (argmax(x, r * classes, classes) === argmax(y, r * classes, classes)) agree++;
  }
  return { agree, disagree: rows - agree };
}

/** Index (from 0) of the first largest value in `count` elements from `start`; NaN never wins. */
function argmax(read: (i: number) => number, start: number, count: number): number {
  let best = -1;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < count; i++) {
    const v = read(start + i);
    if (v > bestValue || (best === -1 && v === bestValue)) {
      best = i;
      bestValue = v;
    }
  }
  return best;
}

type BigIntData = BigInt64Array | BigUint64Array;

function isBigIntData(data: NamedTensor["data"]): data is BigIntData {
  return data instanceof BigInt64Array || data instanceof BigUint64Array;
}

/** Element `i` of a numeric tensor as a number (half floats decoded; int64 beyond 2^53 rounded). */
function reader(t: NamedTensor): (i: number) => number {
  const data = t.data;
  if (Array.isArray(data)) return () => Number.NaN; // BYTES; callers skip non-numeric outputs
  if (isBigIntData(data)) return (i) => Number(data[i] ?? 0n);
  if (t.datatype === "FP16") return (i) => fp16ToNumber(data[i] ?? 0);
  if (t.datatype === "BF16") return (i) => bf16ToNumber(data[i] ?? 0);
  return (i) => data[i] ?? 0;
}
