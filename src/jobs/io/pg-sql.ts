/**
 * SQL pieces of the Postgres sink: the target table's name, column types per datatype, and the
 * bookkeeping columns that make resume exactly-once.
 */
import pg from "pg";
import { InvalidRequestError } from "../../errors.js";
import type { Datatype } from "../../tensor/index.js";

/** The batch that wrote a row: resume and abort only touch their own batch's rows. */
export const BATCH_COLUMN = "_batch";
/** The row's 1-based position in the batch's output: resume deletes rows past the checkpoint. */
export const ROW_COLUMN = "_row";

/** Postgres truncates longer identifiers silently, which could merge two columns. */
const MAX_IDENTIFIER_BYTES = 63;

/** Column type for each output datatype. */
export const SQL_TYPE: Readonly<Record<Datatype, string>> = {
  BOOL: "boolean",
  UINT8: "smallint",
  INT8: "smallint",
  INT16: "smallint",
  UINT16: "integer",
  INT32: "integer",
  UINT32: "bigint",
  INT64: "bigint",
  UINT64: "numeric(20,0)",
  FP16: "real",
  BF16: "real",
  FP32: "real",
  FP64: "double precision",
  BYTES: "text",
};

/** A quoted identifier; INVALID_REQUEST when Postgres would truncate or refuse it. */
export function quoteIdentifier(name: string): string {
  if (name.length === 0 || name.includes("\0")) {
    throw new InvalidRequestError(`invalid SQL identifier ${JSON.stringify(name)}`);
  }
  if (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES) {
    throw new InvalidRequestError(`SQL identifier "${name}" is over ${MAX_IDENTIFIER_BYTES} bytes`);
  }
  return pg.escapeIdentifier(name);
}

/** A target table: `table` or `schema.table` (quote-free names; a dot separates the schema). */
export interface TableName {
  readonly schema: string | undefined;
  readonly table: string;
  /** The quoted, qualified name for SQL text. */
  readonly sql: string;
}

/** Parses and quotes a table name. */
export function tableName(name: string): TableName {
  const parts = name.split(".");
  if (parts.length > 2 || parts.some((p) => p.length === 0)) {
    throw new InvalidRequestError(
      `table must be "name" or "schema.name", got ${JSON.stringify(name)}`,
    );
  }
  const [first, second] = parts as [string, string | undefined];
  const schema = second === undefined ? undefined : first;
  const table = second ?? first;
  const sql = [schema, table]
    .filter((p): p is string => p !== undefined)
    .map(quoteIdentifier)
    .join(".");
  return { schema, table, sql };
}

/** True for the integer column types, whose values must be whole numbers. */
export function isIntegerType(sqlType: string): boolean {
  return ["smallint", "integer", "bigint"].includes(sqlType) || sqlType.startsWith("numeric");
}
