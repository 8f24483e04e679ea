import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { forEachNode, nestingBound, parseYaml } from "./yaml-document.js";

describe("nestingBound", () => {
  it("stays small for a real config", async () => {
    const text = await readFile(new URL("../../config/example-full.yaml", import.meta.url), "utf8");
    const bound = nestingBound(text);
    expect(bound).toBeGreaterThanOrEqual(4);
    expect(bound).toBeLessThan(20);
  });

  it("counts flow brackets, indentation and indicators", () => {
    expect(nestingBound("a: [[[1]]]")).toBe(4);
    expect(nestingBound("a:\n  b:\n    - - x\n")).toBe(6);
  });

  it("ignores brackets in quoted strings and comments, and comment indentation", () => {
    expect(nestingBound(`a: "[[[[" # {{{{\n${" ".repeat(300)}# indented comment\n`)).toBe(1);
  });

  it("bounds block nesting as well as flow nesting", () => {
    let text = "";
    for (let i = 0; i < 200; i++) text += `${" ".repeat(i)}k:\n`;
    expect(nestingBound(text)).toBeGreaterThan(128);
  });
});

describe("parseYaml", () => {
  it("reports only the first syntax error, not the cascade after it", () => {
    const result = parseYaml("a: [1, 2\nb: 3\nc: 4\nd: 5\n");
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]).toMatch(/^line 2, column 1: /);
    }
  });

  it("reports every duplicate key", () => {
    const result = parseYaml("a: 1\na: 2\nb:\n  c: 1\n  c: 2\n");
    expect(result).toEqual({
      ok: false,
      errors: [
        "line 2, column 1: Map keys must be unique",
        "line 5, column 3: Map keys must be unique",
      ],
    });
  });

  it("rejects too-large text without parsing it", () => {
    const result = parseYaml(`a: "${"x".repeat(5 * 1024 * 1024)}"`);
    expect(result).toEqual({
      ok: false,
      errors: ["(root): config is larger than 4194304 characters"],
    });
  });
});

describe("forEachNode", () => {
  it("visits values in document order with their paths, skipping aliases", () => {
    const result = parseYaml("a: &x 1\nb: [2, { c: 3 }]\nd: *x\n");
    if (!result.ok) throw new Error(result.errors.join("\n"));
    const seen: string[] = [];
    forEachNode(result.doc, (node, path) => {
      if ("value" in node && typeof node.value === "number")
        seen.push(`${path.join("/")}=${node.value}`);
    });
    expect(seen).toEqual(["a=1", "b/0=2", "b/1/c=3"]);
  });
});
