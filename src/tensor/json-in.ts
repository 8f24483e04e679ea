/**
 * JSON -> canonical tensor: nested arrays (shape from the nesting) or an explicit
 * `{datatype, shape, data}`. The nesting is walked with an explicit stack bounded by MAX_RANK, so
 * a hostile `[[[[...]]]]` body is an InvalidRequestError, never a stack overflow.
 */
import { InvalidRequestError } from "../errors.js";
import { checkDatatype, checkShape, elementCount, formatShape, MAX_RANK } from "./datatype.js";
import { dataFromJsonValues, describeValue } from "./json-values.js";
import type { DecodeBudget } from "./limits.js";
import type { Datatype, Tensor } from "./types.js";

/**
 * The flat buffer is pre-sized up to this many elements and grows as it fills beyond, so a short
 * body whose first row lies about the shape (`[[[...1000 x 16...]], [], ...]` claims 1000×1000×16)
 * cannot make us allocate a huge array before the ragged check fires.
 */
const PRESIZE_LIMIT = 1 << 16;

interface Nesting {
  readonly shape: number[];
  /** The outermost array, or undefined for a scalar. */
  readonly root: unknown[] | undefined;
  /** The first leaf value, or undefined when some dimension is 0. */
  readonly first: unknown;
}

/** Reads the shape along the first elements; every other row is checked against it later. */
function readNesting(value: unknown): Nesting {
  if (!Array.isArray(value)) return { shape: [], root: undefined, first: value };
  const shape: number[] = [];
  let v: unknown = value;
  while (Array.isArray(v)) {
    if (shape.length === MAX_RANK) {
      throw new InvalidRequestError(
        `arrays nested more than ${MAX_RANK} deep; tensor rank is at most ${MAX_RANK}`,
      );
    }
    shape.push(v.length);
    if (v.length === 0) return { shape, root: value, first: undefined };
    v = v[0];
  }
  return { shape, root: value, first: v };
}

/** Row-major leaves of a nested array, checking that every row has the expected length. */
function flatten(root: unknown[], shape: readonly number[]): unknown[] {
  const rank = shape.length;
  if (rank === 1) return root;
  const last = rank - 1;
  const out: unknown[] = new Array(Math.min(elementCount(shape), PRESIZE_LIMIT));
  let k = 0;
  // rows[d] is the array being walked at depth d; next[d] the index of its next child.
  const rows: unknown[][] = new Array(last).fill(root);
  const next: number[] = new Array(last).fill(0);
  let d = 0;
  for (;;) {
    const parent = rows[d];
    const i = next[d] ?? 0;
    if (parent === undefined || i === parent.length) {
      if (d === 0) break;
      d--;
      continue;
    }
    next[d] = i + 1;
    const child = parent[i];
    const want = shape[d + 1] ?? 0;
    if (!Array.isArray(child) || child.length !== want) {
      const at = `[${next
        .slice(0, d + 1)
        .map((n) => n - 1)
        .join("][")}]`;
      throw new InvalidRequestError(
        Array.isArray(child)
          ? `ragged array at ${at}: expected length ${want}, got ${child.length}`
          : `ragged array at ${at}: expected an array of length ${want}, got ${describeValue(child)}`,
      );
    }
    if (d + 1 === last) {
      for (let j = 0; j < want; j++) out[k++] = child[j];
    } else {
      d++;
      rows[d] = child;
      next[d] = 0;
    }
  }
  out.length = k;
  return out;
}

function inferDatatype(first: unknown, shape: readonly number[]): Datatype {
  switch (typeof first) {
    case "undefined":
    case "number":
    case "bigint":
      return "FP32";
    case "boolean":
      return "BOOL";
    case "string":
      return "BYTES";
    default: {
      const at =
        shape.length === 0 ? "a tensor" : `tensor element [${shape.map(() => 0).join("][")}]`;
      throw new InvalidRequestError(
        `${at} must be a number, boolean or string (or an array of them), got ${describeValue(first)}`,
      );
    }
  }
}

/**
 * A nested JSON array (or a scalar) as a tensor. The shape comes from the nesting; the datatype is
 * the given one (from model metadata) or inferred: numbers FP32, booleans BOOL, strings BYTES (an
 * empty array is FP32). Ragged arrays, mixed element kinds, non-integers for integer types and
 * out-of-range values (300 is not a UINT8) are rejected; INT64/UINT64 also take decimal strings.
 * Integer literals beyond 2^53 arrive exact only when the text was parsed with parseJsonExact
 * (json-text.ts), which keeps them as bigints; the HTTP fronts do so whenever a body has one.
 * `budget` (when given) is charged with the shape before the flat values are gathered.
 */
export function tensorFromNested(
  value: unknown,
  datatype?: Datatype,
  budget?: DecodeBudget,
): Tensor {
  const given = datatype === undefined ? undefined : checkDatatype(datatype);
  const { shape, root, first } = readNesting(value);
  const resolved = given ?? inferDatatype(first, shape);
  checkShape(shape);
  budget?.claim(resolved, shape);
  const flat = root === undefined ? [value] : flatten(root, shape);
  const data = dataFromJsonValues(resolved, flat, {
    pathShape: shape,
    inferred: given === undefined,
  });
  return { datatype: resolved, shape, data };
}

/**
 * An explicit `{datatype, shape, data}` (KServe v2 JSON input) as a tensor. `data` is flat or
 * nested (row-major, any nesting); its element count must equal the product of `shape`, whose
 * dimensions must be non-negative integers. Elements are checked as in tensorFromNested. The
 * declared shape is charged to `budget` (when given) before any array is built.
 */
export function tensorFromJsonData(
  datatype: Datatype,
  shape: readonly number[],
  data: unknown,
  budget?: DecodeBudget,
): Tensor {
  const dt = checkDatatype(datatype);
  const count = checkShape(shape);
  budget?.claim(dt, shape);
  if (data === undefined) throw new InvalidRequestError("tensor data is missing");
  const nesting = readNesting(data);
  const flat = nesting.root === undefined ? [data] : flatten(nesting.root, nesting.shape);
  if (flat.length !== count) {
    throw new InvalidRequestError(
      `data has ${flat.length} elements but shape ${formatShape(shape)} needs ${count}`,
    );
  }
  const values = dataFromJsonValues(dt, flat, { pathShape: nesting.shape, inferred: false });
  return { datatype: dt, shape: Array.from(shape), data: values };
}
