/**
 * PostgreSQL output: a table with `id`, one column per output element (named and ordered as in
 * CSV, typed from the outputs' datatypes), and two bookkeeping columns, `_batch` (the batch id)
 * and `_row` (the row's 1-based position in the batch's output). It is created when missing; an
 * existing table gets the bookkeeping columns added when it lacks them.
 *
 * Exactly once: rows go in with batched multi-row INSERTs inside a transaction that `flush()`
 * commits, so the checkpoint (rows committed) is exact. A crash before a COMMIT loses nothing the
 * checkpoint counts; a crash after one but before the runner stored the checkpoint leaves rows
 * past it, which reopening with that checkpoint deletes (`_batch = id AND _row > records`).
 */
import pg from "pg";
import { InvalidRequestError } from "../../errors.js";
import { ID_COLUMN, layoutFromRecord, rowValues } from "./outputs.js";
import {
  BATCH_COLUMN,
  isIntegerType,
  quoteIdentifier,
  ROW_COLUMN,
  SQL_TYPE,
  type TableName,
  tableName,
} from "./pg-sql.js";
import { invalidRecord } from "./records.js";
import type { BadRecord, OutputRecord, RecordSink, SinkCheckpoint, SinkOptions } from "./types.js";

/** A Postgres output: connection URL, table, and the batch id its rows are tagged with. */
export interface PostgresOutput {
  readonly url: string;
  readonly table: string;
  readonly batchId: string;
}

/** Postgres takes at most 65535 bind parameters per statement. */
const MAX_PARAMS = 65_535;
/** Rows per INSERT statement at most, whatever the column count. */
const MAX_ROWS_PER_INSERT = 1000;

interface SqlColumn {
  readonly name: string;
  readonly sqlType: string;
}

/** A value as a bind parameter of its column, or a message when the column cannot hold it. */
function parameter(value: unknown, column: SqlColumn): unknown {
  if (value === null || value === undefined) return null;
  if (column.sqlType === "boolean") return Boolean(value);
  if (column.sqlType === "text") return String(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value !== "number") return String(value);
  if (isIntegerType(column.sqlType) && !Number.isInteger(value)) {
    throw new InvalidRequestError(`${value} does not fit integer column "${column.name}"`);
  }
  return value;
}

class PostgresSink implements RecordSink {
  private columns: SqlColumn[] | undefined;
  private inTransaction = false;
  private closed = false;

  constructor(
    private readonly client: pg.Client,
    private readonly table: TableName,
    private readonly batchId: string,
    private rows: number,
    private readonly options: SinkOptions,
  ) {}

