/**
 * The Postgres source and sink against a real PostgreSQL (test/support/postgres.ts): a query in,
 * mapped like CSV; a table out, created from the outputs, exactly once across a simulated crash.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresSink } from "../../../src/jobs/io/pg-sink.js";
import { openPostgresSource } from "../../../src/jobs/io/pg-source.js";
import type { InputRecord, OutputRecord } from "../../../src/jobs/io/types.js";
import type { TensorSpec } from "../../../src/tensor/index.js";
import { collect } from "../../support/batch-io.js";
import { skipWithoutPostgres, startPostgres, type TestPostgres } from "../../support/postgres.js";

const irisSpec: TensorSpec[] = [{ name: "float_input", datatype: "FP32", shape: [-1, 4] }];
const COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"];

describe.skipIf(skipWithoutPostgres())("Postgres batch I/O", () => {
  let server: TestPostgres;
  let db: pg.Client;

  beforeAll(async () => {
    server = await startPostgres();
    db = new pg.Client(server.url);
    await db.connect();
    await db.query(`CREATE TABLE iris (
      flower text PRIMARY KEY, sepal_length float8, sepal_width float8,
      petal_length float8, petal_width float8, emb float4[], n int8)`);
    await db.query(`INSERT INTO iris VALUES
      ('f1', 5.1, 3.5, 1.4, 0.2, '{1,2}', 9007199254740993),
      ('f2', 7.0, 3.2, 4.7, 1.4, '{3,4}', 2),
      ('f3', 6.3, NULL, 6.0, 2.5, '{5,6}', 3),
      ('f4', 6.3, 3.3, 6.0, 2.5, '{7,8,9}', 4)`);
  });

  afterAll(async () => {
    await db?.end();
    await server?.stop();
  });

  const query = "SELECT * FROM iris ORDER BY flower";

  it("reads a query through a cursor, mapped by a columns list, with bad rows as bad records", async () => {
    const records = await collect(
      await openPostgresSource(
        { url: server.url, query },
        { inputs: irisSpec, columns: COLUMNS, idField: "flower" },
      ),
    );
    expect(records[0]).toEqual({
      line: 1,
      id: "f1",
      inputs: { float_input: [[5.1, 3.5, 1.4, 0.2]] },
    });
    expect(records[1]).toEqual({
      line: 2,
      id: "f2",
      inputs: { float_input: [[7, 3.2, 4.7, 1.4]] },
    });
    expect(records[2]).toMatchObject({
      line: 3,
      id: "f3",
      error: { message: `column "sepal_width" (input "float_input"): the cell is empty` },
    });
    expect(records).toHaveLength(4);
  });

  it("maps an array column onto a row vector and int8 exactly, and resumes at a row", async () => {
    const specs: TensorSpec[] = [
      { name: "emb", datatype: "FP32", shape: [-1, 2] },
      { name: "n", datatype: "INT64", shape: [-1] },
    ];
    const records = await collect(
      await openPostgresSource({ url: server.url, query }, { inputs: specs, start: 0 }),
    );
    expect(records[0]).toEqual({
      line: 1,
      id: "1",
      inputs: { emb: [[1, 2]], n: ["9007199254740993"] },
    });
    expect(records[3]).toMatchObject({
      line: 4,
      error: { message: `input "emb" (shape [-1,2]) takes 2 elements per record, got 3` },
    });
    const resumed = await collect(
      await openPostgresSource({ url: server.url, query }, { inputs: specs, start: 2 }),
    );
    expect(resumed.map((r) => r.line)).toEqual([3, 4]);
  });

  it("refuses a failing query and a query without the input's columns", async () => {
    await expect(
      openPostgresSource({ url: server.url, query: "SELECT * FROM nowhere" }, { inputs: irisSpec }),
    ).rejects.toThrow(/the input query failed: relation "nowhere" does not exist/);
    await expect(
      openPostgresSource({ url: server.url, query: "SELECT 1 AS x" }, { inputs: irisSpec }),
    ).rejects.toThrow(/no column for input "float_input"/);
  });

  /** What a model would answer for a record: a label and two probabilities. */
  function predict(record: InputRecord, i: number): OutputRecord {
    return {
      line: record.line,
      id: record.id,
      outputs: [
        { name: "label", datatype: "INT64", shape: [1], data: BigInt64Array.of(BigInt(i)) },
        {
          name: "probabilities",
          datatype: "FP32",
          shape: [1, 2],
          data: Float32Array.of(0.25, 0.75),
        },
      ],
    };
  }

  it("writes query results to a new table typed from the outputs", async () => {
    const source = await openPostgresSource(
      { url: server.url, query },
      { inputs: irisSpec, columns: COLUMNS, idField: "flower" },
    );
    const sink = await openPostgresSink({ url: server.url, table: "scores", batchId: "b1" });
    let i = 0;
    for await (const record of source) {
      if ("inputs" in record) expect(await sink.write([predict(record, ++i)])).toEqual([]);
    }
    await source.close();
    expect(await sink.finish()).toEqual({ records: 3, bytes: 0 });
    const rows = await db.query(`SELECT * FROM scores ORDER BY _row`);
    expect(rows.rows).toEqual([
      {
        id: "f1",
        label: "1",
        "probabilities.0": 0.25,
        "probabilities.1": 0.75,
        _batch: "b1",
        _row: "1",
      },
      {
        id: "f2",
        label: "2",
        "probabilities.0": 0.25,
        "probabilities.1": 0.75,
        _batch: "b1",
        _row: "2",
      },
      {
        id: "f4",
        label: "3",
        "probabilities.0": 0.25,
        "probabilities.1": 0.75,
        _batch: "b1",
        _row: "3",
      },
    ]);
    const types = await db.query(
      `SELECT column_name, data_type FROM information_schema.columns
        WHERE table_name = 'scores' ORDER BY ordinal_position`,
    );
    expect(types.rows.map((r) => `${r.column_name}:${r.data_type}`)).toEqual([
      "id:text",
      "label:bigint",
      "probabilities.0:real",
      "probabilities.1:real",
      "_batch:text",
      "_row:bigint",
    ]);
  });

  const out = (i: number): OutputRecord => ({
    line: i,
    id: `r${i}`,
    outputs: { score: [[i * 0.5]] },
  });

  it("resumes after a crash: committed rows past the checkpoint and uncommitted ones are gone", async () => {
    const target = { url: server.url, table: "public.resumed", batchId: "b2" };
    let sink = await openPostgresSink(target);
    await sink.write([out(1), out(2)]);
    const checkpoint = await sink.flush();
    await sink.write([out(3)]);
    await sink.flush(); // committed, but the runner died before storing this checkpoint
    await sink.write([out(4)]); // in an open transaction
    await sink.close(); // the crash
    sink = await openPostgresSink(target, { checkpoint });
    await sink.write([3, 4, 5].map(out));
    expect((await sink.finish()).records).toBe(5);
    const rows = await db.query(
      `SELECT id, score, _row FROM resumed WHERE _batch = 'b2' ORDER BY _row`,
    );
    expect(rows.rows.map((r) => [r.id, r.score, Number(r._row)])).toEqual([
      ["r1", 0.5, 1],
      ["r2", 1, 2],
      ["r3", 1.5, 3],
      ["r4", 2, 4],
      ["r5", 2.5, 5],
    ]);
    // Another batch's rows in the same table are never touched by this one's resume or abort.
    const other = await openPostgresSink({ ...target, batchId: "b3" });
    await other.write([out(1)]);
    await other.abort();
    expect((await db.query("SELECT count(*)::int AS n FROM resumed")).rows[0].n).toBe(5);
    await expect(
      openPostgresSink(target, { checkpoint: { records: 9, bytes: 0 } }),
    ).rejects.toThrow(/holds 5 of the checkpoint's 9 rows/);
  });

  it("rejects a record that does not fit the table's columns without failing the others", async () => {
    const sink = await openPostgresSink({ url: server.url, table: "fit", batchId: "b4" });
    const rejected = await sink.write([
      out(1),
      { line: 2, id: "r2", outputs: { score: [[1, 2]] } },
    ]);
    expect(rejected).toEqual([
      {
        line: 2,
        id: "r2",
        error: {
          code: "INVALID_REQUEST",
          message: "outputs have 2 elements, the output's columns 1",
        },
      },
    ]);
    expect(await sink.finish()).toEqual({ records: 1, bytes: 0 });
  });

  it("writes into an existing table with extra columns, and refuses one that lacks an output", async () => {
    await db.query("CREATE TABLE existing (id text, score real, note text DEFAULT 'n/a')");
    const sink = await openPostgresSink({ url: server.url, table: "existing", batchId: "b5" });
    await sink.write([out(1)]);
    await sink.finish();
    const rows = await db.query("SELECT id, score, note, _batch FROM existing");
    expect(rows.rows).toEqual([{ id: "r1", score: 0.5, note: "n/a", _batch: "b5" }]);
    await db.query("CREATE TABLE narrow (id text)");
    const other = await openPostgresSink({ url: server.url, table: "narrow", batchId: "b6" });
    await expect(other.write([out(1)])).rejects.toThrow(
      /table "narrow" exists without the output columns "score"/,
    );
    await other.close();
  });
});
