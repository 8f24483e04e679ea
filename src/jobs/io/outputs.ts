/**
 * Output records in the two shapes the formats need: the `/v1` response `outputs` object (JSONL)
 * and flat rows of `id` plus one column per output element (CSV, Parquet, Postgres), named `name`
 * for an output with one element and `name.0`, `name.1`, … (row-major) otherwise.
 */
import {
  type Datatype,
  MAX_RANK,
  type NamedTensor,
  type TensorSpec,
  tensorToNested,
} from "../../tensor/index.js";
import type { OutputRecord, RecordOutputs } from "./types.js";

/** The id column every tabular output starts with. */
export const ID_COLUMN = "id";

/** The `/v1` response `outputs` object of a record. */
export function outputsObject(outputs: RecordOutputs): Readonly<Record<string, unknown>> {
  if (!isTensorList(outputs)) return outputs;
  const out: Record<string, unknown> = {};
  for (const tensor of outputs) out[tensor.name] = tensorToNested(tensor);
  return out;
}

function isTensorList(outputs: RecordOutputs): outputs is readonly NamedTensor[] {
  return Array.isArray(outputs);
}

/** Flat row-major elements of one output value (a bare value is one element). */
function elements(value: unknown): unknown[] {
  return Array.isArray(value) ? value.flat(MAX_RANK) : [value];
}

/** Column name -> element value for one record's outputs. */
export function outputCells(outputs: RecordOutputs): Map<string, unknown> {
  const cells = new Map<string, unknown>();
  for (const [name, value] of Object.entries(outputsObject(outputs))) {
    const flat = elements(value);
    if (flat.length === 1) cells.set(name, flat[0]);
    else for (let i = 0; i < flat.length; i++) cells.set(`${name}.${i}`, flat[i]);
  }
  return cells;
}

/** A value column of a tabular output: its name, the output it comes from, and its datatype. */
export interface OutputColumn {
  readonly name: string;
  readonly output: string;
  readonly datatype: Datatype;
}

function datatypeOfValue(value: unknown): Datatype {
  if (typeof value === "boolean") return "BOOL";
  if (typeof value === "string") return "BYTES";
  return "FP64";
}

/**
 * The value columns of a tabular output, fixed by its first record: datatypes from the model's
 * output specs when known, else the record's tensors, else its values (numbers as FP64).
 */
export function layoutFromRecord(
  record: OutputRecord,
  specs: readonly TensorSpec[] | undefined,
): OutputColumn[] {
  const columns: OutputColumn[] = [];
  for (const [output, value] of Object.entries(outputsObject(record.outputs))) {
    const flat = elements(value);
    const tensor = isTensorList(record.outputs)
      ? record.outputs.find((t) => t.name === output)
      : undefined;
    const datatype =
      specs?.find((s) => s.name === output)?.datatype ??
      tensor?.datatype ??
      datatypeOfValue(flat.find((v) => v !== null));
    for (const name of columnNames(output, flat.length)) columns.push({ name, output, datatype });
  }
  return columns;
}

function columnNames(output: string, count: number): string[] {
  return count === 1 ? [output] : Array.from({ length: count }, (_, i) => `${output}.${i}`);
}

/**
 * The value columns from the output specs alone, for an output no record reached (an empty
 * input, or every record failed), so it still gets its header or schema. Undefined when a shape
 * has a variable dimension past the batch one: then only a record can tell.
 */
export function layoutFromSpecs(
  specs: readonly TensorSpec[] | undefined,
): OutputColumn[] | undefined {
  if (specs === undefined || specs.length === 0) return undefined;
  const columns: OutputColumn[] = [];
  for (const spec of specs) {
    const dims = spec.shape.map((d, i) => (i === 0 && d < 0 ? 1 : d));
    if (dims.some((d) => d < 0)) return undefined;
    const count = dims.reduce((p, d) => p * d, 1);
    for (const name of columnNames(spec.name, count)) {
      columns.push({ name, output: spec.name, datatype: spec.datatype });
    }
  }
  return columns;
}

/**
 * One record as the values of `columns`, or a message when it does not fit (another element
 * count or other outputs than the first record had).
 */
export function rowValues(
  columns: readonly { name: string }[],
  record: OutputRecord,
): unknown[] | string {
  const cells = outputCells(record.outputs);
  if (cells.size !== columns.length) {
    return `outputs have ${cells.size} elements, the output's columns ${columns.length}`;
  }
  const row = new Array<unknown>(columns.length);
  for (let i = 0; i < columns.length; i++) {
    const name = (columns[i] as { name: string }).name;
    if (!cells.has(name)) return `outputs do not fill the output column "${name}"`;
    row[i] = cells.get(name);
  }
  return row;
}
