// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are ${ENV} config text, not JS templates.
import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { interpolateDocument, interpolateString } from "./interpolate.js";

describe("interpolateString", () => {
  const env = { HOST: "tfs", PORT: "8501", EMPTY: "" };

  it("substitutes every reference", () => {
    expect(interpolateString("http://${HOST}:${PORT}/v1", env)).toEqual({
      ok: true,
      value: "http://tfs:8501/v1",
    });
  });

  it("substitutes a set but empty variable", () => {
    expect(interpolateString("a${EMPTY}b", env)).toEqual({ ok: true, value: "ab" });
  });

  it("turns $${X} into a literal ${X} without looking X up", () => {
    expect(interpolateString("$${NOT_SET} and ${HOST}", env)).toEqual({
      ok: true,
      value: "${NOT_SET} and tfs",
    });
  });

  it("leaves a lone $ alone", () => {
    expect(interpolateString("cost $5 $$ $", env)).toEqual({ ok: true, value: "cost $5 $$ $" });
  });

  it("reports an unset variable by name", () => {
    expect(interpolateString("${HOST}:${TFS_PORT}", env)).toEqual({
      ok: false,
      error: "environment variable TFS_PORT is not set",
    });
  });

  it("rejects malformed references", () => {
    expect(interpolateString("${1X}", env)).toEqual({
      ok: false,
      error: 'invalid environment variable reference "${1X}"',
    });
    expect(interpolateString("${HOST:-x}", env).ok).toBe(false);
    expect(interpolateString("${HOST", env)).toEqual({
      ok: false,
      error: 'unterminated "${" (write "$${" for a literal "${")',
    });
  });
});

describe("interpolateDocument", () => {
  it("replaces values at any depth and reports unset variables at their path", () => {
    const doc = parseDocument(
      [
        "backends:",
        "  tfs: { type: tfserving, url: '${TFS_URL}' }",
        "  triton: { type: triton, grpc: '${TRITON}' }",
        "list: [a, '${TRITON}', '${NOPE}']",
      ].join("\n"),
    );
    const errors = interpolateDocument(doc, { TRITON: "triton:8001" });
    expect(errors.map((e) => e.line).sort()).toEqual([
      "backends.tfs.url: environment variable TFS_URL is not set",
      "list[2]: environment variable NOPE is not set",
    ]);
    expect(doc.toJS()).toEqual({
      backends: {
        tfs: { type: "tfserving", url: "${TFS_URL}" },
        triton: { type: "triton", grpc: "triton:8001" },
      },
      list: ["a", "triton:8001", "${NOPE}"],
    });
  });

  it("types a plain scalar after substitution but keeps a quoted one a string", () => {
    const doc = parseDocument(
      'plain: ${PORT}\nquoted: "${PORT}"\nflag: ${YES}\nmixed: ${PORT}x\nescaped: $${PORT}',
    );
    expect(interpolateDocument(doc, { PORT: "9000", YES: "true" })).toEqual([]);
    expect(doc.toJS()).toEqual({
      plain: 9000,
      quoted: "9000",
      flag: true,
      mixed: "9000x",
      escaped: "${PORT}",
    });
  });

  it("does not substitute in keys", () => {
    const doc = parseDocument("${KEY}: ${VALUE}");
    expect(interpolateDocument(doc, { KEY: "k", VALUE: "v" })).toEqual([]);
    expect(doc.toJS()).toEqual({ "${KEY}": "v" });
  });
});