  /** The value columns from the first record; creates the table or completes an existing one. */
  private async prepare(first: OutputRecord): Promise<SqlColumn[]> {
    const columns = layoutFromRecord(first, this.options.outputs).map((c) => ({
      name: c.name,
      sqlType: SQL_TYPE[c.datatype],
    }));
    const defs = columns.map((c) => `${quoteIdentifier(c.name)} ${c.sqlType}`);
    await this.client.query(
      `CREATE TABLE IF NOT EXISTS ${this.table.sql} (${quoteIdentifier(ID_COLUMN)} text, ` +
        `${[...defs, `${BATCH_COLUMN} text NOT NULL`, `${ROW_COLUMN} bigint NOT NULL`].join(", ")})`,
    );
    await this.client.query(
      `ALTER TABLE ${this.table.sql} ADD COLUMN IF NOT EXISTS ${BATCH_COLUMN} text, ` +
        `ADD COLUMN IF NOT EXISTS ${ROW_COLUMN} bigint`,
    );
    const existing = await this.client.query(
      `SELECT column_name FROM information_schema.columns
        WHERE table_schema = coalesce($1, current_schema()) AND table_name = $2`,
      [this.table.schema ?? null, this.table.table],
    );
    const have = new Set(existing.rows.map((r: { column_name: string }) => r.column_name));
    const missing = [ID_COLUMN, ...columns.map((c) => c.name)].filter((n) => !have.has(n));
    if (missing.length > 0) {
      throw new InvalidRequestError(
        `table ${this.table.sql} exists without the output columns ` +
          missing.map((n) => JSON.stringify(n)).join(", "),
      );
    }
    await this.client.query(
      `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${this.table.table}_batch_row`.slice(0, 63))} ` +
        `ON ${this.table.sql} (${BATCH_COLUMN}, ${ROW_COLUMN})`,
    );
    return columns;
  }

  async write(records: readonly OutputRecord[]): Promise<BadRecord[]> {
    const first = records[0];
    if (first === undefined) return [];
    this.columns ??= await this.prepare(first);
    const columns = this.columns;
    const rejected: BadRecord[] = [];
    const params: unknown[][] = [];
    for (const record of records) {
      const values = rowValues(columns, record);
      try {
        if (typeof values === "string") throw new InvalidRequestError(values);
        const row = values.map((v, i) => parameter(v, columns[i] as SqlColumn));
        params.push([record.id, ...row, this.batchId, this.rows + params.length + 1]);
      } catch (err) {
        rejected.push(invalidRecord(record.line, record.id, (err as Error).message));
      }
    }
    if (params.length === 0) return rejected;
    if (!this.inTransaction) {
      await this.client.query("BEGIN");
      this.inTransaction = true;
    }
    const names = [ID_COLUMN, ...columns.map((c) => c.name), BATCH_COLUMN, ROW_COLUMN];
    const perRow = names.length;
    const chunk = Math.max(1, Math.min(MAX_ROWS_PER_INSERT, Math.floor(MAX_PARAMS / perRow)));
    for (let i = 0; i < params.length; i += chunk) {
      const rows = params.slice(i, i + chunk);
      const tuples = rows.map(
        (_, r) => `(${names.map((_, c) => `$${r * perRow + c + 1}`).join(", ")})`,
      );
      await this.client.query(
        `INSERT INTO ${this.table.sql} (${names.map(quoteIdentifier).join(", ")}) VALUES ${tuples.join(", ")}`,
        rows.flat(),
      );
    }
    this.rows += params.length;
    return rejected;
  }

  async flush(): Promise<SinkCheckpoint> {
    if (this.inTransaction) {
      await this.client.query("COMMIT");
      this.inTransaction = false;
    }
    return { records: this.rows, bytes: 0 };
  }

  async finish(): Promise<SinkCheckpoint> {
    const checkpoint = await this.flush();
    await this.close();
    return checkpoint;
  }

  async abort(): Promise<void> {
    if (this.closed) return;
    if (this.inTransaction) await this.client.query("ROLLBACK");
    this.inTransaction = false;
    await deleteRows(this.client, this.table, this.batchId, 0);
    await this.close();
  }

  /** Ends the connection; an open transaction is rolled back by the server, as in a crash. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.end().catch(() => undefined);
  }
}

/** Deletes this batch's rows past `after`, when the table exists; returns the rows it keeps. */
async function deleteRows(
  client: pg.Client,
  table: TableName,
  batchId: string,
  after: number,
): Promise<number> {
  const exists = await client.query("SELECT to_regclass($1) IS NOT NULL AS exists", [table.sql]);
  if (exists.rows[0]?.exists !== true) return 0;
  const columns = await client.query(
    `SELECT 1 FROM information_schema.columns
      WHERE table_schema = coalesce($1, current_schema()) AND table_name = $2 AND column_name = $3`,
    [table.schema ?? null, table.table, ROW_COLUMN],
  );
  if (columns.rowCount === 0) return 0;
  await client.query(`DELETE FROM ${table.sql} WHERE ${BATCH_COLUMN} = $1 AND ${ROW_COLUMN} > $2`, [
    batchId,
    after,
  ]);
  const kept = await client.query(
    `SELECT count(*)::int AS n FROM ${table.sql} WHERE ${BATCH_COLUMN} = $1`,
    [batchId],
  );
  return Number(kept.rows[0]?.n ?? 0);
}

/**
 * The Postgres output sink. Opening rolls the batch's rows back to the checkpoint (all of them
 * without one, so a batch started over does not keep an earlier attempt's rows).
 */
export async function openPostgresSink(
  output: PostgresOutput,
  options: SinkOptions = {},
): Promise<RecordSink> {
  const table = tableName(output.table);
  if (output.batchId.length === 0) throw new InvalidRequestError("a batch id is required");
  const client = new pg.Client({ connectionString: output.url });
  await client.connect();
  try {
    const records = options.checkpoint?.records ?? 0;
    const kept = await deleteRows(client, table, output.batchId, records);
    if (kept !== records) {
      throw new InvalidRequestError(
        `cannot resume the Postgres output: ${table.sql} holds ${kept} of the checkpoint's ` +
          `${records} rows for this batch`,
      );
    }
    return new PostgresSink(client, table, output.batchId, records, options);
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
}
