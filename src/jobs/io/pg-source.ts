/**
 * PostgreSQL input: a query read through a server-side cursor, a bounded page at a time, rows
 * mapped to inputs like CSV (columns.ts); an array column (e.g. `float8[]`) can feed a row vector
 * by itself. Postgres types arrive as `pg` parses them: int8 and numeric as decimal strings (exact
 * for INT64 inputs), floats as numbers, arrays as arrays.
 *
 * Resuming re-runs the query and skips the rows already done, so the query must return its rows
 * in a stable order (ORDER BY a unique key) for a resumed batch to pick up where it left off.
 */
import pg from "pg";
import Cursor from "pg-cursor";
import { InvalidRequestError } from "../../errors.js";
import { mapRow, planMapping } from "./columns.js";
import { sourceFrom } from "./records.js";
import type { RecordSource, SourceOptions, SourceRecord } from "./types.js";

/** Rows fetched per cursor read: the source's read-ahead. */
export const PG_ROWS_PER_READ = 1000;

/** A Postgres input: connection URL and query. */
export interface PostgresInput {
  readonly url: string;
  readonly query: string;
}

function readPage(
  cursor: Cursor<unknown[]>,
): Promise<{ rows: unknown[][]; fields: readonly { name: string }[] }> {
  return new Promise((resolve, reject) => {
    cursor.read(PG_ROWS_PER_READ, (err, rows, result) => {
      if (err) reject(err);
      else resolve({ rows, fields: result?.fields ?? [] });
    });
  });
}

/** Streams a query's rows as records, skipping the first `options.start` rows. */
export async function openPostgresSource(
  input: PostgresInput,
  options: SourceOptions,
): Promise<RecordSource> {
  const client = new pg.Client({ connectionString: input.url });
  await client.connect();
  const release = async () => {
    await client.end().catch(() => undefined);
  };
  let cursor: Cursor<unknown[]>;
  let page: Awaited<ReturnType<typeof readPage>>;
  let mapping: ReturnType<typeof planMapping>;
  try {
    cursor = client.query(new Cursor<unknown[]>(input.query, [], { rowMode: "array" }));
    try {
      page = await readPage(cursor);
    } catch (err) {
      throw new InvalidRequestError(`the input query failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
    mapping = planMapping(
      page.fields.map((f) => f.name),
      options,
    );
  } catch (err) {
    await release();
    throw err;
  }
  const start = options.start ?? 0;
  const closeAll = async () => {
    await cursor.close().catch(() => undefined);
    await release();
  };
  async function* records(): AsyncGenerator<SourceRecord> {
    let line = 0;
    while (page.rows.length > 0) {
      for (const row of page.rows) {
        line++;
        if (line > start) yield mapRow(mapping, row, line);
      }
      page = await readPage(cursor);
    }
    // The connection is not needed past the last row, even if the caller is slow to close.
    await closeAll();
  }
  return sourceFrom(records(), closeAll);
}
