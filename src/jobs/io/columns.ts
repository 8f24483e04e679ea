/**
 * Tabular rows (CSV, Parquet, Postgres) to unified inputs. Each model input takes its columns from
 * an explicit `columns` list, else the column named like the input (one element, or a list value
 * such as a Parquet list or a Postgres array), else `name.0`, `name.1`, … in element order. The
 * elements fill the input's shape for one record: a leading -1 (the batch dimension) becomes 1 and
 * one other -1 takes whatever the element count leaves, so `[-1, 4]` takes 4 columns as `[[a, b,
 * c, d]]` and `[-1]` one column as `[a]`.
 */
import { InvalidRequestError } from "../../errors.js";
import { formatShape, MAX_RANK, type TensorSpec } from "../../tensor/index.js";
import { CellError, cellValue } from "./cells.js";
import { idFromValue, invalidRecord } from "./records.js";
import type { MappingOptions, SourceRecord } from "./types.js";

/** Where one input's elements come from. */
interface InputColumns {
  readonly spec: TensorSpec;
  readonly names: readonly string[];
  readonly indexes: readonly number[];
}

/** A header resolved against the model's inputs, reused for every row. */
export interface RowMapping {
  readonly inputs: readonly InputColumns[];
  readonly idIndex: number | undefined;
  readonly idField: string | undefined;
}

function explicitColumns(options: MappingOptions, spec: TensorSpec): readonly string[] | undefined {
  const { columns } = options;
  if (columns === undefined) return undefined;
  if (Array.isArray(columns)) return columns as readonly string[];
  return (columns as Readonly<Record<string, readonly string[]>>)[spec.name];
}

function checkColumnsOption(options: MappingOptions): void {
  const { columns, inputs } = options;
  if (columns === undefined) return;
  if (Array.isArray(columns)) {
    if (inputs.length !== 1) {
      throw new InvalidRequestError(
        `"columns" as a list needs a model with one input; this one has ${inputs.length}: ` +
          `give {"<input>": [columns...]}`,
      );
    }
    return;
  }
  for (const name of Object.keys(columns)) {
    if (!inputs.some((s) => s.name === name)) {
      throw new InvalidRequestError(
        `"columns" names "${name}", which is not an input of the model`,
      );
    }
  }
}

function columnsByName(header: readonly string[], name: string): string[] {
  if (header.includes(name)) return [name];
  const names: string[] = [];
  while (header.includes(`${name}.${names.length}`)) names.push(`${name}.${names.length}`);
  return names;
}

/** Resolves the header once; INVALID_REQUEST when an input or the id column has no column. */
export function planMapping(header: readonly string[], options: MappingOptions): RowMapping {
  if (options.inputs.length === 0) {
    throw new InvalidRequestError("the model declares no inputs, so rows cannot be mapped to them");
  }
  checkColumnsOption(options);
  const index = new Map<string, number>();
  header.forEach((name, i) => {
    if (!index.has(name)) index.set(name, i);
  });
  const inputs = options.inputs.map((spec): InputColumns => {
    const names = explicitColumns(options, spec) ?? columnsByName(header, spec.name);
    if (names.length === 0) {
      throw new InvalidRequestError(
        `no column for input "${spec.name}": expected "${spec.name}" or "${spec.name}.0", ` +
          `"${spec.name}.1", …, or a "columns" list`,
      );
    }
    const missing = names.filter((n) => !index.has(n));
    if (missing.length > 0) {
      throw new InvalidRequestError(
        `input "${spec.name}": no column ${missing.map((n) => JSON.stringify(n)).join(", ")}`,
      );
    }
    return { spec, names, indexes: names.map((n) => index.get(n) ?? 0) };
  });
  const { idField } = options;
  const idIndex = idField === undefined ? undefined : index.get(idField);
  if (idField !== undefined && idIndex === undefined) {
    throw new InvalidRequestError(`no id column "${idField}"`);
  }
  return { inputs, idIndex, idField };
}

/** The shape of one record's tensor for `count` elements, or a message when it cannot be. */
export function recordShape(spec: TensorSpec, count: number): number[] | string {
  const dims = spec.shape.map((d, i) => (i === 0 && d < 0 ? 1 : d));
  const open = dims.flatMap((d, i) => (d < 0 ? [i] : []));
  const known = dims.reduce((p, d) => (d < 0 ? p : p * d), 1);
  const takes = `input "${spec.name}" (shape ${formatShape(spec.shape)})`;
  if (open.length === 0) {
    return known === count ? dims : `${takes} takes ${known} elements per record, got ${count}`;
  }
  if (known === 0 || count % known !== 0) {
    return `${takes} cannot hold ${count} elements per record`;
  }
  for (const i of open) dims[i] = 1;
  dims[open[open.length - 1] ?? 0] = count / known;
  return dims;
}

function nest(flat: unknown[], dims: readonly number[]): unknown {
  if (dims.length === 0) return flat[0];
  let level: unknown[] = flat;
  for (let d = dims.length - 1; d >= 1; d--) {
    const size = dims[d] ?? 1;
    const next: unknown[] = [];
    for (let i = 0; i < level.length; i += size) next.push(level.slice(i, i + size));
    level = next;
  }
  return level;
}

/** One row as a record, or a bad record naming the column at fault. */
export function mapRow(mapping: RowMapping, row: readonly unknown[], line: number): SourceRecord {
  let id = String(line);
  if (mapping.idIndex !== undefined) {
    const value = idFromValue(row[mapping.idIndex]);
    if (value === undefined)
      return invalidRecord(line, id, `id column "${mapping.idField}" is empty`);
    id = value;
  }
  const inputs: Record<string, unknown> = {};
  for (const { spec, names, indexes } of mapping.inputs) {
    const first = row[indexes[0] ?? 0];
    const listCell = indexes.length === 1 && Array.isArray(first);
    const raw = listCell ? (first as unknown[]).flat(MAX_RANK) : indexes.map((i) => row[i]);
    const values = new Array<unknown>(raw.length);
    for (let k = 0; k < raw.length; k++) {
      try {
        values[k] = cellValue(raw[k], spec.datatype);
      } catch (err) {
        if (!(err instanceof CellError)) throw err;
        const column = listCell ? `${names[0]}[${k}]` : names[k];
        return invalidRecord(line, id, `column "${column}" (input "${spec.name}"): ${err.message}`);
      }
    }
    const shape = recordShape(spec, values.length);
    if (typeof shape === "string") return invalidRecord(line, id, shape);
    inputs[spec.name] = nest(values, shape);
  }
  return { line, id, inputs };
}
